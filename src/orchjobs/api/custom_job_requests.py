"""What ScheduleJobRequest and ScheduleBulkJobRequest carry, read into the service's typed values (keys matched
case-insensitively). The Schedule goes on as sent: domain.schedules reads it; JobFields values may be any JSON scalar,
as Keyfactor's own sample sends `1` and `true`."""

import json
import uuid
from typing import Any

from starlette.requests import Request

from orchjobs.api import body
from orchjobs.domain.job_types import Scalar
from orchjobs.errors import InvalidRequestError
from orchjobs.service.custom_jobs import CustomJobRequest

_GUID_EXAMPLE = '["3f2504e0-4f89-11d3-9a0c-0305e82c3301"]'


async def read_custom_job(request: Request) -> tuple[uuid.UUID, CustomJobRequest]:
    """The orchestrator (AgentId) and the job."""
    payload = await body.read_object(request)
    raw_id = payload.get("agentid")
    agent_id = body.lenient_guid(raw_id)
    if agent_id is None:
        given = "" if raw_id is None else f"; got {json.dumps(raw_id)}"
        raise InvalidRequestError(f"AgentId is required: the orchestrator's GUID{given}.")
    return agent_id, _job(payload)


async def read_bulk_custom_job(request: Request) -> tuple[list[uuid.UUID] | None, str | None, CustomJobRequest]:
    """The orchestrators (OrchestratorIds, a Query, or both) and the job."""
    payload = await body.read_object(request)
    raw_ids = payload.get("orchestratorids")
    if raw_ids is not None and not isinstance(raw_ids, list):
        raise InvalidRequestError(f"OrchestratorIds must be an array of orchestrator ids, e.g. {_GUID_EXAMPLE}.")
    ids = None if raw_ids is None else body.guid_items(raw_ids, label="OrchestratorIds")
    return ids, body.optional_string(payload, "Query"), _job(payload)


def _job(payload: dict[str, Any]) -> CustomJobRequest:
    name = body.optional_string(payload, "JobTypeName")
    if name is None or not name.strip():
        raise InvalidRequestError("JobTypeName is required: a custom job type's name, or FetchLogs.")
    return CustomJobRequest(
        job_type_name=name.strip(), schedule=payload.get("schedule"), job_fields=_job_fields(payload.get("jobfields"))
    )


def _job_fields(raw: Any) -> dict[str, Scalar | None]:
    """Field name → value; a 400 naming the values that are objects or arrays."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InvalidRequestError('JobFields must be an object of field name and value, e.g. {"ServiceName": "W3SVC"}.')
    bad = [json.dumps(key) for key, value in raw.items() if value is not None and not isinstance(value, Scalar)]
    if bad:
        raise InvalidRequestError(f"JobFields values must be text, numbers or booleans; not those of {', '.join(bad)}.")
    return dict(raw)
