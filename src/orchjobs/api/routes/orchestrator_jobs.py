"""/KeyfactorAPI/OrchestratorJobs: job history, result data, acknowledge (and its extensions)."""

from typing import Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from orchjobs.api import body, listing, paths, wire
from orchjobs.api import request_docs as docs
from orchjobs.api.auth import ContextDep, UserDep
from orchjobs.api.bulk import read_selection, run_bulk, run_preview
from orchjobs.api.listing import count_response, list_response, page_request
from orchjobs.api.schemas import (
    AcknowledgeJobRequest,
    CountResponse,
    CustomJobResultDataResponse,
    FailureCountResponse,
    FailureGroupResponse,
    JobHistoryResponse,
    PreviewResponse,
)
from orchjobs.service import history
from orchjobs.service.history import JOB_HISTORY

router = APIRouter(prefix=paths.ORCHESTRATOR_JOBS, tags=["OrchestratorJobs"])
_ACKNOWLEDGE_BODY = {
    "requestBody": {"content": {"application/json": {"schema": AcknowledgeJobRequest.model_json_schema()}}}
}


@router.get("/JobHistory", response_model=list[JobHistoryResponse], openapi_extra=listing.documented())
def get_job_history(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Runs of orchestrator jobs, filtered by `pq.queryString`, sorted and paged (`pq.*` or unprefixed); deep pages by
    `Continuation` (an extension, docs/query-language.md)."""
    return list_response(request, context, JOB_HISTORY, job_history_item, continued=True)


@router.get(
    "/JobHistory/Count", response_model=CountResponse, openapi_extra=listing.documented(names=(listing.QUERY_STRING,))
)
def count_job_history(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Extension: how many history rows the query (`pq.queryString` or `QueryString`) matches."""
    return count_response(request, context, JOB_HISTORY)


@router.get("/JobHistory/FailureCount", response_model=FailureCountResponse)
def get_failure_count(context: ContextDep, _user: UserDep) -> Response:
    """Extension: failed and warning runs not yet acknowledged within the age-out window, and the
    query that selects them (pass it to JobHistory to list exactly those rows)."""
    result = history.failure_count(context.engine, now=context.clock())
    return wire.json_response({"Count": result.count, "AgeOutDays": result.age_out_days, "Query": result.query})


@router.get(
    "/JobHistory/FailureGroups",
    response_model=list[FailureGroupResponse],
    openapi_extra=listing.documented(),
)
def get_failure_groups(request: Request, context: ContextDep, user: UserDep) -> Response:
    """Extension: the failure count's runs grouped by job type, orchestrator, target and folded message, largest
    first (paged like JobHistory; `pq.queryString` narrows the runs), each with the query that selects it."""
    page = page_request(request, max_limit=context.settings.max_return_limit)
    groups = history.failure_groups(
        context.engine,
        query=page.query,
        page=page.page,
        limit=page.limit,
        now=context.clock(),
        max_query_length=context.settings.max_query_length,
        user=user.name,
    )
    return wire.json_response([failure_group_item(group) for group in groups])


@router.get("/JobStatus/Data", response_model=CustomJobResultDataResponse, openapi_extra=docs.NOT_FOUND)
def get_job_status_data(
    context: ContextDep,
    _user: UserDep,
    job_history_id: int = Query(alias="jobHistoryId", ge=-(2**63), le=2**63 - 1),
) -> Response:
    """The data a custom or FetchLogs job uploaded for one run."""
    data = history.get_job_result_data(context.engine, job_history_id=job_history_id)
    return wire.json_response({"JobHistoryId": job_history_id, "Data": data})


@router.post("/Acknowledge", status_code=204, response_class=Response, openapi_extra=_ACKNOWLEDGE_BODY)
async def acknowledge(request: Request, context: ContextDep, user: UserDep) -> Response:
    """Acknowledge failed and warning runs by `JobAuditIds` or by `Query` (exactly one of them). Extension: with the
    `PreviewToken` of a Preview, exactly the previewed runs change, or nothing (409)."""
    selection, payload = await read_selection(request, ids_name="JobAuditIds", read_ids=body.optional_int_list)
    note = body.optional_string(payload, "Note")
    token = body.optional_string(payload, "PreviewToken")
    return await run_bulk(context, history.acknowledge_jobs, selection, actor=user.name, note=note, preview_token=token)


@router.post("/Acknowledge/Preview", response_model=PreviewResponse, openapi_extra=_ACKNOWLEDGE_BODY)
async def preview_acknowledge(request: Request, context: ContextDep, user: UserDep) -> Response:
    """Extension: what Acknowledge with this body would change (counts, the first ids, the normalized query), and
    the token that makes it change exactly that."""
    selection, _payload = await read_selection(request, ids_name="JobAuditIds", read_ids=body.optional_int_list)
    return await run_preview(context, history.preview_acknowledge, selection, actor=user.name)


@router.post("/Unacknowledge", status_code=204, response_class=Response, openapi_extra=_ACKNOWLEDGE_BODY)
async def unacknowledge(request: Request, context: ContextDep, user: UserDep) -> Response:
    """Extension: undo acknowledgements; each run gets back the status it had."""
    selection, payload = await read_selection(request, ids_name="JobAuditIds", read_ids=body.optional_int_list)
    token = body.optional_string(payload, "PreviewToken")
    return await run_bulk(context, history.unacknowledge_jobs, selection, actor=user.name, preview_token=token)


@router.post("/Unacknowledge/Preview", response_model=PreviewResponse, openapi_extra=_ACKNOWLEDGE_BODY)
async def preview_unacknowledge(request: Request, context: ContextDep, user: UserDep) -> Response:
    """Extension: what Unacknowledge with this body would change, and its token."""
    selection, _payload = await read_selection(request, ids_name="JobAuditIds", read_ids=body.optional_int_list)
    return await run_preview(context, history.preview_unacknowledge, selection, actor=user.name)


def failure_group_item(group: history.FailureGroup) -> dict[str, Any]:
    item: dict[str, Any] = {
        "Count": group.count,
        "JobType": group.job_type,
        "AgentId": group.agent_id,
        "ClientMachine": group.client_machine,
    }
    if group.target_path is not None:
        item["TargetPath"] = group.target_path
    if group.message_group is not None:
        item["MessageGroup"] = group.message_group
    item["FirstSeen"] = group.first_seen
    item["LastSeen"] = group.last_seen
    if group.last_message is not None:
        item["LastMessage"] = group.last_message
    item["Query"] = group.query
    return item


def job_history_item(row: Any) -> dict[str, Any]:
    """One JobHistoryResponse. The row is unpacked once: attribute access per field costs more."""
    (history_id, job_id, agent_id, machine, job_type, schedule, start, end, message, result, status,
     target_path, acknowledged_at, acknowledged_by, note) = row  # fmt: skip
    item: dict[str, Any] = {
        "JobHistoryId": history_id,
        "AgentMachine": machine,
        "JobId": job_id,
        "Schedule": wire.schedule_fragment(schedule),
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
