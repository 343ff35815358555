"""/KeyfactorAPI/Agents: list and read orchestrators; approve, disapprove, reset, fetch logs, and
request or require a new client-authentication certificate.

Reads need /agents/management/read/, actions /agents/management/modify/ (api/permissions.py).
"""

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from orchjobs.api import body, listing, paths, wire
from orchjobs.api.auth import ContextDep, UserDep
from orchjobs.api.listing import list_response
from orchjobs.api.schemas import (
    AgentHealthResponse,
    AgentResponse,
    SetAuthCertificateReenrollmentRequest,
    SetAuthCertificateReenrollmentResponse,
)
from orchjobs.domain.jobs import AgentPlatform
from orchjobs.domain.numbers import lenient_int
from orchjobs.errors import InvalidRequestError
from orchjobs.service import agents
from orchjobs.service.agents import AGENTS

router = APIRouter(prefix=paths.ORCHESTRATORS, tags=["Agents"])

_PLATFORMS = frozenset(int(platform) for platform in AgentPlatform)
_REENROLLMENT_NAMES = {"none": 0, "requested": 1, "required": 2}
_GUID_EXAMPLE = '["3f2504e0-4f89-11d3-9a0c-0305e82c3301"]'
_IDS = f"a JSON array of orchestrator ids, e.g. {_GUID_EXAMPLE}"
_REENROLLMENT_BODY = {
    "requestBody": {
        "content": {"application/json": {"schema": SetAuthCertificateReenrollmentRequest.model_json_schema()}}
    }
}


def _ids_body(summary: str) -> dict[str, Any]:
    schema = {"type": "array", "items": {"type": "string", "format": "uuid"}, "description": summary}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


# -- reads -----------------------------------------------------------------------------------


