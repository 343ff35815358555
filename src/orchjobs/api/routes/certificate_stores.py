"""/KeyfactorAPI/CertificateStores: stores, their jobs (inventory schedules, certificates added and removed,
reenrollment, discovery), approval of discovered stores, passwords, containers and servers.

Reads need /certificate_stores/read/, changes /certificate_stores/modify/, jobs /certificate_stores/schedule/
(api/permissions.py).
"""

import uuid
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from orchjobs.api import body, listing, paths, store_requests, wire
from orchjobs.api import request_docs as docs
from orchjobs.api.auth import ContextDep, UserDep
from orchjobs.api.listing import list_response
from orchjobs.api.routes.store_types import entry_parameter_item
from orchjobs.api.schemas import CertificateStoreResponse, CertificateStoreServerResponse
from orchjobs.domain.numbers import lenient_int
from orchjobs.domain.store_types import answered_properties, entry_parameters_from_json
from orchjobs.errors import InvalidRequestError
from orchjobs.service import store_jobs, stores
from orchjobs.service.stores import CERTIFICATE_STORES, SERVERS

router = APIRouter(prefix=paths.CERTIFICATE_STORES, tags=["CertificateStore"])
# Command's v10 name for the list parameters of stores, beside pq.* and the unprefixed v11 names.
LIST_PREFIXES = ("pq.", "certificatestorequery.")


