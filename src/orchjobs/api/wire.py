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
    item: dict[str, Any] = {
        "JobHistoryId": row.id,
        "AgentMachine": row.client_machine,
        "JobId": row.job_id,
        "Schedule": schedule_fragment(row.schedule),
        "JobType": row.job_type,
        "OperationStart": row.operation_start,
    }
    if row.operation_end is not None:
        item["OperationEnd"] = row.operation_end
    if row.message is not None:
        item["Message"] = row.message
    item["Result"] = row.result
    item["Status"] = row.status
    if row.target_path is not None:
        item["StorePath"] = row.target_path
    item["ClientMachine"] = row.client_machine
    # Extensions (additive): the orchestrator's id, and who acknowledged the run.
    item["AgentId"] = row.agent_id
    if row.acknowledged_at is not None:
        item["AcknowledgedAt"] = row.acknowledged_at
        item["AcknowledgedBy"] = row.acknowledged_by
        if row.acknowledge_note is not None:
            item["AcknowledgeNote"] = row.acknowledge_note
    return item


def json_response(content: Any, *, status_code: int = 200) -> Response:
    return Response(
        orjson.dumps(content, option=_OPTIONS),
        status_code=status_code,
        media_type="application/json; charset=utf-8",
    )


def job_history_response(rows: Iterable[Any]) -> Response:
    return json_response([job_history_item(row) for row in rows])
