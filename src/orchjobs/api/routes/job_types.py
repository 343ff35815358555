"""/KeyfactorAPI/JobTypes/Custom: list, read, create, update and delete custom job types. The built-in job types
(Inventory, Management, Discovery, Reenrollment, FetchLogs) are not among them.

Reads need /agents/management/read/, changes /agents/management/modify/ (api/permissions.py).
"""

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from orchjobs.api import body, job_type_requests, listing, paths, wire
from orchjobs.api.auth import ContextDep, UserDep
from orchjobs.api.listing import list_response
from orchjobs.api.schemas import JobTypeCreateRequest, JobTypeResponse, JobTypeUpdateRequest
from orchjobs.service import job_types
from orchjobs.service.job_types import JOB_TYPES

router = APIRouter(prefix=paths.CUSTOM_JOB_TYPES, tags=["CustomJobType"])


def _body(model: type[JobTypeCreateRequest]) -> dict[str, Any]:
    schema = model.model_json_schema()
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


@router.get("", response_model=list[JobTypeResponse], openapi_extra=listing.documented())
def get_job_types(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Custom job types, filtered by `pq.queryString` (Id, JobTypeName, Description), sorted (JobTypeName
    ascending by default) and paged."""
    return list_response(request, context, JOB_TYPES, job_type_item)


@router.get("/{job_type_id}", response_model=JobTypeResponse)
def get_job_type(job_type_id: str, context: ContextDep, _user: UserDep) -> Response:
    """One custom job type; 404 for an unknown id or a built-in type's, 400 when the id is not a GUID."""
    found = job_types.get_job_type(context.engine, job_type_id=body.path_guid(job_type_id, what="a job type id"))
    return wire.json_response(job_type_item(found))


@router.post("", response_model=JobTypeResponse, openapi_extra=_body(JobTypeCreateRequest))
async def create_job_type(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Create a custom job type; 400 when its name is taken (in any case) or it or a field is invalid."""
    job_type = await job_type_requests.read_create(request)
    row = await run_in_threadpool(job_types.create_job_type, context.engine, job_type)
    return wire.json_response(job_type_item(row))


@router.put("", response_model=JobTypeResponse, openapi_extra=_body(JobTypeUpdateRequest))
async def update_job_type(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Rename a custom job type or set its Description or JobTypeFields (those left out stay as they are), its
    scheduled jobs following a rename with the field values they have; 404 for an unknown Id."""
    job_type_id, job_type = await job_type_requests.read_update(request)
    row = await run_in_threadpool(job_types.update_job_type, context.engine, job_type_id=job_type_id, request=job_type)
    return wire.json_response(job_type_item(row))


@router.delete("/{job_type_id}", status_code=204, response_class=Response)
def delete_job_type(job_type_id: str, context: ContextDep, _user: UserDep) -> Response:
    """Delete a custom job type; 400, naming them, while scheduled jobs use it (history is kept either way)."""
    job_types.delete_job_type(context.engine, job_type_id=body.path_guid(job_type_id, what="a job type id"))
    return Response(status_code=204)


def job_type_item(row: Any) -> dict[str, Any]:
    """One JobTypeResponse, its fields in the order they were declared."""
    return {
        "Id": row.id,
        "JobTypeName": row.name,
        "Description": row.description,
        "JobTypeFields": [_field_item(field) for field in sorted(row.fields, key=lambda field: (field[0], field[1]))],
    }


def _field_item(field: list[Any]) -> dict[str, Any]:
    _position, name, field_type, default_value, required = field
    item: dict[str, Any] = {"Name": name, "Type": field_type}
    if default_value is not None:
        item["DefaultValue"] = default_value
    item["Required"] = bool(required)
    return item
