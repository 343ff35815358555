"""The console's pages (docs/console.md): /login, /logout and the pages of api/console/pages.py. Outside
/KeyfactorAPI: they are HTML for a browser, not Command's API. Every action of a page is a call of the JSON API with
the session cookie and its CSRF token, so a page can do nothing the API would refuse its user."""

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Request
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response, StreamingResponse

from orchjobs.api import paths
from orchjobs.api.client_address import client_address
from orchjobs.api.console import STATIC_PATH, TEMPLATES
from orchjobs.api.console.pages import PAGES, ConsolePage
from orchjobs.api.console_session import SESSION_COOKIE, SESSION_ENDED
from orchjobs.api.context import context_of
from orchjobs.api.errors import status_for
from orchjobs.api.live import HistoryBroadcaster
from orchjobs.api.permissions import PERMISSIONS
from orchjobs.domain.app_settings import ServiceSettings
from orchjobs.domain.permissions import CATALOGUE, Principal
from orchjobs.errors import AuthenticationError, LoginThrottledError, PasswordCheckBusyError
from orchjobs.service.console_sessions import close_session, csrf_matches, csrf_token, open_session, session_principal

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=TEMPLATES)
# What the admin pages show beside what the API answers: the permissions a role may be given (security.html) and the
# range of each integer application setting (settings.html), both the very values the API checks against.
templates.env.globals["permission_catalogue"] = [
    {"Path": each.path, "Name": each.v1, "Description": each.description} for each in CATALOGUE
]
templates.env.globals["setting_ranges"] = ServiceSettings.ranges()

# The pages load their own scripts and styles and call their own origin, nothing else; no inline script.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# same-origin, not the service's no-referrer: under no-referrer a browser sends `Origin: null` with the page's own
# form posts, and /login tells its own forms from another site's by their Origin.
PAGE_HEADERS = {"content-security-policy": PAGE_CSP, "cache-control": "no-store", "referrer-policy": "same-origin"}
# A login form holds a user name (255) and a password (1024), percent-encoded at most three bytes a character.
_LONGEST_LOGIN_FORM = 4 * 1024 * 4
_LONGEST_FIELD = 1024


def _console_page(page: ConsolePage) -> Callable[[Request], Awaitable[Response]]:
    async def show(request: Request) -> Response:
        """A console page; a browser without a live session is sent to /login, a user whose roles do not reach the
        page's API gets a 403 page that says so (with the navigation to the pages it may see)."""
        token = request.cookies.get(SESSION_COOKIE)
        principal = await _session_of(request, token)
        if token is None or principal is None:
            return _to_login(forget=token is not None, back_to=page.path)
        shown = [each for each in PAGES if principal.may(PERMISSIONS[each.reads])]
        values: dict[str, Any] = {"user": principal.name, "csrf": csrf_token(token), "pages": shown, "current": page}
        if page not in shown:
            return _page(request, "refused.html", status_code=403, **values)
        return _page(request, page.template, **values)

    show.__name__ = f"console_page_{page.template.removesuffix('.html')}"
    return show


for _each in PAGES:
    router.add_api_route(_each.path, _console_page(_each), methods=["GET"])
_PAGE_PATHS = frozenset(each.path for each in PAGES)


@router.get("/console/events")
async def history_events(request: Request) -> Response:
    """The page's live updates (docs/console.md): a text/event-stream with a `history` event each time job history
    changed. Authenticated by the session cookie alone (an EventSource sends no headers; the stream changes nothing
    and tells only that something changed), and only for a user who may read job history."""
    principal = await _session_of(request, request.cookies.get(SESSION_COOKIE))
    if principal is None:
        return Response(SESSION_ENDED, status_code=401, headers=PAGE_HEADERS)
    if not principal.may(PERMISSIONS[("GET", f"{paths.ORCHESTRATOR_JOBS}/JobHistory")]):
        return Response("This user may not read job history.", status_code=403, headers=PAGE_HEADERS)
    live: HistoryBroadcaster = request.app.state.live
    # no-transform and X-Accel-Buffering: a proxy must pass each event on at once, not gather the stream.
    headers = {**PAGE_HEADERS, "cache-control": "no-store, no-transform", "x-accel-buffering": "no"}
    return StreamingResponse(live.stream(), media_type="text/event-stream", headers=headers)


