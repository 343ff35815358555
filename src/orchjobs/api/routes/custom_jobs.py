"""/KeyfactorAPI/OrchestratorJobs/Custom: schedule a job of a custom job type (or FetchLogs) on one orchestrator,
or on many with /Bulk."""

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from orchjobs.api import custom_job_requests, paths, wire
from orchjobs.api.auth import ContextDep, UserDep
from orchjobs.api.schemas import BulkJobResponse, JobResponse, ScheduleBulkJobRequest, ScheduleJobRequest
from orchjobs.service import custom_jobs
from orchjobs.service.custom_jobs import ScheduledCustomJobs

router = APIRouter(prefix=paths.CUSTOM_JOBS, tags=["OrchestratorJobs"])
_JOB_BODY = {"requestBody": {"content": {"application/json": {"schema": ScheduleJobRequest.model_json_schema()}}}}
_BULK_BODY = {"requestBody": {"content": {"application/json": {"schema": ScheduleBulkJobRequest.model_json_schema()}}}}


@router.post("", response_model=JobResponse, openapi_extra=_JOB_BODY)
async def schedule_custom_job(request: Request, context: ContextDep, user: UserDep) -> Response:
    """Schedule the job on an orchestrator that exists, is Approved and reported the capability
    Custom.<JobTypeName>; 400 otherwise, and for JobFields or a Schedule that are not valid."""
    agent_id, job = await custom_job_requests.read_custom_job(request)
    scheduled = await run_in_threadpool(
        custom_jobs.schedule_custom_job,
        context.engine,
        agent_id=agent_id,
        request=job,
        actor=user.name,
        now=context.clock(),
    )
    ((job_id, orchestrator_id),) = scheduled.pairs
    return wire.json_response({"JobId": job_id, "OrchestratorId": orchestrator_id, **_shared(scheduled)})


@router.post("/Bulk", response_model=BulkJobResponse, openapi_extra=_BULK_BODY)
async def schedule_bulk_custom_jobs(request: Request, context: ContextDep, user: UserDep) -> Response:
    """Schedule the job on every orchestrator of OrchestratorIds and of the Query (an extension) that can take
    it, listing the others in FailedOrchestratorIds; at most ORCHJOBS_MAX_BULK_IDS orchestrators in all."""
    agent_ids, query, job = await custom_job_requests.read_bulk_custom_job(request)
    scheduled = await run_in_threadpool(
        custom_jobs.schedule_bulk_custom_jobs,
        context.engine,
        agent_ids=agent_ids,
        query=query,
        request=job,
        actor=user.name,
        now=context.clock(),
        max_orchestrators=context.settings.max_bulk_ids,
        max_query_length=context.settings.max_query_length,
    )
    return wire.json_response(
        {
            "OrchestratorJobPairs": [
                {"JobId": job_id, "OrchestratorId": orchestrator_id} for job_id, orchestrator_id in scheduled.pairs
            ],
            "FailedOrchestratorIds": scheduled.failed_ids,
            **_shared(scheduled),
        }
    )


def _shared(scheduled: ScheduledCustomJobs) -> dict[str, Any]:
    """What every job of the request shares, as JobResponse and BulkJobResponse show it."""
    return {
        "JobTypeName": scheduled.job_type_name,
        "Schedule": scheduled.schedule,
        "JobFields": [{"JobTypeField": name, "Value": value} for name, value in scheduled.fields],
        "RequestTimestamp": scheduled.requested_at,
    }