@router.get("", response_model=list[CertificateStoreResponse], openapi_extra=listing.documented(prefixes=LIST_PREFIXES))
def get_stores(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Certificate stores, filtered by `certificateStoreQuery.queryString` (or `pq.`, or unprefixed), sorted
    (ClientMachine ascending by default) and paged."""
    return list_response(request, context, CERTIFICATE_STORES, store_item, prefixes=LIST_PREFIXES)


@router.get("/Server", response_model=list[CertificateStoreServerResponse], openapi_extra=listing.documented())
def get_servers(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Servers that stores of server-bound types reach (their credentials are never answered)."""
    return list_response(request, context, SERVERS, server_item)


@router.post("/Server", response_model=CertificateStoreServerResponse, openapi_extra=docs.json_body(docs.SERVER_CREATE))
async def create_server(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """A new server; 400 when one of that type and name exists."""
    values = _server_values(await body.read_object(request), create=True)
    row = await run_in_threadpool(stores.create_server, context.engine, values=values)
    return wire.json_response(server_item(row))


@router.put("/Server", response_model=CertificateStoreServerResponse, openapi_extra=docs.json_body(docs.SERVER_UPDATE))
async def update_server(request: Request, context: ContextDep, _user: UserDep) -> Response:
    payload = await body.read_object(request)
    server_id = store_requests.integer(payload, "id", required=True)
    assert server_id is not None
    values = _server_values(payload, create=False)
    row = await run_in_threadpool(stores.update_server, context.engine, server_id=server_id, values=values)
    return wire.json_response(server_item(row))


@router.get("/{store_id}", response_model=CertificateStoreResponse)
def get_store(store_id: str, context: ContextDep, _user: UserDep) -> Response:
    """One certificate store; 404 for an unknown id, 400 when the id is not a GUID."""
    found = stores.get_store(context.engine, store_id=body.path_guid(store_id, what="a certificate store id"))
    return wire.json_response(store_item(found))


@router.post("", response_model=CertificateStoreResponse, openapi_extra=docs.json_body(docs.STORE_CREATE))
async def create_store(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Create a store on an approved orchestrator, its Properties checked against its type's, with its inventory
    schedule when InventorySchedule is given."""
    values = store_requests.store(await body.read_object(request), update=False)
    row = await run_in_threadpool(stores.create_store, context.engine, values, now=context.clock())
    return wire.json_response(store_item(row))


@router.put("", response_model=CertificateStoreResponse, openapi_extra=docs.json_body(docs.STORE_UPDATE))
async def update_store(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Change a store (by Id): orchestrator, container, Properties, CreateIfMissing, password, inventory schedule."""
    values = store_requests.store(await body.read_object(request), update=True)
    row = await run_in_threadpool(stores.update_store, context.engine, values, now=context.clock())
    return wire.json_response(store_item(row))


@router.delete("/{store_id}", status_code=204, response_class=Response)
def delete_store(store_id: str, context: ContextDep, _user: UserDep) -> Response:
    """Delete a store, its inventory and its scheduled jobs (a run in flight is closed as failed)."""
    found = body.path_guid(store_id, what="a certificate store id")
    stores.delete_stores(context.engine, store_ids=[found], now=context.clock(), by_path=True)
    return Response(status_code=204)


@router.delete("", status_code=204, response_class=Response, openapi_extra=docs.json_body(docs.STORE_IDS))
async def delete_stores(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Delete the stores a JSON array of ids names, all or none."""
    items = await body.read_array(request, expected="a JSON array of certificate store ids")
    ids = body.guid_items(items, label="The store ids")
    await run_in_threadpool(stores.delete_stores, context.engine, store_ids=ids, now=context.clock())
    return Response(status_code=204)


@router.put("/Password", status_code=204, response_class=Response, openapi_extra=docs.json_body(docs.STORE_PASSWORD))
async def set_password(request: Request, context: ContextDep, _user: UserDep) -> Response:
    payload = await body.read_object(request)
    store_id = store_requests.guid(payload, "certstoreid", required=True)
    if payload.get("newpassword") is None:
        raise InvalidRequestError("NewPassword is required.")
    password = store_requests.secret(payload.get("newpassword"), "NewPassword") or ""
    await run_in_threadpool(stores.set_password, context.engine, store_id=store_id, password=password)
    return Response(status_code=204)


@router.put(
    "/AssignContainer",
    response_model=list[CertificateStoreResponse],
    openapi_extra=docs.json_body(docs.ASSIGN_CONTAINER),
)
async def assign_container(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Put stores (KeystoreIds) in a container: CertStoreContainerId, or a new one named NewContainerName."""
    payload = await body.read_object(request)
    ids = body.optional_guid_list(payload, "KeystoreIds")
    if ids is None:
        raise InvalidRequestError("KeystoreIds is required.")
    rows = await run_in_threadpool(
        stores.assign_container,
        context.engine,
        store_ids=ids,
        container_id=store_requests.integer(payload, "certstorecontainerid"),
        new_name=store_requests.text(payload, "newcontainername"),
        new_type=store_requests.integer(payload, "newcontainertype"),
        now=context.clock(),
    )
    return wire.json_response([store_item(row) for row in rows])


@router.post("/Approve", status_code=204, response_class=Response, openapi_extra=docs.json_body(docs.STORE_APPROVALS))
async def approve_stores(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Approve discovered stores: a JSON array of {Id, ContainerId, CertStoreType, Properties, Password}."""
    items = await body.read_array(request, expected="a JSON array of stores to approve")
    await run_in_threadpool(
        stores.approve_stores, context.engine, approvals=store_requests.approvals(items), now=context.clock()
    )
    return Response(status_code=204)


@router.post(
    "/Schedule", status_code=204, response_class=Response, openapi_extra=docs.json_body(docs.SCHEDULE_INVENTORY)
)
async def schedule_inventory(request: Request, context: ContextDep, user: UserDep) -> Response:
    """Set the inventory schedule of StoreIds (`{"Off": true}` removes it)."""
    payload = await body.read_object(request)
    ids = body.optional_guid_list(payload, "StoreIds")
    if ids is None:
        raise InvalidRequestError("StoreIds is required.")
    await run_in_threadpool(
        store_jobs.schedule_inventory,
        context.engine,
        store_ids=ids,
        schedule=payload.get("schedule"),
        actor=user.name,
        now=context.clock(),
    )
    return Response(status_code=204)


@router.post("/Certificates/Add", response_model=list[uuid.UUID], openapi_extra=docs.json_body(docs.ADD_CERTIFICATE))
async def add_certificate(request: Request, context: ContextDep, user: UserDep) -> Response:
    """Schedule a Management add of a certificate (by CertificateId) to stores; the new jobs' ids."""
    certificate_id, entries, schedule = store_requests.add_entries(await body.read_object(request))
    job_ids = await run_in_threadpool(
        store_jobs.add_certificate,
        context.engine,
        certificate_id=certificate_id,
        entries=entries,
        schedule=schedule,
        actor=user.name,
        now=context.clock(),
    )
    return wire.json_response(job_ids)


@router.post(
    "/Certificates/Remove", response_model=list[uuid.UUID], openapi_extra=docs.json_body(docs.REMOVE_CERTIFICATE)
)
async def remove_certificate(request: Request, context: ContextDep, user: UserDep) -> Response:
    """Schedule a Management remove of aliases from stores; the new jobs' ids."""
    entries, schedule = store_requests.remove_entries(await body.read_object(request))
    job_ids = await run_in_threadpool(
        store_jobs.remove_certificate,
        context.engine,
        entries=entries,
        schedule=schedule,
        actor=user.name,
        now=context.clock(),
    )
    return wire.json_response(job_ids)


@router.put("/DiscoveryJob", status_code=204, response_class=Response, openapi_extra=docs.json_body(docs.DISCOVERY))
async def schedule_discovery(request: Request, context: ContextDep, user: UserDep) -> Response:
    """Schedule a Discovery of stores of a type (Type) on an orchestrator (AgentId or ClientMachine)."""
    discovery = store_requests.discovery(await body.read_object(request))
    await run_in_threadpool(
        store_jobs.schedule_discovery, context.engine, discovery, actor=user.name, now=context.clock()
    )
    return Response(status_code=204)


@router.post("/Reenrollment", status_code=204, response_class=Response, openapi_extra=docs.json_body(docs.REENROLLMENT))
async def schedule_reenrollment(request: Request, context: ContextDep, user: UserDep) -> Response:
    """Schedule a Reenrollment of a store (KeystoreId) with a new key and SubjectName."""
    reenrollment = store_requests.reenrollment(await body.read_object(request))
    await run_in_threadpool(
        store_jobs.schedule_reenrollment, context.engine, reenrollment, actor=user.name, now=context.clock()
    )
    return Response(status_code=204)


def store_item(row: Any) -> dict[str, Any]:
    """One CertificateStore, absent values omitted; secret properties are never answered."""
    item: dict[str, Any] = {"Id": row.id}
    if row.display_name:
        item["DisplayName"] = row.display_name
    if row.container_id is not None:
        item["ContainerId"] = row.container_id
    item["ClientMachine"] = row.client_machine
    item["Storepath"] = row.store_path
    if row.inventory_job_id is not None:
        item["CertStoreInventoryJobId"] = row.inventory_job_id
    item["CertStoreType"] = row.store_type_id
    item["Approved"] = bool(row.approved)
    item["CreateIfMissing"] = bool(row.create_if_missing)
    item["Properties"] = answered_properties(row.properties, row.type_properties)
    item["AgentId"] = row.agent_id
    item["AgentAssigned"] = True
    if row.container_name is not None:
        item["ContainerName"] = row.container_name
    if row.inventory_schedule:
        item["InventorySchedule"] = wire.schedule_fragment(row.inventory_schedule)
    item["ReenrollmentStatus"] = {
        "Data": bool(row.supports_enrollment),
        "AgentId": row.agent_id,
        "Message": "",
        "JobProperties": row.job_properties,
        "CustomAliasAllowed": row.custom_alias_allowed,
        "EntryParameters": [
            entry_parameter_item(row.store_type_id, item) for item in entry_parameters_from_json(row.entry_parameters)
        ],
    }
    item["SetNewPasswordAllowed"] = bool(row.password_store_required)
    return item


def server_item(row: Any) -> dict[str, Any]:
    return {"Id": row.id, "UseSSL": bool(row.use_ssl), "ServerType": row.server_type, "Name": row.name}


def _server_values(payload: dict[str, Any], *, create: bool) -> dict[str, Any]:
    name = store_requests.text(payload, "name")
    if not name or not name.strip():
        raise InvalidRequestError("Name is required.")
    values: dict[str, Any] = {
        "name": name.strip()[:255],
        "username": store_requests.secret(payload.get("username"), "Username") or "",
        "password": store_requests.secret(payload.get("password"), "Password") or "",
        "use_ssl": store_requests.flag(payload, "usessl") is not False,
        "container_id": store_requests.integer(payload, "container"),
    }
    if create:
        server_type = lenient_int(payload.get("servertype"))
        if server_type is None:
            raise InvalidRequestError("ServerType is required: the store type the server is for.")
        values["server_type"] = server_type
    return values
