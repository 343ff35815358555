"""/KeyfactorAPI/Security/Roles: list, read, create, update, copy and delete security roles, who holds them and what
they grant, in Command's v1 shape (x-keyfactor-api-version absent or 1) or, for the roles themselves, its v2 shape
(x-keyfactor-api-version: 2). The /Permissions routes answer Command's v1 `{Area, Permission}` shape either way.

Reads need /security/read/, changes /security/modify/ (api/permissions.py). Rules: service/security_roles.py.
"""

from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from orchjobs.api import body, listing, paths, wire
from orchjobs.api import request_docs as docs
from orchjobs.api.auth import ContextDep, UserDep
from orchjobs.api.listing import list_response
from orchjobs.api.security_requests import (
    api_version,
    copy_request,
    global_permissions,
    identity_ids,
    path_id,
    role_request,
)
from orchjobs.api.security_schemas import (
    AreaPermissionResponse,
    GlobalPermissionRequest,
    GlobalPermissionResponse,
    RoleIdentitiesRequest,
    RoleIdentityResponse,
    SecurityRoleCopyRequest,
    SecurityRoleRequest,
    SecurityRoleResponse,
    SecurityRoleV2Response,
)
from orchjobs.domain.permissions import expand, v1_name
from orchjobs.domain.security_roles import GROUP, area_and_level
from orchjobs.errors import InvalidRequestError
from orchjobs.service import security_roles
from orchjobs.service.security_roles import ROLES

router = APIRouter(prefix=paths.SECURITY_ROLES, tags=["SecurityRoles"])

_ROLE = SecurityRoleResponse | SecurityRoleV2Response
_ID = "a security role id"


def _body(model: Any) -> dict[str, Any]:
    schema = model if isinstance(model, dict) else model.model_json_schema()
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


_PERMISSIONS_BODY = _body({"type": "array", "items": GlobalPermissionRequest.model_json_schema()})


