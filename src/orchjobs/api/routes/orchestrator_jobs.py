"""/KeyfactorAPI/OrchestratorJobs: job history, result data, acknowledge (and its extensions)."""

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from orchjobs.api import body, wire
from orchjobs.api.auth import ContextDep, UserDep
from orchjobs.api.context import AppContext
from orchjobs.api.listing import page_request
from orchjobs.api.schemas import (
    AcknowledgeJobRequest,
    CountResponse,
    CustomJobResultDataResponse,
    FailureCountResponse,
    JobHistoryResponse,
)
from orchjobs.service import history
from orchjobs.service.history import Selection

router = APIRouter(prefix="/KeyfactorAPI/OrchestratorJobs", tags=["OrchestratorJobs"])


@router.get("/JobHistory", response_model=list[JobHistoryResponse])
def get_job_history(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Runs of orchestrator jobs, filtered by `pq.queryString`, sorted and paged (`pq.*` or unprefixed)."""
    page = page_request(request, max_limit=context.settings.max_return_limit)
    rows = history.list_job_history(
        context.engine, page, now=context.clock(), max_query_length=context.settings.max_query_length
    )
    return wire.job_history_response(rows)


@router.get("/JobHistory/Count", response_model=CountResponse)
def count_job_history(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Extension: how many history rows the query (`pq.queryString` or `QueryString`) matches."""
    page = page_request(request, max_limit=context.settings.max_return_limit)
    count = history.count_job_history(
        context.engine,
        query=page.query,
        now=context.clock(),
        max_query_length=context.settings.max_query_length,
    )
    return wire.json_response({"Count": count})


@router.get("/JobHistory/FailureCount", response_model=FailureCountResponse)
def get_failure_count(context: ContextDep, _user: UserDep) -> Response:
    """Extension: failed and warning runs not yet acknowledged within the age-out window, and the
    query that selects them (pass it to JobHistory to list exactly those rows)."""
    result = history.failure_count(context.engine, now=context.clock())
    return wire.json_response({"Count": result.count, "AgeOutDays": result.age_out_days, "Query": result.query})


@router.get("/JobStatus/Data", response_model=CustomJobResultDataResponse)
def get_job_status_data(
    context: ContextDep,
    _user: UserDep,
    job_history_id: int = Query(alias="jobHistoryId", ge=-(2**63), le=2**63 - 1),
) -> Response:
    """The data a custom or FetchLogs job uploaded for one run."""
    data = history.get_job_result_data(context.engine, job_history_id=job_history_id)
    return wire.json_response({"JobHistoryId": job_history_id, "Data": data})


@router.post(
    "/Acknowledge",
    status_code=204,
    response_class=Response,
    openapi_extra={
        "requestBody": {"content": {"application/json": {"schema": AcknowledgeJobRequest.model_json_schema()}}}
    },
)
async def acknowledge(request: Request, context: ContextDep, user: UserDep) -> Response:
    """Acknowledge failed and warning runs by `JobAuditIds` or by `Query` (exactly one of them)."""
    selection, note = await _selection(request)
    await run_in_threadpool(_acknowledge, context, selection, user.username, note)
    return Response(status_code=204)


@router.post("/Unacknowledge", status_code=204, response_class=Response)
async def unacknowledge(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Extension: undo acknowledgements; each run gets back the status it had."""
    selection, _note = await _selection(request)
    await run_in_threadpool(
        history.unacknowledge_jobs,
        context.engine,
        selection,
        now=context.clock(),
        max_ids=context.settings.max_bulk_ids,
        max_query_length=context.settings.max_query_length,
    )
    return Response(status_code=204)


async def _selection(request: Request) -> tuple[Selection, str | None]:
    payload = await body.json_object(request)
    selection = Selection(
        ids=body.optional_int_list(payload, "JobAuditIds", "JobAuditIds"),
        query=body.optional_string(payload, "Query", "Query"),
    )
    return selection, body.optional_string(payload, "Note", "Note")


def _acknowledge(context: AppContext, selection: Selection, username: str, note: str | None) -> int:
    return history.acknowledge_jobs(
        context.engine,
        selection,
        user=username,
        note=note,
        now=context.clock(),
        max_ids=context.settings.max_bulk_ids,
        max_query_length=context.settings.max_query_length,
    )
