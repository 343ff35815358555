"""/KeyfactorAPI/CertificateStoreTypes: list, read (by id, or by Name or ShortName), create, update and delete
certificate store types. Enumerations are answered as names (`"Type": "Bool"`, `"PrivateKeyAllowed": "Optional"`),
which is what Keyfactor's Go client and kfutil decode.

Reads need /certificate_stores/read/, changes /certificate_stores/modify/ (api/permissions.py).
"""

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from orchjobs.api import body, listing, paths, store_type_requests, wire
from orchjobs.api.auth import ContextDep, UserDep
from orchjobs.api.listing import list_response
from orchjobs.api.schemas import (
    CertificateStoreTypeCreationRequest,
    CertificateStoreTypeResponse,
    CertificateStoreTypeUpdateRequest,
)
from orchjobs.domain.numbers import lenient_int
from orchjobs.domain.store_types import EntryParameter, StoreType, wire_name
from orchjobs.errors import InvalidRequestError
from orchjobs.service import store_types
from orchjobs.service.store_types import STORE_TYPES, store_type_from_row

router = APIRouter(prefix=paths.STORE_TYPES, tags=["CertificateStoreType"])

# Command's v10 names its list parameters cstquery.*; pq.* and the unprefixed names are accepted as everywhere.
_PREFIXES = ("cstquery.", "pq.")
_IDS = "a JSON array of store type ids, e.g. [101, 102]"


def _body(model: type[CertificateStoreTypeCreationRequest]) -> dict[str, Any]:
    schema = model.model_json_schema()
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


