"""/KeyfactorAPI/OrchestratorJobs: scheduled jobs (a second router under the prefix of `orchestrator_jobs`, which
serves job history and Acknowledge)."""

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from orchjobs.api import paths, wire
from orchjobs.api.auth import ContextDep, UserDep
from orchjobs.api.listing import count_response, list_response
from orchjobs.api.schemas import CountResponse, ScheduledJobResponse
from orchjobs.service.scheduled_jobs import SCHEDULED_JOBS

router = APIRouter(prefix=paths.ORCHESTRATOR_JOBS, tags=["OrchestratorJobs"])


@router.get("/ScheduledJobs", response_model=list[ScheduledJobResponse])
def get_scheduled_jobs(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Jobs that will run or are running, filtered by `pq.queryString`, sorted (newest Requested first by default)
    and paged (`pq.*` or unprefixed)."""
    return list_response(request, context, SCHEDULED_JOBS, scheduled_job_item)


@router.get("/ScheduledJobs/Count", response_model=CountResponse)
def count_scheduled_jobs(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Extension: how many scheduled jobs the query (`pq.queryString` or `QueryString`) matches."""
    return count_response(request, context, SCHEDULED_JOBS)


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