@router.get("/login")
async def login_page(request: Request) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    back_to = _page_path(request.query_params.get("next"))
    if token is not None and await _session_of(request, token) is not None:
        return RedirectResponse(back_to, status_code=303)
    return _page(request, "login.html", error=None, username="", back_to=back_to)


@router.post("/login")
async def log_in(request: Request) -> Response:
    """Checks the user's password as Basic authentication does (the same login throttle and password pool), then
    opens a session and sets its cookie, and sends the browser back to the page it came from."""
    back_to = _page_path(request.query_params.get("next"))
    if not _same_origin(request):
        error = "This form was sent from another site."
        return _page(request, "login.html", status_code=403, error=error, username="", back_to=back_to)
    body = await request.body()
    if len(body) > _LONGEST_LOGIN_FORM:
        error = "The form is too large."
        return _page(request, "login.html", status_code=400, error=error, username="", back_to=back_to)
    form = parse_qs(body.decode("utf-8", "replace"), max_num_fields=4)
    username = form.get("username", [""])[0].strip()
    password = form.get("password", [""])[0]
    if not username or not password or len(username) > 255 or len(password) > _LONGEST_FIELD:
        error = "Enter a user name and a password."
        return _page(request, "login.html", status_code=400, error=error, username=username[:255], back_to=back_to)
    context = context_of(request)
    address = client_address(request, trusted_proxies=context.settings.trusted_proxies)
    try:
        principal = await context.authenticator.authenticate(username, password, address=address)
    except (AuthenticationError, LoginThrottledError, PasswordCheckBusyError) as exc:
        answer = _page(
            request, "login.html", status_code=status_for(exc), error=exc.message, username=username, back_to=back_to
        )
        if isinstance(exc, LoginThrottledError | PasswordCheckBusyError):
            answer.headers["retry-after"] = str(exc.retry_after_seconds)
        return answer
    lifetime = timedelta(hours=context.settings.console_session_hours)
    token = await run_in_threadpool(
        open_session, context.engine, username=principal.name, now=context.clock(), lifetime=lifetime
    )
    answer = RedirectResponse(back_to, status_code=303)
    answer.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(lifetime.total_seconds()),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return answer


@router.post("/logout")
async def log_out(request: Request) -> Response:
    """Ends the session everywhere (its row is deleted) and forgets the cookie. The form carries the CSRF token."""
    token = request.cookies.get(SESSION_COOKIE)
    if token is not None:
        body = await request.body()
        form = parse_qs(body[:_LONGEST_FIELD].decode("utf-8", "replace"), max_num_fields=4)
        if not csrf_matches(token, form.get("csrf", [None])[0]):
            return Response("The logout form lacks its CSRF token.", status_code=403, headers=PAGE_HEADERS)
        context = context_of(request)
        await run_in_threadpool(close_session, context.engine, token)
    return _to_login(forget=True)


async def _session_of(request: Request, token: str | None) -> Principal | None:
    if token is None:
        return None
    context = context_of(request)
    return await run_in_threadpool(session_principal, context.engine, token, now=context.clock())


def _page(request: Request, name: str, *, status_code: int = 200, **values: object) -> Response:
    return templates.TemplateResponse(
        request, name, {"static": STATIC_PATH, **values}, status_code=status_code, headers=PAGE_HEADERS
    )


def _to_login(*, forget: bool, back_to: str = "/") -> Response:
    location = "/login" if back_to == "/" else f"/login?{urlencode({'next': back_to})}"
    answer = RedirectResponse(location, status_code=303, headers={"cache-control": "no-store"})
    if forget:
        answer.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return answer


def _page_path(asked: str | None) -> str:
    """Where to go after logging in: one of the console's own pages, never another address (no open redirect)."""
    return asked if asked in _PAGE_PATHS else "/"


def _same_origin(request: Request) -> bool:
    """A form post of this origin: browsers send Origin with every POST; a program without one is let through (it
    holds the password anyway). Refuses another site logging a browser in as the site's own user."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = request.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")
