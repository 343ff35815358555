"""Request bodies and values, read the way ASP.NET binds them: JSON keys matched case-insensitively, integers and
GUIDs accepted as .NET accepts them. The one place the API turns raw JSON into Python values."""

import json
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from starlette.requests import Request

from orchjobs.domain.numbers import INT64_MAX, INT64_MIN, lenient_int
from orchjobs.errors import InvalidRequestError

T = TypeVar("T")

_BOM = b"\xef\xbb\xbf"
# Deeper JSON is refused (Command's own bodies nest four levels at most); orjson's own bound is 1024.
MAX_JSON_DEPTH = 32


async def read_object(request: Request, *, keep_nul: bool = False) -> dict[str, Any]:
    """The body as a dict with lower-cased keys; anything but a JSON object is a 400. A NUL in a string is a 400
    too, unless `keep_nul`: then the route's reader answers for every string it keeps (an orchestrator's report of
    a run must not be lost for one character)."""
    value = await _read_json(request, keep_nul=keep_nul)
    if not isinstance(value, dict):
        raise InvalidRequestError("The request body must be a JSON object.", body_unreadable=True)
    return {str(key).lower(): item for key, item in value.items()}


async def read_array(request: Request, *, expected: str) -> list[Any]:
    """The body as a JSON array (what kfutil and both Python clients send for bulk actions); `expected` describes it
    for the 400 that anything else gets, e.g. "a JSON array of orchestrator ids"."""
    value = await _read_json(request)
    if not isinstance(value, list):
        raise InvalidRequestError(f"The request body must be {expected}.", body_unreadable=True)
    return value


async def read_json(request: Request) -> Any:
    """The body as whatever JSON value it holds (None when empty), for routes that take more than one shape; a 400
    when it is not JSON."""
    return await _read_json(request)


async def _read_json(request: Request, *, keep_nul: bool = False) -> Any:
    raw = (await request.body()).removeprefix(_BOM)
    try:
        value = orjson.loads(raw) if raw.strip() else None
    except orjson.JSONDecodeError as exc:
        # orjson refuses invalid UTF-8, lone surrogates and nesting past its own fixed depth.
        if "depth" in str(exc):
            raise _too_deep() from None
        reason = str(exc).split(":", 1)[0]
        raise InvalidRequestError(f"The request body is not valid JSON: {reason}.", body_unreadable=True) from None
    _check_text_and_depth(raw, value, keep_nul=keep_nul)
    return value


def _check_text_and_depth(raw: bytes, value: Any, *, keep_nul: bool) -> None:
    """Nesting at most MAX_JSON_DEPTH deep, and no NUL in any key or string (PostgreSQL's text cannot hold one).
    Two scans of the raw bytes decide whether the value must be walked at all: with no more brackets than the depth
    allowed it cannot be too deep, and a NUL in a JSON string is always written `\\u0000`."""
    deep = raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH
    nul = not keep_nul and b"\\u0000" in raw
    if not deep and not nul:
        return
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise _too_deep()
            if isinstance(item, dict):
                if nul and any("\x00" in key for key in item):
                    raise _holds_nul()
                item = item.values()
            stack.extend((inner, depth + 1) for inner in item if isinstance(inner, dict | list) or nul)
        elif isinstance(item, str) and "\x00" in item:
            raise _holds_nul()


def _too_deep() -> InvalidRequestError:
    return InvalidRequestError(
        f"The request body is nested more than {MAX_JSON_DEPTH} levels deep.", body_unreadable=True
    )


def _holds_nul() -> InvalidRequestError:
    return InvalidRequestError("The request body holds a NUL character (\\u0000) in a string.", body_unreadable=True)


def lenient_guid(value: object) -> uuid.UUID | None:
    """A GUID from its string in any of .NET's forms (any case, with or without braces or dashes); None else."""
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        return None


def int64(value: object) -> int | None:
    """`lenient_int`, within Command's int64 ids."""
    number = lenient_int(value)
    return number if number is not None and INT64_MIN <= number <= INT64_MAX else None


def optional_string(body: dict[str, Any], key: str) -> str | None:
    """The string at `key` (keys lower-cased), None when absent or null; a 400 for any other type."""
    value = body.get(key.lower())
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequestError(f"{key} must be a string.")
    return value


def optional_int_list(body: dict[str, Any], key: str) -> list[int] | None:
    """A JSON array of int64 integers (bools and fractions refused; numeric strings accepted, as .NET does)."""
    value = body.get(key.lower())
    if value is None:
        return None
    if not isinstance(value, list):
        raise InvalidRequestError(f"{key} must be an array of integers.")
    return converted_items(value, int64, label=key, kind="integers")


def optional_guid_list(body: dict[str, Any], key: str) -> list[uuid.UUID] | None:
    """A JSON array of GUID strings (any of .NET's forms), None when absent or null; a 400 for anything else."""
    value = body.get(key.lower())
    if value is None:
        return None
    if not isinstance(value, list):
        raise InvalidRequestError(f"{key} must be an array of GUID strings.")
    return guid_items(value, label=key)


def guid_items(items: list[Any], *, label: str) -> list[uuid.UUID]:
    """Every item a GUID string; a 400 naming the ones that are not."""
    return converted_items(items, lenient_guid, label=label, kind="GUID strings")


def converted_items(items: list[Any], convert: Callable[[Any], T | None], *, label: str, kind: str) -> list[T]:
    """Every item converted; a 400 that names the first ten items `convert` refuses (returns None for)."""
    converted = [convert(item) for item in items]
    bad = [json.dumps(item) for item, result in zip(items, converted, strict=True) if result is None]
    if bad:
        raise InvalidRequestError(f"{label} must contain only {kind}; not: {', '.join(bad[:10])}.")
    return [result for result in converted if result is not None]


def path_guid(text: str, *, what: str) -> uuid.UUID:
    """A GUID in the path; a 400 that says what the id should have been."""
    found = lenient_guid(text)
    if found is None:
        raise InvalidRequestError(f"'{text}' is not {what}: a GUID is expected.")
    return found
