"""Rows → Command's JSON: PascalCase keys, integer enums, UTC times ending in Z, absent values omitted.

Serialized with orjson rather than FastAPI's jsonable_encoder, which costs milliseconds per page.
"""

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import orjson
from starlette.responses import Response

# Naive datetimes are UTC here (SQLite returns them naive); both kinds come out as `…Z`.
_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z
_IMMEDIATE = orjson.Fragment(b'{"Immediate":true}')


@lru_cache(maxsize=4096)
def schedule_fragment(text: str | None) -> orjson.Fragment:
    """A stored schedule as ready-made JSON. Clients crash on a null Schedule, so Immediate says so."""
    if not text:
        return _IMMEDIATE
    # Round-trip once per distinct schedule, so a malformed stored value cannot corrupt a response.
    return orjson.Fragment(orjson.dumps(orjson.loads(text)))


def job_history_item(row: Any) -> dict[str, Any]:
    """One JobHistoryResponse. The row is unpacked once: attribute access per field costs more."""
    (history_id, job_id, agent_id, machine, job_type, schedule, start, end, message, result, status,
     target_path, acknowledged_at, acknowledged_by, note) = row  # fmt: skip
    item: dict[str, Any] = {
        "JobHistoryId": history_id,
        "AgentMachine": machine,
        "JobId": job_id,
        "Schedule": schedule_fragment(schedule),
        "JobType": job_type,
        "OperationStart": start,
    }
    if end is not None:
        item["OperationEnd"] = end
    if message is not None:
        item["Message"] = message
    item["Result"] = result
    item["Status"] = status
    if target_path is not None:
        item["StorePath"] = target_path
    item["ClientMachine"] = machine
    # Extensions (additive): the orchestrator's id, and who acknowledged the run.
    item["AgentId"] = agent_id
    if acknowledged_at is not None:
        item["AcknowledgedAt"] = acknowledged_at
        item["AcknowledgedBy"] = acknowledged_by
        if note is not None:
            item["AcknowledgeNote"] = note
    return item


def json_response(content: Any, *, status_code: int = 200) -> Response:
    return Response(
        orjson.dumps(content, option=_OPTIONS),
        status_code=status_code,
        media_type="application/json; charset=utf-8",
    )


def job_history_response(rows: Iterable[Any]) -> Response:
    return json_response([job_history_item(row) for row in rows])
