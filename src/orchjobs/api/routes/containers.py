"""/KeyfactorAPI/CertificateStoreContainers: list, read, create, update and delete certificate store containers.

Reads need /certificate_stores/read/, changes /certificate_stores/modify/ (api/permissions.py).
"""

import json
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from orchjobs.api import body, listing, paths, wire
from orchjobs.api.auth import ContextDep, UserDep
from orchjobs.api.listing import list_response
from orchjobs.api.schemas import ContainerListResponse, ContainerRequest, ContainerResponse
from orchjobs.domain.numbers import lenient_int
from orchjobs.domain.schedules import ScheduleError, schedule_type
from orchjobs.domain.store_types import answered_properties
from orchjobs.errors import InvalidRequestError
from orchjobs.service import containers
from orchjobs.service.containers import CONTAINERS, ContainerDetail

router = APIRouter(prefix=paths.CONTAINERS, tags=["CertificateStoreContainer"])

_INT32_MAX = 2**31 - 1
_SCHEMA = ContainerRequest.model_json_schema()
_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": _SCHEMA}}}}


@router.get("", response_model=list[ContainerListResponse], openapi_extra=listing.documented())
def get_containers(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Containers, filtered by `pq.queryString` (Id, Name, CertStoreType), sorted (Name ascending by default) and
    paged (`pq.*` or unprefixed)."""
    return list_response(request, context, CONTAINERS, container_list_item)


@router.get("/{container_id}", response_model=ContainerResponse)
def get_container(container_id: str, context: ContextDep, _user: UserDep) -> Response:
    """One container with its stores; 404 for an unknown id, 400 when the id is not an integer."""
    found = containers.get_container(context.engine, container_id=_path_id(container_id))
    return wire.json_response(container_item(found))


@router.post("", response_model=ContainerResponse, openapi_extra=_BODY)
async def create_container(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Create a container; 400 when its name is taken (in any case), its CertStoreType is not a store type or its
    Schedule is not valid."""
    _container_id, container = _container(await body.read_object(request))
    detail = await run_in_threadpool(containers.create_container, context.engine, container, now=context.clock())
    return wire.json_response(container_item(detail))


@router.put("", response_model=ContainerResponse, openapi_extra=_BODY)
async def update_container(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Update the container of `Id` (what the body leaves out stays as it is); with OverwriteSchedules its stores
    get its schedule as inventory schedule. 404 for an unknown Id; 400 for a CertStoreType its stores are not of."""
    container_id, container = _container(await body.read_object(request))
    if container_id is None:
        raise InvalidRequestError("Id is required: the integer id of the container to update.")
    detail = await run_in_threadpool(
        containers.update_container, context.engine, container_id=container_id, request=container, now=context.clock()
    )
    return wire.json_response(container_item(detail))


@router.delete("/{container_id}", status_code=204, response_class=Response)
def delete_container(container_id: str, context: ContextDep, _user: UserDep) -> Response:
    """Delete an empty container; 400, saying how many, while stores are in it."""
    containers.delete_container(context.engine, container_id=_path_id(container_id))
    return Response(status_code=204)


def container_list_item(row: Any) -> dict[str, Any]:
    """One CertificateStoreContainerListResponse: Schedule in its compact form, a string (keyfactor-go-client
    decodes it into one)."""
    item: dict[str, Any] = {"Id": row.id, "Name": row.name, "OverwriteSchedules": bool(row.overwrite_schedules)}
    compact = _compact(row.schedule)
    if compact is not None:
        item["Schedule"] = compact
    item["CertStoreType"] = row.store_type_id
    item["StoreCount"] = row.store_count
    return item


def container_item(detail: ContainerDetail) -> dict[str, Any]:
    """One CertificateStoreContainerResponse, its stores in the CertificateStore shape."""
    row = detail.container
    item: dict[str, Any] = {"Id": row.id, "Name": row.name, "OverwriteSchedules": bool(row.overwrite_schedules)}
    if row.schedule:
        item["Schedule"] = wire.schedule_fragment(row.schedule)
    item["CertStoreType"] = row.store_type_id
    item["CertificateStores"] = [_store_item(store, container_name=row.name) for store in detail.stores]
    return item


def _store_item(store: Any, *, container_name: str) -> dict[str, Any]:
    item: dict[str, Any] = {"Id": store.id}
    if store.display_name:
        item["DisplayName"] = store.display_name
    item.update(
        {
            "ContainerId": store.container_id,
            "ClientMachine": store.client_machine,
            "Storepath": store.store_path,
            "CertStoreType": store.store_type_id,
            "Approved": bool(store.approved),
            "CreateIfMissing": bool(store.create_if_missing),
            "Properties": answered_properties(store.properties, store.type_properties),
            "AgentId": store.agent_id,
            "AgentAssigned": True,
            "ContainerName": container_name,
        }
    )
    return item


def _compact(schedule: str | None) -> str | None:
    if not schedule:
        return None
    try:
        return schedule_type(json.loads(schedule))
    except (ValueError, ScheduleError):
        return None


def _container(payload: dict[str, Any]) -> tuple[int | None, containers.ContainerRequest]:
    """The Id (None when absent) and what the body asks for; 400 for values of the wrong type."""
    raw_id = payload.get("id")
    container_id = None if raw_id is None else _int32(raw_id, "Id")
    raw_type = payload.get("certstoretype")
    overwrite = payload.get("overwriteschedules")
    if overwrite is not None and not isinstance(overwrite, bool):
        raise InvalidRequestError("OverwriteSchedules must be true or false.")
    options: dict[str, Any] = {}
    if "schedule" in payload:
        options["schedule"] = payload["schedule"]
    return container_id, containers.ContainerRequest(
        name=body.optional_string(payload, "Name"),
        store_type_id=None if raw_type is None else _int32(raw_type, "CertStoreType"),
        overwrite_schedules=overwrite,
        **options,
    )


def _int32(value: object, label: str) -> int:
    number = lenient_int(value)
    if number is None or not -_INT32_MAX - 1 <= number <= _INT32_MAX:
        raise InvalidRequestError(f"{label} must be an integer, not {json.dumps(value)}.")
    return number


def _path_id(text: str) -> int:
    number = lenient_int(text)
    if number is None or not -_INT32_MAX - 1 <= number <= _INT32_MAX:
        raise InvalidRequestError(f"'{text}' is not a certificate store container id: an integer is expected.")
    return number
