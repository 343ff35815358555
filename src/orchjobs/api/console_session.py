"""The console's session cookie and CSRF header on the JSON API (docs/console.md): a browser's request that carries
the cookie is authenticated by it only together with the session's CSRF token in a header, so that a page of another
site, which the browser might send the cookie for, can change nothing."""

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from orchjobs.api.context import context_of
from orchjobs.domain.permissions import Principal
from orchjobs.errors import AuthenticationError, PermissionDeniedError
from orchjobs.service.console_sessions import csrf_matches, session_principal

SESSION_COOKIE = "orchjobs_session"
CSRF_HEADER = "x-csrf-token"
CSRF_MISSING = (
    "A request authenticated by the console's session cookie needs the session's CSRF token in the X-CSRF-Token header."
)
SESSION_ENDED = "The console session is unknown or has ended; log in again."


async def cookie_principal(request: Request, token: str) -> Principal:
    """The principal of the session `token`, if the request also carries its CSRF token (PermissionDeniedError, 403,
    else, whatever the method) and the session is live (AuthenticationError, 401, else)."""
    if not csrf_matches(token, request.headers.get(CSRF_HEADER)):
        raise PermissionDeniedError(CSRF_MISSING)
    context = context_of(request)
    principal = await run_in_threadpool(session_principal, context.engine, token, now=context.clock())
    if principal is None:
        raise AuthenticationError(SESSION_ENDED)
    return principal