@router.get(
    "",
    response_model=list[SecurityRoleResponse] | list[SecurityRoleV2Response],
    openapi_extra=docs.combined(listing.documented(), docs.API_VERSION_HEADER),
)
def get_roles(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Security roles, filtered by `pq.queryString` (Id, Name, Description), sorted (Name ascending by default) and
    paged (`pq.*` or unprefixed)."""
    version = api_version(request)
    return list_response(request, context, ROLES, lambda row: role_item(row, version))


@router.get("/{role_id}", response_model=_ROLE)
def get_role(role_id: str, request: Request, context: ContextDep, _user: UserDep) -> Response:
    """One role with its permissions and identities; 404 for an unknown id."""
    version = api_version(request)
    row = security_roles.get_role(context.engine, role_id=path_id(role_id, what=_ID))
    return wire.json_response(role_item(row, version))


@router.post("", response_model=_ROLE, openapi_extra=_body(SecurityRoleRequest))
async def create_role(request: Request, context: ContextDep, user: UserDep) -> Response:
    """Create a role; 400 for a name that is taken (in any case), an unknown permission, or too much of anything.
    The accounts it names that are no identities yet become identities."""
    version = api_version(request)
    _role_id, role = role_request(await body.read_object(request))
    row = await run_in_threadpool(
        security_roles.create_role, context.engine, role, actor=user.name, now=context.clock()
    )
    return wire.json_response(role_item(row, version))


@router.put("", response_model=_ROLE, openapi_extra=_body(SecurityRoleRequest))
async def update_role(request: Request, context: ContextDep, user: UserDep) -> Response:
    """Update the role of `Id`: Name and Description always, Permissions, Identities (or Claims), Enabled and
    Private when given. 400 for a built-in role, and for a change after which nobody could change security."""
    version = api_version(request)
    role_id, role = role_request(await body.read_object(request))
    if role_id is None:
        raise InvalidRequestError("Id is required: the integer id of the security role to update.")
    row = await run_in_threadpool(
        security_roles.update_role,
        context.engine,
        role_id=role_id,
        request=role,
        actor=user.name,
        now=context.clock(),
    )
    return wire.json_response(role_item(row, version))


@router.delete("/{role_id}", status_code=204, response_class=Response)
def delete_role(role_id: str, context: ContextDep, user: UserDep) -> Response:
    """Delete a role that is not built in; 400 when nobody could change security without it."""
    security_roles.delete_role(context.engine, role_id=path_id(role_id, what=_ID), actor=user.name, now=context.clock())
    return Response(status_code=204)


@router.post("/{role_id}/Copy", response_model=_ROLE, openapi_extra=_body(SecurityRoleCopyRequest))
async def copy_role(role_id: str, request: Request, context: ContextDep, user: UserDep) -> Response:
    """A new role named `Name` with the permissions of this one (none of its identities)."""
    version = api_version(request)
    source = path_id(role_id, what=_ID)
    name, description = copy_request(await body.read_object(request))
    row = await run_in_threadpool(
        security_roles.copy_role,
        context.engine,
        role_id=source,
        name=name,
        description=description,
        actor=user.name,
        now=context.clock(),
    )
    return wire.json_response(role_item(row, version))


@router.get("/{role_id}/Identities", response_model=list[RoleIdentityResponse])
def get_role_identities(role_id: str, context: ContextDep, _user: UserDep) -> Response:
    """The identities holding the role, as `{Id, Name}`."""
    rows = security_roles.get_role_identities(context.engine, role_id=path_id(role_id, what=_ID))
    return wire.json_response([{"Id": row.id, "Name": row.account_name} for row in rows])


@router.put(
    "/{role_id}/Identities", response_model=list[RoleIdentityResponse], openapi_extra=_body(RoleIdentitiesRequest)
)
async def set_role_identities(role_id: str, request: Request, context: ContextDep, user: UserDep) -> Response:
    """Exactly these identities (`{"Ids": [...]}` or a bare array) hold the role, built-in roles included; 400 for
    an id that is no identity, and for a change after which nobody could change security."""
    target = path_id(role_id, what=_ID)
    ids = identity_ids(await body.read_json(request))
    rows = await run_in_threadpool(
        security_roles.set_role_identities,
        context.engine,
        role_id=target,
        identity_ids=ids,
        actor=user.name,
        now=context.clock(),
    )
    return wire.json_response([{"Id": row.id, "Name": row.account_name} for row in rows])


@router.get("/{role_id}/Permissions", response_model=list[AreaPermissionResponse])
def get_role_permissions(role_id: str, context: ContextDep, _user: UserDep) -> Response:
    """Every permission the role grants, as `{Type: "Global", Area, Permission}`."""
    held = security_roles.get_role_permissions(context.engine, role_id=path_id(role_id, what=_ID))
    return wire.json_response([{"Type": "Global", **item} for item in global_items(held)])


@router.get("/{role_id}/Permissions/Global", response_model=list[GlobalPermissionResponse])
def get_role_global_permissions(role_id: str, context: ContextDep, _user: UserDep) -> Response:
    """Every permission the role grants, as `{Area, Permission}`."""
    held = security_roles.get_role_permissions(context.engine, role_id=path_id(role_id, what=_ID))
    return wire.json_response(global_items(held))


@router.post(
    "/{role_id}/Permissions/Global", response_model=list[GlobalPermissionResponse], openapi_extra=_PERMISSIONS_BODY
)
async def add_role_global_permissions(role_id: str, request: Request, context: ContextDep, user: UserDep) -> Response:
    """Add permissions to the role; what it then grants."""
    return await _change_permissions(role_id, request, context, user.name, add=True)


@router.put(
    "/{role_id}/Permissions/Global", response_model=list[GlobalPermissionResponse], openapi_extra=_PERMISSIONS_BODY
)
async def set_role_global_permissions(role_id: str, request: Request, context: ContextDep, user: UserDep) -> Response:
    """The role holds exactly these permissions; what it then grants. 400 for a change after which nobody could
    change security."""
    return await _change_permissions(role_id, request, context, user.name, add=False)


async def _change_permissions(
    role_id: str, request: Request, context: ContextDep, actor: str, *, add: bool
) -> Response:
    target = path_id(role_id, what=_ID)
    given = global_permissions(await body.read_json(request))
    held = await run_in_threadpool(
        security_roles.change_role_permissions,
        context.engine,
        role_id=target,
        permissions=given,
        add=add,
        actor=actor,
        now=context.clock(),
    )
    return wire.json_response(global_items(held))


def role_item(row: Any, version: int) -> dict[str, Any]:
    """A role in the shape the caller's API version asks for."""
    identities = sorted(row.identities, key=lambda identity: identity[0])
    if version == 2:
        return {
            "Id": row.id,
            "Name": row.name,
            "Description": row.description,
            "Immutable": bool(row.immutable),
            "Permissions": sorted(row.permissions),
            "Claims": [{"ClaimType": 1 if kind == GROUP else 0, "ClaimValue": name} for _id, name, kind in identities],
        }
    return {
        "Id": row.id,
        "Name": row.name,
        "Description": row.description,
        "Enabled": bool(row.enabled),
        "Immutable": bool(row.immutable),
        "Valid": True,
        "Private": bool(row.private),
        "Identities": [
            {"Id": identity_id, "AccountName": name, "IdentityType": kind} for identity_id, name, kind in identities
        ],
        "Permissions": v1_permissions(row.permissions),
    }


def v1_permissions(held: Iterable[str]) -> list[str]:
    """Every catalogued permission the v2 strings grant, as `Area:Permission` (what v1 callers read and send)."""
    return [v1_name(path) for path in expand(held)]


def global_items(held: Iterable[str]) -> list[dict[str, str]]:
    items = []
    for name in v1_permissions(held):
        area, level = area_and_level(name)
        items.append({"Area": area, "Permission": level})
    return items
