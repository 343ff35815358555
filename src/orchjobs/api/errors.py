"""The one mapping from exceptions to HTTP responses, and the one error body: {ErrorCode, Message}."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from orchjobs.errors import (
    AuthenticationError,
    BulkOperationError,
    InvalidRequestError,
    NotFoundError,
    OrchjobsError,
    PermissionDeniedError,
    StoreUnavailableError,
)

log = logging.getLogger(__name__)

# Most specific class first; a test checks that every OrchjobsError subclass is covered.
STATUS_BY_ERROR: tuple[tuple[type[OrchjobsError], int], ...] = (
    (InvalidRequestError, 400),
    (AuthenticationError, 401),
    (PermissionDeniedError, 403),
    (NotFoundError, 404),
    (StoreUnavailableError, 503),
)
GENERIC_CODE = "0xA0110000"
AGENT_PREFIX = "/KeyfactorAgents"


def status_for(exc: OrchjobsError) -> int:
    for error_class, status in STATUS_BY_ERROR:
        if isinstance(exc, error_class):
            return status
    return 500


def error_response(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"ErrorCode": code, "Message": message, **extra}
    headers = {"WWW-Authenticate": 'Basic realm="Keyfactor"'} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(OrchjobsError, _orchjobs_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)


async def _orchjobs_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OrchjobsError)
    status = status_for(exc)
    if request.url.path.startswith(AGENT_PREFIX):
        return _protocol_error(status, exc)
    if isinstance(exc, StoreUnavailableError):
        log.warning("database unavailable", exc_info=exc.__cause__)
    if isinstance(exc, BulkOperationError):
        failed = [{"Id": item.id, "Reason": item.reason} for item in exc.failed]
        return error_response(status, exc.code, exc.message, FailedOperations=failed)
    return error_response(status, exc.code, exc.message)


def _protocol_error(status: int, exc: OrchjobsError) -> JSONResponse:
    """Orchestrators read errors from the protocol envelope, not from Command's REST error body."""
    error = {"Code": int(exc.code, 16) & 0xFFFF, "CodeString": exc.code.removeprefix("0x"), "Message": exc.message}
    return JSONResponse({"Result": {"Status": 3, "Error": error}}, status_code=status)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("query", "body"))
        problems.append(f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg")))
    return error_response(400, InvalidRequestError.code, "Invalid request: " + "; ".join(problems) + ".")


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    messages = {404: "The requested resource was not found.", 405: "The method is not allowed here."}
    message = messages.get(exc.status_code, str(exc.detail))
    return error_response(exc.status_code, GENERIC_CODE, message)


async def _unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    return error_response(500, GENERIC_CODE, "An unexpected error occurred. The server log has the details.")
