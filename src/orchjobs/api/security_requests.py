"""What the Security API's calls carry, read into the service's values: the API version a caller asks for, role
bodies (v1 `Identities` or v2 `Claims`, permissions as strings in either spelling or as `{Area, Permission}`),
identity ids, and ids in the path. Only shapes and types are checked here; the rules (names, bounds, known
permissions) are the domain's."""

import json
from typing import Any

from starlette.requests import Request

from orchjobs.api import body
from orchjobs.domain.numbers import lenient_int
from orchjobs.domain.security_roles import GROUP, MAX_IDENTITIES, MAX_PERMISSIONS, USER
from orchjobs.errors import InvalidRequestError
from orchjobs.service.security_roles import RoleRequest

_INT32_MAX = 2**31 - 1
# Command's v2 claim types that are identities here: an Active Directory user (0) or group (1).
_CLAIM_TYPES = {0: USER, 1: GROUP, "user": USER, "group": GROUP}


def api_version(request: Request) -> int:
    """The `x-keyfactor-api-version` the caller asks for: 1 when absent (Command's default), or 2."""
    raw = request.headers.get("x-keyfactor-api-version", "").strip()
    if raw in ("", "1", "1.0"):
        return 1
    if raw in ("2", "2.0"):
        return 2
    raise InvalidRequestError(f"x-keyfactor-api-version must be 1 or 2, not {raw[:20]!r}.")


def path_id(text: str, *, what: str) -> int:
    """A positive int32 id in the path; a 400 that says what it should have been."""
    number = lenient_int(text)
    if number is None or not 1 <= number <= _INT32_MAX:
        raise InvalidRequestError(f"'{text[:40]}' is not {what}: a positive integer is expected.")
    return number


def role_request(payload: dict[str, Any]) -> tuple[int | None, RoleRequest]:
    """The Id (None when absent) and the role a POST or PUT /Security/Roles body describes. Identities come as v1
    `Identities` ([{AccountName, SID}], what keyfactor-go-client and kfutil send; `Name` and plain strings work too)
    or v2 `Claims` ([{ClaimType 0 user or 1 group, ClaimValue}]); `PermissionSetId` and `EmailAddress` are read and
    not kept."""
    raw_id = payload.get("id")
    role_id = None if raw_id is None else _int32(raw_id, "Id")
    identities: list[tuple[str, str]] | None = None
    if payload.get("identities") is not None:
        identities = [_identity(item) for item in _list(payload, "Identities", MAX_IDENTITIES)]
    if payload.get("claims") is not None:
        identities = [*(identities or []), *(_claim(item) for item in _list(payload, "Claims", MAX_IDENTITIES))]
    permissions = None
    if payload.get("permissions") is not None:
        permissions = [_permission(item) for item in _list(payload, "Permissions", MAX_PERMISSIONS)]
    for ignored in ("PermissionSetId", "EmailAddress"):
        body.optional_string(payload, ignored)
    return role_id, RoleRequest(
        name=body.optional_string(payload, "Name"),
        description=body.optional_string(payload, "Description"),
        enabled=_optional_bool(payload, "Enabled"),
        private=_optional_bool(payload, "Private"),
        permissions=permissions,
        identities=identities,
    )


def identity_ids(value: Any) -> list[int]:
    """PUT /Security/Roles/{id}/Identities: `{"Ids": [...]}` (Command's schema) or the bare array its page shows."""
    if isinstance(value, dict):
        lowered = {str(key).lower(): item for key, item in value.items()}
        value = lowered.get("ids", [])
    if not isinstance(value, list):
        raise InvalidRequestError(
            'The request body must be {"Ids": [identity ids]} or a JSON array of identity ids.', body_unreadable=True
        )
    if len(value) > MAX_IDENTITIES:
        raise InvalidRequestError(f"At most {MAX_IDENTITIES} identities may be given at once.")
    return body.converted_items(value, _positive_int32, label="Ids", kind="identity ids (positive integers)")


