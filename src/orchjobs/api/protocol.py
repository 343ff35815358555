"""The orchestrator protocol's envelope: every answer carries `Result: {Status, Error?}` (agent-protocol.md §3)."""

from typing import Any

import orjson
from starlette.responses import Response

from orchjobs.errors import OrchjobsError, ProtocolRefusalError

SUCCESS, WARNING, ERROR = 1, 2, 3


def answer(body: dict[str, Any] | None = None) -> Response:
    """A successful protocol answer: the body plus `Result: {Status: 1}`."""
    return json_answer({**(body or {}), "Result": {"Status": SUCCESS}})


def warning(exc: OrchjobsError) -> Response:
    """A call done in part: `Result.Status` 2 with the error that says what was not done."""
    return json_answer({"Result": {"Status": WARNING, "Error": _error(exc)}})


def refusal(exc: OrchjobsError) -> dict[str, Any]:
    """The answer to a refused call: `Result.Status` 3 with the error an agent logs, its CodeString the code
    without `0x`. A refused heartbeat still says when to call again, and that the session is not valid."""
    error = _error(exc)
    body: dict[str, Any] = {}
    if isinstance(exc, ProtocolRefusalError) and exc.heartbeat_interval is not None:
        body = {"HeartbeatInterval": exc.heartbeat_interval, "SessionValid": False}
    return {**body, "Result": {"Status": ERROR, "Error": error}}


def _error(exc: OrchjobsError) -> dict[str, Any]:
    code_string = exc.code.removeprefix("0x")
    return {"Code": int(code_string[-4:], 16), "CodeString": code_string, "Message": exc.message}


def json_answer(body: dict[str, Any], *, status_code: int = 200) -> Response:
    return Response(
        orjson.dumps(body, option=orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z),
        status_code=status_code,
        media_type="application/json; charset=utf-8",
    )
