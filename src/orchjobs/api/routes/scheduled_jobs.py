"""/KeyfactorAPI/OrchestratorJobs: scheduled jobs, Reschedule and Unschedule (a second router under the prefix of
`orchestrator_jobs`, which serves job history and Acknowledge)."""

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from orchjobs.api import body, listing, paths, wire
from orchjobs.api.auth import ContextDep, UserDep
from orchjobs.api.bulk import read_selection, run_bulk, run_preview
from orchjobs.api.listing import count_response, list_response
from orchjobs.api.schemas import (
    CountResponse,
    PreviewResponse,
    RescheduleJobRequest,
    ScheduledJobResponse,
    UnscheduleJobRequest,
)
from orchjobs.service import reschedule, scheduled_jobs
from orchjobs.service.scheduled_jobs import SCHEDULED_JOBS

router = APIRouter(prefix=paths.ORCHESTRATOR_JOBS, tags=["OrchestratorJobs"])


def _body(model: type[RescheduleJobRequest | UnscheduleJobRequest]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}}}


@router.get("/ScheduledJobs", response_model=list[ScheduledJobResponse], openapi_extra=listing.documented())
def get_scheduled_jobs(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Jobs that will run or are running, filtered by `pq.queryString`, sorted (newest Requested first by default)
    and paged (`pq.*` or unprefixed)."""
    return list_response(request, context, SCHEDULED_JOBS, scheduled_job_item)


@router.get(
    "/ScheduledJobs/Count",
    response_model=CountResponse,
    openapi_extra=listing.documented(names=(listing.QUERY_STRING,)),
)
def count_scheduled_jobs(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Extension: how many scheduled jobs the query (`pq.queryString` or `QueryString`) matches."""
    return count_response(request, context, SCHEDULED_JOBS)


@router.post("/Reschedule", status_code=204, response_class=Response, openapi_extra=_body(RescheduleJobRequest))
async def reschedule_jobs(request: Request, context: ContextDep, user: UserDep) -> Response:
    """Run the jobs of failed runs again as soon as their orchestrators check in: by `JobAuditIds` or by `Query`
    over job history (exactly one of them). Extension: `PreviewToken`, as for Acknowledge."""
    selection, payload = await read_selection(request, ids_name="JobAuditIds", read_ids=body.optional_int_list)
    token = body.optional_string(payload, "PreviewToken")
    return await run_bulk(context, reschedule.reschedule_jobs, selection, actor=user.name, preview_token=token)


@router.post("/Reschedule/Preview", response_model=PreviewResponse, openapi_extra=_body(RescheduleJobRequest))
async def preview_reschedule(request: Request, context: ContextDep, user: UserDep) -> Response:
    """Extension: what Reschedule with this body would change (the jobs, by id), and its token."""
    selection, _payload = await read_selection(request, ids_name="JobAuditIds", read_ids=body.optional_int_list)
    return await run_preview(context, reschedule.preview_reschedule, selection, actor=user.name)


@router.post("/Unschedule", status_code=204, response_class=Response, openapi_extra=_body(UnscheduleJobRequest))
async def unschedule_jobs(request: Request, context: ContextDep, user: UserDep) -> Response:
    """Delete scheduled jobs by `JobIds` or by `Query` over the ScheduledJobs fields (exactly one of them); their
    history stays, and a run still in flight is closed as failed. Extension: `PreviewToken`, as for Acknowledge."""
    selection, payload = await read_selection(request, ids_name="JobIds", read_ids=body.optional_guid_list)
    token = body.optional_string(payload, "PreviewToken")
    return await run_bulk(context, scheduled_jobs.unschedule_jobs, selection, actor=user.name, preview_token=token)


@router.post("/Unschedule/Preview", response_model=PreviewResponse, openapi_extra=_body(UnscheduleJobRequest))
async def preview_unschedule(request: Request, context: ContextDep, user: UserDep) -> Response:
    """Extension: which scheduled jobs Unschedule with this body would delete, and its token."""
    selection, _payload = await read_selection(request, ids_name="JobIds", read_ids=body.optional_guid_list)
    return await run_preview(context, scheduled_jobs.preview_unschedule, selection, actor=user.name)


def scheduled_job_item(row: Any) -> dict[str, Any]:
    """One ScheduledJobResponse; the row is unpacked once (see orchestrator_jobs.job_history_item)."""
    job_id, machine, target, schedule, requested, job_type, agent_id, next_run = row
    item: dict[str, Any] = {"Id": job_id, "ClientMachine": machine}
    if target is not None:
        item["Target"] = target
    item["Schedule"] = wire.schedule_fragment(schedule)
    item["Requested"] = requested
    item["JobType"] = job_type
    # Extensions (additive): the orchestrator's id, and when the job is next due.
    item["AgentId"] = agent_id
    if next_run is not None:
        item["NextRun"] = next_run
    return item
