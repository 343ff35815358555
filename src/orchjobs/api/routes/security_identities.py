"""/KeyfactorAPI/Security/Identities: list, add, look up and delete security identities and say what each may do;
and /KeyfactorAPI/Security/My: what the caller itself holds. Which roles an identity holds is set per role, with
PUT /Security/Roles/{id}/Identities, as in Command.

Reads need /security/read/, changes /security/modify/; /Security/My any permission of the API (api/permissions.py).
"""

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from orchjobs.api import body, listing, paths, wire
from orchjobs.api import request_docs as docs
from orchjobs.api.auth import ContextDep, UserDep
from orchjobs.api.listing import list_response
from orchjobs.api.routes.security_roles import global_items
from orchjobs.api.security_requests import api_version, identity_request, path_id
from orchjobs.api.security_schemas import (
    SecurityIdentityLookupResponse,
    SecurityIdentityPermissionsResponse,
    SecurityIdentityRequest,
    SecurityIdentityResponse,
    SecurityMyResponse,
)
from orchjobs.domain.permissions import expand, v1_name
from orchjobs.errors import InvalidRequestError
from orchjobs.service import security_identities
from orchjobs.service.security_identities import IDENTITIES

router = APIRouter(prefix=paths.SECURITY, tags=["Security"])

_ID = "a security identity id"
_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": SecurityIdentityRequest.model_json_schema()}},
    }
}


@router.get("/Identities", response_model=list[SecurityIdentityResponse], openapi_extra=listing.documented())
def get_identities(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Security identities with their roles, filtered by `pq.queryString` (Id, AccountName, IdentityType), sorted (Id
    ascending by default) and paged."""
    return list_response(request, context, IDENTITIES, identity_item)


@router.post("/Identities", response_model=SecurityIdentityResponse, openapi_extra=_BODY)
async def create_identity(request: Request, context: ContextDep, user: UserDep) -> Response:
    """Add an identity holding no roles (give it some with PUT /Security/Roles/{id}/Identities); 400 when the name
    is taken in any case."""
    account_name, identity_type = identity_request(await body.read_object(request))
    row = await run_in_threadpool(
        security_identities.create_identity,
        context.engine,
        account_name=account_name,
        identity_type=identity_type,
        actor=user.name,
        now=context.clock(),
    )
    return wire.json_response(identity_item(row))


@router.get(
    "/Identities/Lookup",
    response_model=SecurityIdentityLookupResponse,
    openapi_extra=docs.query_parameters(("accountName", docs.STRING, True, "The account name to look up (any case).")),
)
def lookup_identity(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """`{"Valid": true}` when `accountName` is an identity's (in any case) or a user's here."""
    names = [value for key, value in request.query_params.multi_items() if key.lower() == "accountname"]
    if len(names) != 1:
        raise InvalidRequestError("accountName is required, once: the account name to look up.")
    valid = security_identities.is_known_account(context.engine, account_name=names[0])
    return wire.json_response({"Valid": valid})


@router.get("/Identities/{identity_id}", response_model=SecurityIdentityPermissionsResponse)
def get_identity_permissions(identity_id: str, request: Request, context: ContextDep, _user: UserDep) -> Response:
    """What the identity may do: each permission its enabled roles grant, with the roles that grant it
    (`Area:Permission` in v1, the v2 string in v2); 404 for an unknown id."""
    version = api_version(request)
    found = security_identities.identity_permissions(context.engine, identity_id=path_id(identity_id, what=_ID))
    return wire.json_response(
        {
            "Identity": found.account_name,
            "SecuredAreaPermissions": [
                {"Permission": path if version == 2 else v1_name(path), "GrantedByRoles": roles}
                for path, roles in found.granted
            ],
            "CollectionPermissions": [],
            "ContainerPermissions": [],
        }
    )


@router.delete("/Identities/{identity_id}", status_code=204, response_class=Response)
def delete_identity(identity_id: str, context: ContextDep, user: UserDep) -> Response:
    """Delete the identity; 400 when it is the last one that may change security."""
    security_identities.delete_identity(
        context.engine, identity_id=path_id(identity_id, what=_ID), actor=user.name, now=context.clock()
    )
    return Response(status_code=204)


@router.get("/My", response_model=SecurityMyResponse)
def get_my_permissions(user: UserDep) -> Response:
    """The caller's enabled roles and what they grant, read on this very call: Command's Roles and
    GlobalPermissions, and (extensions) AccountName and Permissions as v2 strings."""
    return wire.json_response(
        {
            "Roles": sorted(user.roles),
            "GlobalPermissions": global_items(user.permissions),
            "AccountName": user.name,
            "Permissions": expand(user.permissions),
        }
    )


def identity_item(row: Any) -> dict[str, Any]:
    """One SecurityIdentityResponse, its roles by id."""
    return {
        "Id": row.id,
        "AccountName": row.account_name,
        "IdentityType": row.identity_type,
        "Roles": [
            {"Id": role_id, "Name": name, "Description": description}
            for role_id, name, description in sorted(row.roles, key=lambda role: role[0])
        ],
        "Valid": True,
    }
