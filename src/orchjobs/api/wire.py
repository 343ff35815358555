"""Rows → Command's JSON: PascalCase keys, integer enums, UTC times ending in Z, absent values omitted.

Built by hand rather than through FastAPI's jsonable_encoder, which costs milliseconds per page.
"""

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from starlette.responses import Response

IMMEDIATE = {"Immediate": True}


def utc_text(moment: datetime) -> str:
    """`2025-01-02T03:04:05Z` (fractional seconds only when there are some)."""
    return moment.isoformat().replace("+00:00", "Z")


def schedule_object(text: str | None) -> dict[str, Any]:
    # Clients crash on a null Schedule, so an Immediate job says so explicitly.
    return json.loads(text) if text else IMMEDIATE


def job_history_item(row: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "JobHistoryId": row.id,
        "AgentMachine": row.client_machine,
        "JobId": str(row.job_id),
        "Schedule": schedule_object(row.schedule),
        "JobType": row.job_type,
        "OperationStart": utc_text(row.operation_start),
    }
    if row.operation_end is not None:
        item["OperationEnd"] = utc_text(row.operation_end)
    if row.message is not None:
        item["Message"] = row.message
    item["Result"] = row.result
    item["Status"] = row.status
    if row.target_path is not None:
        item["StorePath"] = row.target_path
    item["ClientMachine"] = row.client_machine
    # Extensions (additive): who acknowledged the run, and the orchestrator's id.
    item["AgentId"] = str(row.agent_id)
    if row.acknowledged_at is not None:
        item["AcknowledgedAt"] = utc_text(row.acknowledged_at)
        item["AcknowledgedBy"] = row.acknowledged_by
        if row.acknowledge_note is not None:
            item["AcknowledgeNote"] = row.acknowledge_note
    return item


def json_response(content: Any, *, status_code: int = 200) -> Response:
    body = json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, status_code=status_code, media_type="application/json; charset=utf-8")


def job_history_response(rows: Iterable[Any]) -> Response:
    return json_response([job_history_item(row) for row in rows])