@router.get("", response_model=list[CertificateStoreTypeResponse], openapi_extra=listing.documented(prefixes=_PREFIXES))
def get_store_types(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Store types, filtered by `cstquery.queryString` (StoreType, Name, ShortName, Capability, InventoryEndpoint),
    sorted (Name ascending by default) and paged."""
    return list_response(request, context, STORE_TYPES, _row_item, prefixes=_PREFIXES)


@router.get("/Name/{name}", response_model=list[CertificateStoreTypeResponse])
def get_store_types_by_name(name: str, context: ContextDep, _user: UserDep) -> Response:
    """The store types whose Name or ShortName is `name`, in any case (an array, as in Command); 404 for none."""
    found = store_types.get_store_types_by_name(context.engine, name)
    return wire.json_response([store_type_item(item) for item in found])


@router.get("/{store_type_id}", response_model=CertificateStoreTypeResponse)
def get_store_type(store_type_id: str, context: ContextDep, _user: UserDep) -> Response:
    """One store type; 404 for an unknown id, 400 when the id is not an integer."""
    found = store_types.get_store_type(context.engine, _path_id(store_type_id))
    return wire.json_response(store_type_item(found))


@router.post("", response_model=CertificateStoreTypeResponse, openapi_extra=_body(CertificateStoreTypeCreationRequest))
async def create_store_type(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Create a custom store type (the next id from 100 up); 400 when its Name, ShortName or Capability is taken (in
    any case) or it is not valid."""
    store_type = await store_type_requests.read_create(request)
    created = await run_in_threadpool(store_types.create_store_type, context.engine, store_type)
    return wire.json_response(store_type_item(created))


@router.put("", response_model=CertificateStoreTypeResponse, openapi_extra=_body(CertificateStoreTypeUpdateRequest))
async def update_store_type(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Replace what the custom store type `StoreType` declares; 404 for an unknown id, 400 for a built-in one."""
    store_type_id, store_type = await store_type_requests.read_update(request)
    updated = await run_in_threadpool(store_types.update_store_type, context.engine, store_type_id, store_type)
    return wire.json_response(store_type_item(updated))


@router.delete("/{store_type_id}", status_code=204, response_class=Response)
def delete_store_type(store_type_id: str, context: ContextDep, _user: UserDep) -> Response:
    """Delete a custom store type; 404 for an unknown id, 400 for a built-in one or one that stores or containers
    use (naming how many, and a few of them)."""
    store_types.delete_store_type(context.engine, _path_id(store_type_id))
    return Response(status_code=204)


@router.delete(
    "",
    status_code=204,
    response_class=Response,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "array", "items": {"type": "integer"}}}},
        }
    },
)
async def delete_store_types(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Delete custom store types (a JSON array of ids), all or nothing: 400 with one FailedOperation per id that is
    unknown, built in or in use."""
    raw = await body.read_array(request, expected=_IDS)
    ids = body.converted_items(raw, _id32, label="The store type ids", kind="integers")
    await run_in_threadpool(store_types.delete_store_types, context.engine, ids, max_ids=context.settings.max_bulk_ids)
    return Response(status_code=204)


def _id32(value: object) -> int | None:
    number = lenient_int(value)
    return number if number is not None and -(2**31) <= number < 2**31 else None


def _path_id(text: str) -> int:
    number = _id32(text)
    if number is None:
        raise InvalidRequestError(f"'{text}' is not a store type id: an integer is expected.")
    return number


def _row_item(row: Any) -> dict[str, Any]:
    return store_type_item(store_type_from_row(row))


def store_type_item(store_type: StoreType) -> dict[str, Any]:
    """One CertificateStoreTypeResponse."""
    type_id = store_type.id
    supported = store_type.supported
    return {
        "Name": store_type.name,
        "ShortName": store_type.short_name,
        "Capability": store_type.capability,
        "StoreType": type_id,
        "ImportType": store_type.import_type,
        "LocalStore": store_type.local_store,
        "SupportedOperations": {
            "Add": supported.add,
            "Create": supported.create,
            "Discovery": supported.discovery,
            "Enrollment": supported.enrollment,
            "Remove": supported.remove,
        },
        "Properties": [
            _without_none(
                {
                    "StoreTypeId": type_id,
                    "Name": item.name,
                    "DisplayName": item.display_name,
                    "Type": wire_name(item.type),
                    "DependsOn": item.depends_on,
                    "DefaultValue": item.default_value,
                    "Required": item.required,
                }
            )
            for item in store_type.properties
        ],
        "EntryParameters": [entry_parameter_item(type_id, item) for item in store_type.entry_parameters],
        "PasswordOptions": {
            "EntrySupported": store_type.password.entry_supported,
            "StoreRequired": store_type.password.store_required,
            "Style": wire_name(store_type.password.style),
        },
        "StorePathType": store_type.store_path_type,
        "StorePathValue": store_type.store_path_value,
        "PrivateKeyAllowed": wire_name(store_type.private_key_allowed),
        "JobProperties": list(store_type.job_properties),
        "ServerRequired": store_type.server_required,
        "PowerShell": store_type.power_shell,
        "BlueprintAllowed": store_type.blueprint_allowed,
        "CustomAliasAllowed": wire_name(store_type.custom_alias_allowed),
        "ServerRegistration": store_type.server_registration,
        "InventoryEndpoint": store_type.inventory_endpoint,
        "InventoryJobType": store_type.job_type_ids.inventory,
        "ManagementJobType": store_type.job_type_ids.management,
        "DiscoveryJobType": store_type.job_type_ids.discovery,
        "EnrollmentJobType": store_type.job_type_ids.enrollment,
    }


def entry_parameter_item(type_id: int, item: EntryParameter) -> dict[str, Any]:
    """One entry parameter as store types (and stores' ReenrollmentStatus) answer it."""
    return _without_none(
        {
            "StoreTypeId": type_id,
            "Name": item.name,
            "DisplayName": item.display_name,
            "Type": wire_name(item.type),
            "RequiredWhen": {
                "HasPrivateKey": item.required_when.has_private_key,
                "OnAdd": item.required_when.on_add,
                "OnRemove": item.required_when.on_remove,
                "OnReenrollment": item.required_when.on_reenrollment,
            },
            "DependsOn": item.depends_on,
            "DefaultValue": item.default_value,
            "Options": item.options,
        }
    )


def _without_none(item: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in item.items() if value is not None}
