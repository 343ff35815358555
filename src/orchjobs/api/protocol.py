"""The orchestrator protocol's envelope: every answer is 200 with `Result: {Status, Error?}` (agent-protocol.md §3).

Agents retry any HTTP status >= 300, so protocol refusals are a 200 with `Result.Status` 3 and a CodeString.
"""

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from orchjobs.errors import InvalidRequestError

SUCCESS, WARNING, ERROR = 1, 2, 3


def answer(body: dict[str, Any] | None = None) -> Response:
    """A successful protocol answer: the body plus `Result: {Status: 1}`."""
    return _json({**(body or {}), "Result": {"Status": SUCCESS}})


def refusal(code_string: str, message: str, *, extra: dict[str, Any] | None = None, status_code: int = 200) -> Response:
    """A refused call: `Result.Status` 3 with the error an agent logs."""
    error = {"Code": int(code_string[-4:], 16), "CodeString": code_string, "Message": message}
    return _json({**(extra or {}), "Result": {"Status": ERROR, "Error": error}}, status_code=status_code)


async def request_body(request: Request) -> dict[str, Any]:
    """The JSON object body with lower-cased keys (the C agent's parser matches keys case-insensitively too)."""
    raw = await request.body()
    try:
        value = orjson.loads(raw) if raw.strip() else None
    except orjson.JSONDecodeError:
        raise InvalidRequestError("The request body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise InvalidRequestError("The request body must be a JSON object.")
    return {str(key).lower(): item for key, item in value.items()}


def _json(body: dict[str, Any], *, status_code: int = 200) -> Response:
    return Response(
        orjson.dumps(body, option=orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z),
        status_code=status_code,
        media_type="application/json; charset=utf-8",
    )
