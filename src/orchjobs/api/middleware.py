"""Pure ASGI middleware for Command's transport rules: case-insensitive paths, the
x-keyfactor-requested-with header, and x-keyfactor-product-version on every response."""

import re
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orchjobs.api import paths
from orchjobs.api.errors import error_response, status_for
from orchjobs.errors import MissingRequestedWithError

PREFIXES = (paths.API, paths.AGENTS)
REQUESTED_WITH_VALUES = frozenset({"apiclient", "xmlhttprequest"})


class KeyfactorTransport:
    def __init__(self, app: ASGIApp, *, product_version: str, known_paths: Iterable[str]) -> None:
        self.app = app
        self.version_header = (b"x-keyfactor-product-version", product_version.encode())
        # IIS matches paths case-insensitively; clients spell /KeyfactorApi and /keyfactorapi.
        self.canonical = {path.lower(): path for path in known_paths if "{" not in path}
        self.templates = [_template(path) for path in known_paths if "{" in path]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = self._canonical_path(scope["path"])
        # In place: the request log outside reads the route the router notes in this scope.
        scope["path"] = path

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], self.version_header]
            await send(message)

        if path.lower().startswith(paths.API.lower()) and not _requested_with_ok(scope):
            missing = MissingRequestedWithError()
            response = error_response(status_for(missing), missing.code, missing.message)
            await response(scope, receive, send_with_version)
            return
        await self.app(scope, receive, send_with_version)

    def _canonical_path(self, path: str) -> str:
        lowered = path.lower().rstrip("/")
        if lowered in self.canonical:
            return self.canonical[lowered]
        for pattern, parts in self.templates:
            match = pattern.fullmatch(path.rstrip("/"))
            if match:
                values = iter(match.groups())
                return "".join(part if part is not None else next(values) for part in parts)
        for prefix in PREFIXES:
            if lowered.startswith(prefix.lower() + "/"):
                return prefix + path[len(prefix) :]
        return path


def _template(path: str) -> tuple[re.Pattern[str], list[str | None]]:
    """A case-insensitive pattern for a route path, and its literal parts (None where a parameter goes)."""
    pieces = re.split(r"(\{[^}]+\})", path)
    parts: list[str | None] = [None if piece.startswith("{") else piece for piece in pieces if piece]
    regex = "".join("([^/]+)" if part is None else re.escape(part) for part in parts)
    return re.compile(regex, re.IGNORECASE), parts


def _requested_with_ok(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"x-keyfactor-requested-with":
            return value.decode("latin-1").strip().lower() in REQUESTED_WITH_VALUES
    return False
