"""What browsers are told: security headers on every answer, and CORS for the configured origins only.

The service answers JSON to programs and, soon, to a console in a browser. So every answer forbids content sniffing,
framing and referrers; answers of the API and the orchestrator protocol are never cached (they carry job data and
secrets such as store passwords) and load nothing (a CSP of `default-src 'none'`); Strict-Transport-Security is sent
over HTTPS only (over plain HTTP a browser ignores it, and a local `make run` must stay reachable). No page of another
origin may call the service unless ORCHJOBS_CORS_ORIGINS names its origin. Pure ASGI, a closure and a header list per
answer: the orchestrator protocol's hot path goes through here.
"""

from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orchjobs.api import paths

Header = tuple[bytes, bytes]

EVERY_ANSWER: tuple[Header, ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
SERVICE_ANSWER: tuple[Header, ...] = (
    (b"cache-control", b"no-store"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
)
HTTPS_ANSWER: tuple[Header, ...] = ((b"strict-transport-security", b"max-age=31536000"),)
SERVICE_ROOTS = frozenset(prefix.lower() for prefix in (paths.API, paths.AGENTS))
SERVICE_PREFIXES = tuple(root + "/" for root in SERVICE_ROOTS)

# What Command's clients send that a browser must be allowed to send across origins.
CORS_HEADERS = ("Authorization", "Content-Type", "x-keyfactor-requested-with", "x-keyfactor-api-version")
CORS_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
CORS_EXPOSED = ("x-keyfactor-product-version", "Retry-After")


class SecurityHeaders:
    """Adds the headers above to every answer, keeping a header the answer already set."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.choices = {
            (service, https): EVERY_ANSWER + (SERVICE_ANSWER if service else ()) + (HTTPS_ANSWER if https else ())
            for service in (False, True)
            for https in (False, True)
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = self.choices[_is_service(scope["path"]), scope.get("scheme") == "https"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _value in headers}
                for header in added:
                    if header[0] not in present:
                        headers.append(header)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_browser_policy(app: Starlette, *, cors_origins: str) -> None:
    """Wrap the app (after its other middleware, so outermost): CORS for `cors_origins` (comma-separated, as
    Settings normalizes them) when there are any, and the security headers around everything, CORS answers too."""
    origins = [origin for origin in cors_origins.split(",") if origin]
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=CORS_METHODS,
            allow_headers=CORS_HEADERS,
            expose_headers=CORS_EXPOSED,
        )
    app.add_middleware(SecurityHeaders)


def _is_service(path: str) -> bool:
    lowered = path.lower()
    return lowered.startswith(SERVICE_PREFIXES) or lowered in SERVICE_ROOTS
