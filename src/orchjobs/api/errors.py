"""The one mapping from exceptions to HTTP responses: Command's `{ErrorCode, Message}` body on the admin API, the
protocol envelope `Result: {Status: 3, Error}` on /KeyfactorAgents."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.routing import compile_path

from orchjobs.api import paths, protocol
from orchjobs.api.console_session import SESSION_COOKIE
from orchjobs.errors import (
    AuthenticationError,
    BulkOperationError,
    IdentityProviderUnavailableError,
    InvalidRequestError,
    LoginThrottledError,
    NotFoundError,
    OrchjobsError,
    PasswordCheckBusyError,
    PermissionDeniedError,
    PreviewChangedError,
    ProtocolRefusalError,
    RequestTooLargeError,
    StatementTimeoutError,
    StoreUnavailableError,
)

log = logging.getLogger(__name__)

# Most specific class first: (class, admin API status, orchestrator protocol status); a test checks that every
# OrchjobsError subclass is covered. The protocol answers a call it understood and refused with 200, because the C
# agent retries every HTTP status >= 300; only a body it could not read, bad credentials and an unavailable
# database keep an error status there.
STATUS_BY_ERROR: tuple[tuple[type[OrchjobsError], int, int], ...] = (
    (RequestTooLargeError, 413, 413),
    (InvalidRequestError, 400, 200),
    (StatementTimeoutError, 400, 400),
    (PreviewChangedError, 409, 409),
    (AuthenticationError, 401, 401),
    (PermissionDeniedError, 403, 403),
    (NotFoundError, 404, 404),
    (LoginThrottledError, 429, 429),
    (StoreUnavailableError, 503, 503),
    (PasswordCheckBusyError, 503, 503),
    (IdentityProviderUnavailableError, 503, 503),
    (ProtocolRefusalError, 400, 200),
)
GENERIC_CODE = "0xA0110000"
AUTHENTICATE = {"WWW-Authenticate": 'Basic realm="Keyfactor"'}


def status_for(exc: OrchjobsError, *, protocol: bool = False) -> int:
    """The HTTP status of an error on the admin API, or on the orchestrator protocol."""
    if protocol and isinstance(exc, InvalidRequestError) and exc.body_unreadable:
        return 413 if isinstance(exc, RequestTooLargeError) else 400
    for error_class, api_status, protocol_status in STATUS_BY_ERROR:
        if isinstance(exc, error_class):
            return protocol_status if protocol else api_status
    return 500


def error_response(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"ErrorCode": code, "Message": message, **extra}
    return JSONResponse(body, status_code=status, headers=AUTHENTICATE if status == 401 else None)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(OrchjobsError, _orchjobs_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)


async def _orchjobs_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OrchjobsError)
    response = _error_answer(request, exc)
    if response.status_code == 401 and "authorization" not in request.headers and SESSION_COOKIE in request.cookies:
        # A console page's call: a Basic challenge would make the browser prompt for a password over the page.
        del response.headers["www-authenticate"]
    if isinstance(exc, LoginThrottledError | PasswordCheckBusyError):
        response.headers["Retry-After"] = str(exc.retry_after_seconds)
    return response


def _error_answer(request: Request, exc: OrchjobsError) -> Response:
    return error_answer(request.url.path, exc)


def error_answer(path: str, exc: OrchjobsError) -> Response:
    """The answer to `exc` on `path`: the protocol envelope under /KeyfactorAgents, Command's error body else."""
    if isinstance(exc, StoreUnavailableError):
        log.warning("database unavailable", exc_info=exc.__cause__)
    if isinstance(exc, IdentityProviderUnavailableError):
        log.warning("identity provider unavailable: %s", exc.message)
    if isinstance(exc, StatementTimeoutError):
        if exc.seconds is None:
            log.warning("read cancelled, its client disconnected: %s", path)
        else:
            log.warning("statement over its %s budget: %s", exc.budget, path)
    if path.startswith(paths.AGENTS):
        status = status_for(exc, protocol=True)
        response = protocol.json_answer(protocol.refusal(exc), status_code=status)
        if status == 401:
            response.headers.update(AUTHENTICATE)
        return response
    if isinstance(exc, BulkOperationError):
        failed = [{"Id": item.id, "Reason": item.reason} for item in exc.failed]
        return error_response(status_for(exc), exc.code, exc.message, FailedOperations=failed)
    return error_response(status_for(exc), exc.code, exc.message)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("query", "body"))
        problems.append(f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg")))
    return error_response(400, InvalidRequestError.code, "Invalid request: " + "; ".join(problems) + ".")


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    messages = {404: "The requested resource was not found.", 405: "The method is not allowed here."}
    message = messages.get(exc.status_code, str(exc.detail))
    response = error_response(exc.status_code, GENERIC_CODE, message)
    response.headers.update(exc.headers or {})
    if exc.status_code == 405:
        # Starlette's Allow names the first route matching the path; a path may have one route per method.
        response.headers["Allow"] = ", ".join(_allowed_methods(request))
    return response


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route of the path takes (the app's endpoints, as `GET /Status/Endpoints` lists them)."""
    endpoints: list[tuple[str, str]] = request.app.state.context.endpoints
    path = request.url.path
    return sorted({method for method, template in endpoints if compile_path(template)[0].fullmatch(path)})


async def _unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    return error_response(500, GENERIC_CODE, "An unexpected error occurred. The server log has the details.")
