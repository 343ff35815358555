"""/KeyfactorAPI/Agents: list and read orchestrators; approve, disapprove, reset, fetch logs, and
request or require a new client-authentication certificate.

Any authenticated user may call every route here: orchjobs has no per-permission model yet
(Command asks /agents/management/read/ for reads and /modify/ for actions).
"""

import json
import re
import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from orchjobs.api import body, wire
from orchjobs.api.auth import ContextDep, UserDep
from orchjobs.api.listing import page_request
from orchjobs.domain.jobs import AgentPlatform
from orchjobs.errors import InvalidRequestError
from orchjobs.service import agents
from orchjobs.service.agents import Agent

router = APIRouter(prefix="/KeyfactorAPI/Agents", tags=["Agents"])

_PLATFORMS = frozenset(int(platform) for platform in AgentPlatform)
_REENROLLMENT_NAMES = {"none": 0, "requested": 1, "required": 2}
_GUID_EXAMPLE = '["3f2504e0-4f89-11d3-9a0c-0305e82c3301"]'
_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)


class AgentResponse(BaseModel):
    """KeyfactorApi.Models.Orchestrators.AgentResponse. Absent values are omitted, never null."""

    AgentId: uuid.UUID
    ClientMachine: str
    Username: str
    AgentPlatform: int = Field(
        description="0 Unknown, 1 .NET, 2 Java, 3 Mac, 4 Android, 5 Native, 6 Bash, 7 Universal Orchestrator"
    )
    Version: str
    Status: int = Field(description="1 New, 2 Approved, 3 Disapproved")
    LastSeen: datetime = Field(description="UTC, always present.")
    Capabilities: list[str]
    Blueprint: str | None = None
    Thumbprint: str | None = None
    LegacyThumbprint: str | None = None
    AuthCertificateReenrollment: str = Field(
        description='A string, as the Go clients expect: "0" None, "1" Requested, "2" Required.'
    )
    LastThumbprintUsed: str | None = Field(None, description="Omitted: orchjobs does not record it yet.")
    LastErrorCode: int | None = None
    LastErrorMessage: str | None = None


class SetAuthCertificateReenrollmentRequest(BaseModel):
    """Keys are matched case-insensitively. StatusEnum, when given, wins over Status."""

    OrchestratorIds: list[uuid.UUID]
    Status: str | int = Field(description='0 None, 1 Requested, 2 Required; "0", 0 and "None" all work.')
    StatusEnum: int | None = None


class SetAuthCertificateReenrollmentResponse(BaseModel):
    FailedOrchestratorIds: list[uuid.UUID]
    Status: int


def _array_body_doc(summary: str) -> dict[str, Any]:
    schema = {"type": "array", "items": {"type": "string", "format": "uuid"}, "description": summary}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


# -- reads -----------------------------------------------------------------------------------