def global_permissions(value: Any) -> list[str]:
    """POST and PUT /Security/Roles/{id}/Permissions/Global: an array of `{Area, Permission}` (Command's shape) or of
    permission strings in either spelling."""
    if not isinstance(value, list):
        raise InvalidRequestError(
            "The request body must be a JSON array of {Area, Permission} objects or permission strings.",
            body_unreadable=True,
        )
    if len(value) > MAX_PERMISSIONS:
        raise InvalidRequestError(f"A security role may be given at most {MAX_PERMISSIONS} permissions at once.")
    return [_permission(item) for item in value]


def copy_request(payload: dict[str, Any]) -> tuple[str | None, str | None]:
    """POST /Security/Roles/{id}/Copy: the new role's Name and (optionally) Description."""
    return body.optional_string(payload, "Name"), body.optional_string(payload, "Description")


def identity_request(payload: dict[str, Any]) -> tuple[str | None, str | None]:
    """POST /Security/Identities: AccountName, and IdentityType (User unless Group is asked for)."""
    return body.optional_string(payload, "AccountName"), body.optional_string(payload, "IdentityType")


def _list(payload: dict[str, Any], key: str, bound: int) -> list[Any]:
    value = payload[key.lower()]
    if not isinstance(value, list):
        raise InvalidRequestError(f"{key} must be a JSON array.")
    if len(value) > bound:
        raise InvalidRequestError(f"{key} may hold at most {bound} items.")
    return value


def _identity(item: Any) -> tuple[str, str]:
    """One v1 identity: `{AccountName, SID}` (or `{Name}`), or the account name itself; its type is User unless the
    identity already exists."""
    if isinstance(item, str):
        return item, USER
    if isinstance(item, dict):
        fields = {str(key).lower(): value for key, value in item.items()}
        name = fields.get("accountname", fields.get("name"))
        if isinstance(name, str) and isinstance(fields.get("sid"), str | None):
            return name, USER
    raise InvalidRequestError(f"Each of Identities must be an object with an AccountName string, not {_shown(item)}.")


def _claim(item: Any) -> tuple[str, str]:
    """One v2 claim: ClaimType 0 (a user) or 1 (a group), and ClaimValue, the account name."""
    if isinstance(item, dict):
        fields = {str(key).lower(): value for key, value in item.items()}
        raw_type = fields.get("claimtype")
        key = raw_type.strip().lower() if isinstance(raw_type, str) else raw_type
        kind = _CLAIM_TYPES.get(key) if isinstance(key, int | str) and not isinstance(key, bool) else None
        value = fields.get("claimvalue")
        if kind is not None and isinstance(value, str):
            return value, kind
        if isinstance(value, str):
            raise InvalidRequestError(
                f"ClaimType {_shown(raw_type)} is not one orchjobs holds roles by: use 0 (a user) or 1 (a group)."
            )
    raise InvalidRequestError(f"Each of Claims must be an object with ClaimType and ClaimValue, not {_shown(item)}.")


def _permission(item: Any) -> str:
    """A permission as text: a string as given, or `{Area, Permission}` as `Area:Permission`."""
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        fields = {str(key).lower(): value for key, value in item.items()}
        area, level = fields.get("area"), fields.get("permission")
        if isinstance(area, str) and isinstance(level, str):
            return f"{area[:100]}:{level[:100]}"
    raise InvalidRequestError(
        f"A permission must be a string (/agents/management/read/ or AgentManagement:Read) or an object with Area "
        f"and Permission, not {_shown(item)}."
    )


def _optional_bool(payload: dict[str, Any], key: str) -> bool | None:
    value = payload.get(key.lower())
    if value is not None and not isinstance(value, bool):
        raise InvalidRequestError(f"{key} must be true or false.")
    return value


def _int32(value: object, label: str) -> int:
    number = _positive_int32(value)
    if number is None:
        raise InvalidRequestError(f"{label} must be a positive integer, not {_shown(value)}.")
    return number


def _positive_int32(value: object) -> int | None:
    number = lenient_int(value)
    return number if number is not None and 1 <= number <= _INT32_MAX else None


def _shown(value: object) -> str:
    text = json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."
