"""/KeyfactorAPI/AgentPools: list, read, create, update and delete agent pools (Command's SSL discovery and monitoring
pools), and list the orchestrators of the Default Agent Pool.

Reads need /agents/management/read/, changes /agents/management/modify/ (api/permissions.py).
"""

import json
import uuid
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from orchjobs.api import body, listing, paths, wire
from orchjobs.api.auth import ContextDep, UserDep
from orchjobs.api.listing import list_response
from orchjobs.api.schemas import AgentPoolAgentResponse, AgentPoolRequest, AgentPoolResponse
from orchjobs.errors import InvalidRequestError
from orchjobs.service import agent_pools
from orchjobs.service.agent_pools import AGENT_POOLS, DEFAULT_POOL_AGENTS, PoolMember, PoolRequest

router = APIRouter(prefix=paths.AGENT_POOLS, tags=["AgentPool"])

_SCHEMA = AgentPoolRequest.model_json_schema()
_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": _SCHEMA}}}}
_MEMBER_EXAMPLE = '{"AgentId": "3f2504e0-4f89-11d3-9a0c-0305e82c3301", "EnableDiscover": true, "EnableMonitor": false}'


@router.get("", response_model=list[AgentPoolResponse], openapi_extra=listing.documented())
def get_pools(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Agent pools, the Default Agent Pool among them, filtered by `pq.queryString` (AgentPoolId, Name), sorted (Name
    ascending by default) and paged (`pq.*` or unprefixed)."""
    return list_response(request, context, AGENT_POOLS, pool_item)


@router.get("/Agents", response_model=list[AgentPoolAgentResponse], openapi_extra=listing.documented())
def get_default_pool_agents(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """The orchestrators of the Default Agent Pool (approved, in no other pool), filtered by `pq.queryString`
    (AgentId, ClientMachine, Version), sorted (ClientMachine ascending by default) and paged."""
    return list_response(request, context, DEFAULT_POOL_AGENTS, pool_agent_item)


@router.get("/{pool_id}", response_model=AgentPoolResponse)
def get_pool(pool_id: str, context: ContextDep, _user: UserDep) -> Response:
    """One agent pool; 404 for an unknown id, 400 when the id is not a GUID."""
    found = agent_pools.get_pool(context.engine, pool_id=body.path_guid(pool_id, what="an agent pool id"))
    return wire.json_response(pool_item(found))


@router.post("", response_model=AgentPoolResponse, openapi_extra=_BODY)
async def create_pool(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Create a pool of the orchestrators in Agents (they leave the Default Agent Pool); 400 when its name is taken
    (in any case), an orchestrator does not exist, is listed twice or is in another pool."""
    _pool_id, pool = _pool(await body.read_object(request))
    row = await run_in_threadpool(
        agent_pools.create_pool, context.engine, pool, max_members=context.settings.max_bulk_ids
    )
    return wire.json_response(pool_item(row))


@router.put("", response_model=AgentPoolResponse, openapi_extra=_BODY)
async def update_pool(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Rename the pool of AgentPoolId and make its orchestrators those of Agents (left out: unchanged); the Default
    Agent Pool cannot be renamed. 404 for an unknown AgentPoolId."""
    pool_id, pool = _pool(await body.read_object(request))
    if pool_id is None:
        raise InvalidRequestError("AgentPoolId is required: the GUID of the agent pool to update.")
    row = await run_in_threadpool(
        agent_pools.update_pool,
        context.engine,
        pool_id=pool_id,
        request=pool,
        max_members=context.settings.max_bulk_ids,
    )
    return wire.json_response(pool_item(row))


@router.delete("/{pool_id}", status_code=204, response_class=Response)
def delete_pool(pool_id: str, context: ContextDep, _user: UserDep) -> Response:
    """Delete a pool (its orchestrators go back to the Default Agent Pool); 400 for the Default Agent Pool."""
    agent_pools.delete_pool(context.engine, pool_id=body.path_guid(pool_id, what="an agent pool id"))
    return Response(status_code=204)


def pool_item(row: Any) -> dict[str, Any]:
    """One AgentPool, its orchestrators by ClientMachine."""
    members = sorted(
        (_member_item(member) for member in row.agents), key=lambda item: (item["ClientMachine"], item["AgentId"])
    )
    return {
        "AgentPoolId": row.id,
        "Name": row.name,
        "DiscoverAgentsCount": sum(1 for member in members if member["EnableDiscover"]),
        "MonitorAgentsCount": sum(1 for member in members if member["EnableMonitor"]),
        "Agents": members,
    }


def _member_item(member: list[Any]) -> dict[str, Any]:
    agent_id, discover, monitor, version, allows_discover, allows_monitor, machine = member
    # SQLite's JSON holds a GUID as its 32 hex digits and booleans as 0 and 1.
    return {
        "AgentId": str(uuid.UUID(str(agent_id))),
        "EnableDiscover": bool(discover),
        "EnableMonitor": bool(monitor),
        "Version": version,
        "AllowsDiscover": bool(allows_discover),
        "AllowsMonitor": bool(allows_monitor),
        "ClientMachine": machine,
    }


def pool_agent_item(row: Any) -> dict[str, Any]:
    """One AgentPoolAgent of the Default Agent Pool."""
    return {
        "AgentId": row.id,
        "EnableDiscover": bool(row.enable_discover),
        "EnableMonitor": bool(row.enable_monitor),
        "Version": row.version,
        "AllowsDiscover": bool(row.allows_discover),
        "AllowsMonitor": bool(row.allows_monitor),
        "ClientMachine": row.client_machine,
    }


def _pool(payload: dict[str, Any]) -> tuple[uuid.UUID | None, PoolRequest]:
    """The AgentPoolId (None when absent) and what the body asks for; 400 for values of the wrong shape."""
    raw_id = payload.get("agentpoolid")
    pool_id = None
    if raw_id is not None:
        pool_id = body.lenient_guid(raw_id)
        if pool_id is None:
            raise InvalidRequestError(f"AgentPoolId must be a GUID, not {json.dumps(raw_id)}.")
    return pool_id, PoolRequest(name=body.optional_string(payload, "Name"), members=_members(payload.get("agents")))


def _members(raw: Any) -> list[PoolMember] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise InvalidRequestError(f"Agents must be an array of orchestrators such as {_MEMBER_EXAMPLE}.")
    members: list[PoolMember] = []
    problems: list[str] = []
    for index, item in enumerate(raw):
        where = f"Agents[{index}]"
        if not isinstance(item, dict):
            problems.append(f"{where} must be an object such as {_MEMBER_EXAMPLE}")
            continue
        values = {str(key).lower(): value for key, value in item.items()}
        agent_id = body.lenient_guid(values.get("agentid"))
        discover, monitor = values.get("enablediscover", False), values.get("enablemonitor", False)
        if agent_id is None:
            problems.append(f"{where}.AgentId is required: the orchestrator's GUID")
        for name, flag in (("EnableDiscover", discover), ("EnableMonitor", monitor)):
            if flag is not None and not isinstance(flag, bool):
                problems.append(f"{where}.{name} must be true or false")
        if agent_id is not None and not problems:
            members.append(PoolMember(agent_id, bool(discover), bool(monitor)))
    if problems:
        raise InvalidRequestError("Agents is not valid: " + "; ".join(problems[:10]) + ".")
    return members
