"""Limits checked before a request's work starts (docs/limits.md): the body's size per route, from Content-Length and
then counted while the body is read, and the path, query string and header values as UTF-8 text without NUL (which
PostgreSQL's text cannot hold). A refusal is answered in the route's error shape, before the body is read whole.

Pure ASGI and a module of its own: it only wraps `receive`, so a request pays a few comparisons for it."""

from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orchjobs.api import paths
from orchjobs.api.errors import error_answer
from orchjobs.domain.discovery import MAX_LOCATION_LENGTH, MAX_LOCATIONS
from orchjobs.errors import InvalidRequestError, OrchjobsError, RequestTooLargeError
from orchjobs.settings import Settings

# What a body holds besides the data a limit is about (keys, ids, a Message), and what one id of a bulk list takes
# at most in JSON (a GUID in quotes with its comma; an int64 takes less).
_ENVELOPE_BYTES = 256 * 1024
_BULK_ID_BYTES = 48
# The bulk routes: each takes up to max_bulk_ids ids.
_BULK_PATHS = (
    f"{paths.ORCHESTRATOR_JOBS}/Acknowledge",
    f"{paths.ORCHESTRATOR_JOBS}/Unacknowledge",
    f"{paths.ORCHESTRATOR_JOBS}/Reschedule",
    f"{paths.ORCHESTRATOR_JOBS}/Unschedule",
    f"{paths.CUSTOM_JOBS}/Bulk",
    f"{paths.ORCHESTRATORS}/Approve",
    f"{paths.ORCHESTRATORS}/Disapprove",
    f"{paths.ORCHESTRATORS}/Reset",
    f"{paths.ORCHESTRATORS}/SetAuthCertificateReenrollment",
    paths.AGENT_POOLS,
    paths.STORE_TYPES,
    paths.CERTIFICATE_STORES,
    f"{paths.CERTIFICATE_STORES}/Approve",
    f"{paths.CERTIFICATE_STORES}/Schedule",
)


@dataclass(frozen=True)
class BodyLimits:
    """The largest body each path takes, in bytes: `by_path` (keys in lower case) or else `default`."""

    default: int
    by_path: dict[str, int] = field(default_factory=dict)

    def for_path(self, path: str) -> int:
        return self.by_path.get(path.lower().rstrip("/"), self.default)


def body_limits(settings: Settings) -> BodyLimits:
    """Small bodies everywhere but where the data is large by nature: job results (a Log or Data of up to
    max_job_data_bytes, JSON escaping counted twice), inventories, discovered locations, and lists of ids."""
    default = settings.max_body_bytes
    bulk = max(default, settings.max_bulk_ids * _BULK_ID_BYTES + _ENVELOPE_BYTES)
    completion = max(default, 2 * settings.max_job_data_bytes + _ENVELOPE_BYTES)
    # A Windows path's backslashes are escaped in JSON: twice the characters, plus quotes and comma.
    discovery = max(default, MAX_LOCATIONS * (2 * MAX_LOCATION_LENGTH + 4) + _ENVELOPE_BYTES)
    by_path = dict.fromkeys(_BULK_PATHS, bulk) | {
        f"{paths.AGENTS}/{paths.COMPLETION_ENDPOINT}": completion,
        f"{paths.AGENTS}/{paths.INVENTORY_ENDPOINT}": max(default, settings.max_inventory_bytes),
        f"{paths.AGENTS}/{paths.DISCOVERY_ENDPOINT}": discovery,
    }
    return BodyLimits(default=default, by_path={path.lower(): limit for path, limit in by_path.items()})


class RequestLimits:
    """Refuses a request whose path, query string or headers are not clean text, or whose body is over its route's
    limit (413 from Content-Length at once, or as soon as the bytes read pass it)."""

    def __init__(self, app: ASGIApp, *, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = self.limits.for_path(path)
        problem = _unreadable(scope) or _declared_too_large(scope, limit)
        if problem is not None:
            await error_answer(path, problem)(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise RequestTooLargeError(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except RequestTooLargeError as exc:
            # The routes' error handler answers this; a body read outside a route (none today) lands here.
            if started:
                raise
            await error_answer(path, exc)(scope, receive, send)


def _declared_too_large(scope: Scope, limit: int) -> OrchjobsError | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return RequestTooLargeError(limit) if value.strip().isdigit() and int(value) > limit else None
    return None


def _unreadable(scope: Scope) -> OrchjobsError | None:
    """Why the path, query string or a header value is not text orchjobs can keep, or None."""
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogatepass")
    if not _clean(unquote_to_bytes(raw_path)):
        return _refusal("The path must be UTF-8 text without NUL characters.")
    query: bytes = scope.get("query_string", b"")
    if query and not _clean(unquote_to_bytes(query.replace(b"+", b" "))):
        return _refusal("The query string must be UTF-8 text without NUL characters.")
    for name, value in scope["headers"]:
        # Credentials that are not text are refused as credentials (401, counted by no login limit): api/auth.py.
        if name != b"authorization" and not _clean(value):
            return _refusal(f"The {name.decode('latin-1')} header must be UTF-8 text without NUL characters.")
    return None


def _clean(raw: bytes) -> bool:
    if b"\x00" in raw:
        return False
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _refusal(message: str) -> InvalidRequestError:
    # body_unreadable: the orchestrator protocol answers it 400 as well (a call it could not read).
    return InvalidRequestError(message, body_unreadable=True)
