"""JSON request bodies, read the way ASP.NET binds them: keys matched case-insensitively."""

import json
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.requests import Request

from orchjobs.errors import InvalidRequestError

T = TypeVar("T")


async def json_object(request: Request) -> dict[str, Any]:
    """The body as a dict with lower-cased keys; anything but a JSON object is a 400."""
    raw = await request.body()
    try:
        value = json.loads(raw) if raw.strip() else None
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequestError("The request body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise InvalidRequestError("The request body must be a JSON object.")
    return {str(key).lower(): item for key, item in value.items()}


def optional_string(body: dict[str, Any], key: str, label: str) -> str | None:
    value = body.get(key.lower())
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequestError(f"{label} must be a string.")
    return value


def optional_int_list(body: dict[str, Any], key: str, label: str) -> list[int] | None:
    """A JSON array of integers (bools and fractions refused; numeric strings accepted, as .NET does)."""
    value = body.get(key.lower())
    if value is None:
        return None
    if not isinstance(value, list):
        raise InvalidRequestError(f"{label} must be an array of integers.")
    return converted_items(value, _as_int, label=label, kind="integers")


def converted_items(items: list[Any], convert: Callable[[Any], T | None], *, label: str, kind: str) -> list[T]:
    """Every item converted; a 400 that names the first ten items `convert` refuses (returns None for)."""
    converted = [convert(item) for item in items]
    bad = [json.dumps(item) for item, result in zip(items, converted, strict=True) if result is None]
    if bad:
        raise InvalidRequestError(f"{label} must contain only {kind}; not: {', '.join(bad[:10])}.")
    return [result for result in converted if result is not None]


def _as_int(item: object) -> int | None:
    if isinstance(item, bool):
        return None
    if isinstance(item, int):
        return item if -(2**63) <= item < 2**63 else None
    if isinstance(item, str) and item.strip().lstrip("-").isdigit():
        return _as_int(int(item.strip()))
    return None