@router.get("", response_model=list[AgentResponse], openapi_extra=listing.documented())
def get_agents(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Orchestrators, filtered by `pq.queryString`, sorted (AgentId ascending by default) and paged."""
    return list_response(request, context, AGENTS, agent_item)


_HEALTH_IDS = Annotated[
    list[str],
    Query(
        alias="agentIds",
        description="Orchestrator ids, the parameter repeated or comma-separated (at most ORCHJOBS_MAX_BULK_IDS).",
    ),
]


@router.get("/Health", response_model=AgentHealthResponse)
def get_agents_health(
    context: ContextDep,
    _user: UserDep,
    agent_ids: _HEALTH_IDS = [],  # noqa: B006 (FastAPI copies a default)
) -> Response:
    """Extension: whether each asked-for orchestrator keeps in touch, judged by the database against the
    HeartbeatInterval setting (which this route's callers need not be able to read): OK; Late when last seen more
    than 2 heartbeat intervals ago; Silent when more than 10. Unknown ids are left out; 400 for a malformed one."""
    texts = [part.strip() for each in agent_ids for part in each.split(",") if part.strip()]
    report = agents.agent_health(
        context.engine,
        agent_ids=body.guid_items(texts, label="agentIds"),
        max_ids=context.settings.max_bulk_ids,
        now=context.clock(),
    )
    return wire.json_response(
        {
            "HeartbeatMinutes": report.heartbeat_minutes,
            "LateAfterMinutes": report.late_after_minutes,
            "SilentAfterMinutes": report.silent_after_minutes,
            "Agents": [
                {"AgentId": str(each.agent_id), "LastSeen": each.last_seen, "Health": each.health}
                for each in report.agents
            ],
        }
    )


@router.get("/{agent_id}", response_model=AgentResponse)
def get_agent(agent_id: str, context: ContextDep, _user: UserDep) -> Response:
    """One orchestrator; 404 when there is none with this id, 400 when the id is not a GUID."""
    found = agents.get_agent(context.engine, agent_id=body.path_guid(agent_id, what="an orchestrator id"))
    return wire.json_response(agent_item(found))


# -- actions ---------------------------------------------------------------------------------


@router.post("/Approve", status_code=204, response_class=Response, openapi_extra=_ids_body("Orchestrators to approve."))
async def approve(request: Request, context: ContextDep, user: UserDep) -> Response:
    """Approve orchestrators (a JSON array of GUIDs); all or nothing: an unknown id is a 400."""
    ids = await _id_array(request)
    await run_in_threadpool(
        agents.approve_agents,
        context.engine,
        agent_ids=ids,
        max_ids=context.settings.max_bulk_ids,
        actor=user.name,
        now=context.clock(),
    )
    return Response(status_code=204)


@router.post(
    "/Disapprove", status_code=204, response_class=Response, openapi_extra=_ids_body("Orchestrators to disapprove.")
)
async def disapprove(request: Request, context: ContextDep, user: UserDep) -> Response:
    """Disapprove orchestrators and end their sessions; all or nothing: an unknown id is a 400."""
    ids = await _id_array(request)
    await run_in_threadpool(
        agents.disapprove_agents,
        context.engine,
        agent_ids=ids,
        max_ids=context.settings.max_bulk_ids,
        actor=user.name,
        now=context.clock(),
    )
    return Response(status_code=204)


@router.post("/Reset", status_code=204, response_class=Response, openapi_extra=_ids_body("Orchestrators to reset."))
async def reset_many(request: Request, context: ContextDep, user: UserDep) -> Response:
    """Reset orchestrators: jobs, stores and sessions removed, status New, certificates forgotten.
    Job history is kept. All or nothing: an unknown id is a 400."""
    ids = await _id_array(request)
    await run_in_threadpool(
        agents.reset_agents,
        context.engine,
        agent_ids=ids,
        max_ids=context.settings.max_bulk_ids,
        actor=user.name,
        now=context.clock(),
    )
    return Response(status_code=204)


@router.post(
    "/SetAuthCertificateReenrollment",
    response_model=SetAuthCertificateReenrollmentResponse,
    openapi_extra=_REENROLLMENT_BODY,
)
async def set_auth_certificate_reenrollment(request: Request, context: ContextDep, user: UserDep) -> Response:
    """Request (1) or require (2) a new client-authentication certificate at the orchestrators' next
    registration, or clear that (0). Unknown ids are listed in FailedOrchestratorIds."""
    payload = await body.read_object(request)
    ids = payload.get("orchestratorids")
    if not isinstance(ids, list):
        raise InvalidRequestError(f"OrchestratorIds is required: {_IDS}.")
    result = await run_in_threadpool(
        agents.set_auth_certificate_reenrollment,
        context.engine,
        agent_ids=body.guid_items(ids, label="OrchestratorIds"),
        status=_reenrollment_status(payload),
        max_ids=context.settings.max_bulk_ids,
        actor=user.name,
        now=context.clock(),
    )
    return wire.json_response(
        {"FailedOrchestratorIds": [str(agent_id) for agent_id in result.failed_ids], "Status": result.status}
    )


@router.post("/{agent_id}/Reset", status_code=204, response_class=Response)
def reset_one(agent_id: str, context: ContextDep, user: UserDep) -> Response:
    """Reset one orchestrator (see POST /Agents/Reset); 404 when there is none with this id."""
    agents.reset_agent(
        context.engine,
        agent_id=body.path_guid(agent_id, what="an orchestrator id"),
        actor=user.name,
        now=context.clock(),
    )
    return Response(status_code=204)


@router.post("/{agent_id}/FetchLogs", status_code=204, response_class=Response)
def fetch_logs(agent_id: str, context: ContextDep, user: UserDep) -> Response:
    """Schedule a FetchLogs job, due now. Its upload is read with GET /OrchestratorJobs/JobStatus/Data.
    400 when the orchestrator is not approved or cannot fetch logs; 404 when it does not exist."""
    agents.fetch_logs(
        context.engine,
        agent_id=body.path_guid(agent_id, what="an orchestrator id"),
        actor=user.name,
        now=context.clock(),
    )
    return Response(status_code=204)


# -- wire ------------------------------------------------------------------------------------


def agent_item(row: Any) -> dict[str, Any]:
    """One AgentResponse. LastSeen, AgentPlatform and Status are always present: both published
    Python clients crash without them; AuthCertificateReenrollment is a string for the Go clients."""
    item: dict[str, Any] = {
        "AgentId": str(row.id),
        "ClientMachine": row.client_machine,
        "Username": row.username,
        # An unknown number would crash the clients' enum parsing; Unknown (0) is the honest answer.
        "AgentPlatform": row.platform if row.platform in _PLATFORMS else int(AgentPlatform.UNKNOWN),
        "Version": row.version,
        "Status": row.status,
        "LastSeen": row.last_seen,
        # Sorted here: SQLite and PostgreSQL collate mixed case differently.
        "Capabilities": sorted(row.capabilities, key=lambda name: (name.lower(), name)),
    }
    optional = {"Blueprint": row.blueprint, "Thumbprint": row.thumbprint, "LegacyThumbprint": row.legacy_thumbprint}
    item.update({key: value for key, value in optional.items() if value is not None})
    item["AuthCertificateReenrollment"] = str(row.auth_certificate_reenrollment)
    if row.last_error_code is not None:
        item["LastErrorCode"] = row.last_error_code
    if row.last_error_message is not None:
        item["LastErrorMessage"] = row.last_error_message
    return item


# -- request parsing -------------------------------------------------------------------------


async def _id_array(request: Request) -> list[uuid.UUID]:
    """A bare JSON array of GUID strings (what kfutil and both Python clients send)."""
    return body.guid_items(await body.read_array(request, expected=_IDS), label="The request body")


def _reenrollment_status(payload: dict[str, Any]) -> int:
    """StatusEnum (v11 SDK) when given, else Status: "0"/"1"/"2", 0/1/2 or None/Requested/Required."""
    if payload.get("statusenum") is not None:
        return _status_number(payload["statusenum"], "StatusEnum")
    raw = payload.get("status")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise InvalidRequestError("Status is required: 0 (None), 1 (Requested) or 2 (Required).")
    return _status_number(raw, "Status")


def _status_number(raw: object, label: str) -> int:
    number = lenient_int(raw)
    if number is None and isinstance(raw, str):
        number = _REENROLLMENT_NAMES.get(raw.strip().lower())
    if number is None:
        raise InvalidRequestError(f"{label} must be 0 (None), 1 (Requested) or 2 (Required); got {json.dumps(raw)}.")
    return number