@router.get("", response_model=list[AgentResponse])
def get_agents(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Orchestrators, filtered by `pq.queryString`, sorted (AgentId ascending by default) and paged."""
    page = page_request(request, max_limit=context.settings.max_return_limit)
    found = agents.list_agents(
        context.engine, page, now=context.clock(), max_query_length=context.settings.max_query_length
    )
    return wire.json_response([agent_item(agent) for agent in found])


@router.get("/{agent_id}", response_model=AgentResponse)
def get_agent(agent_id: str, context: ContextDep, _user: UserDep) -> Response:
    """One orchestrator; 404 when there is none with this id, 400 when the id is not a GUID."""
    found = agents.get_agent(context.engine, agent_id=_path_guid(agent_id))
    return wire.json_response(agent_item(found))


# -- actions ---------------------------------------------------------------------------------


@router.post(
    "/Approve",
    status_code=204,
    response_class=Response,
    openapi_extra=_array_body_doc("Ids of the orchestrators to approve."),
)
async def approve(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Approve orchestrators (a JSON array of GUIDs); all or nothing: an unknown id is a 400."""
    ids = await _guid_array(request)
    await run_in_threadpool(agents.approve_agents, context.engine, agent_ids=ids, max_ids=context.settings.max_bulk_ids)
    return Response(status_code=204)


@router.post(
    "/Disapprove",
    status_code=204,
    response_class=Response,
    openapi_extra=_array_body_doc("Ids of the orchestrators to disapprove."),
)
async def disapprove(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Disapprove orchestrators and end their sessions; all or nothing: an unknown id is a 400."""
    ids = await _guid_array(request)
    await run_in_threadpool(
        agents.disapprove_agents, context.engine, agent_ids=ids, max_ids=context.settings.max_bulk_ids
    )
    return Response(status_code=204)


@router.post(
    "/Reset",
    status_code=204,
    response_class=Response,
    openapi_extra=_array_body_doc("Ids of the orchestrators to reset."),
)
async def reset_many(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Reset orchestrators: jobs, stores and sessions removed, status New, certificates forgotten.
    Job history is kept. All or nothing: an unknown id is a 400."""
    ids = await _guid_array(request)
    await run_in_threadpool(
        agents.reset_agents,
        context.engine,
        agent_ids=ids,
        max_ids=context.settings.max_bulk_ids,
        now=context.clock(),
    )
    return Response(status_code=204)


@router.post(
    "/SetAuthCertificateReenrollment",
    response_model=SetAuthCertificateReenrollmentResponse,
    openapi_extra={
        "requestBody": {
            "content": {"application/json": {"schema": SetAuthCertificateReenrollmentRequest.model_json_schema()}}
        }
    },
)
async def set_auth_certificate_reenrollment(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Request (1) or require (2) a new client-authentication certificate at the orchestrators' next
    registration, or clear that (0). Unknown ids are listed in FailedOrchestratorIds."""
    payload = await body.json_object(request)
    ids = _required_guid_list(payload, "OrchestratorIds")
    status = _reenrollment_status(payload)
    result = await run_in_threadpool(
        agents.set_auth_certificate_reenrollment,
        context.engine,
        agent_ids=ids,
        status=status,
        max_ids=context.settings.max_bulk_ids,
    )
    return wire.json_response(
        {"FailedOrchestratorIds": [str(agent_id) for agent_id in result.failed_ids], "Status": result.status}
    )


@router.post("/{agent_id}/Reset", status_code=204, response_class=Response)
def reset_one(agent_id: str, context: ContextDep, _user: UserDep) -> Response:
    """Reset one orchestrator (see POST /Agents/Reset); 404 when there is none with this id."""
    agents.reset_agent(context.engine, agent_id=_path_guid(agent_id), now=context.clock())
    return Response(status_code=204)


@router.post("/{agent_id}/FetchLogs", status_code=204, response_class=Response)
def fetch_logs(agent_id: str, context: ContextDep, _user: UserDep) -> Response:
    """Schedule a FetchLogs job, due now. Its upload is read with GET /OrchestratorJobs/JobStatus/Data.
    400 when the orchestrator is not approved or cannot fetch logs; 404 when it does not exist."""
    agents.fetch_logs(context.engine, agent_id=_path_guid(agent_id), now=context.clock())
    return Response(status_code=204)


# -- wire ------------------------------------------------------------------------------------


def agent_item(agent: Agent) -> dict[str, Any]:
    """One AgentResponse. LastSeen, AgentPlatform and Status are always present: both published
    Python clients crash without them; AuthCertificateReenrollment is a string for the Go clients."""
    item: dict[str, Any] = {
        "AgentId": str(agent.id),
        "ClientMachine": agent.client_machine,
        "Username": agent.username,
        # An unknown number would crash the clients' enum parsing; Unknown (0) is the honest answer.
        "AgentPlatform": agent.platform if agent.platform in _PLATFORMS else int(AgentPlatform.UNKNOWN),
        "Version": agent.version,
        "Status": agent.status,
        "LastSeen": agent.last_seen,
        "Capabilities": list(agent.capabilities),
    }
    optional = {
        "Blueprint": agent.blueprint,
        "Thumbprint": agent.thumbprint,
        "LegacyThumbprint": agent.legacy_thumbprint,
    }
    item.update({key: value for key, value in optional.items() if value is not None})
    item["AuthCertificateReenrollment"] = str(agent.auth_certificate_reenrollment)
    if agent.last_error_code is not None:
        item["LastErrorCode"] = agent.last_error_code
    if agent.last_error_message is not None:
        item["LastErrorMessage"] = agent.last_error_message
    return item


# -- request parsing -------------------------------------------------------------------------


def _path_guid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        raise InvalidRequestError(f"'{text}' is not an orchestrator id: a GUID is expected.") from None


async def _guid_array(request: Request) -> list[uuid.UUID]:
    """A bare JSON array of GUID strings (what kfutil and both Python clients send)."""
    raw = await request.body()
    try:
        value = json.loads(raw) if raw.strip() else None
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequestError("The request body is not valid JSON.") from None
    if not isinstance(value, list):
        raise InvalidRequestError(f"The request body must be a JSON array of orchestrator ids, e.g. {_GUID_EXAMPLE}.")
    return _guids(value, label="The request body")


def _required_guid_list(payload: dict[str, Any], key: str) -> list[uuid.UUID]:
    value = payload.get(key.lower())
    if not isinstance(value, list):
        raise InvalidRequestError(f"{key} is required: a JSON array of orchestrator ids, e.g. {_GUID_EXAMPLE}.")
    return _guids(value, label=key)


def _guids(items: list[Any], *, label: str) -> list[uuid.UUID]:
    return body.converted_items(items, _as_guid, label=label, kind="GUID strings")


def _as_guid(item: object) -> uuid.UUID | None:
    if not isinstance(item, str):
        return None
    try:
        return uuid.UUID(item.strip())
    except ValueError:
        return None


def _reenrollment_status(payload: dict[str, Any]) -> int:
    """StatusEnum (v11 SDK) when given, else Status: "0"/"1"/"2", 0/1/2 or None/Requested/Required."""
    if payload.get("statusenum") is not None:
        return _status_number(payload["statusenum"], "StatusEnum")
    raw = payload.get("status")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise InvalidRequestError("Status is required: 0 (None), 1 (Requested) or 2 (Required).")
    return _status_number(raw, "Status")


def _status_number(raw: object, label: str) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        text = raw.strip()
        if _INTEGER.fullmatch(text):
            return int(text)
        if text.lower() in _REENROLLMENT_NAMES:
            return _REENROLLMENT_NAMES[text.lower()]
    raise InvalidRequestError(f"{label} must be 0 (None), 1 (Requested) or 2 (Required); got {json.dumps(raw)}.")
