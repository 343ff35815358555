"""Security roles (/KeyfactorAPI/Security/Roles): create, change, copy and delete them, set who holds them and what
they grant; they list through `service.listing` as the resource `ROLES`.

Names are unique whatever their case. The built-in roles (Administrator, Operator, Auditor, Orchestrator) cannot be
changed or deleted, but who holds them can. Every change is one transaction that security writers take in turns,
and one after which no identity could change security any more (the last administrator removed, the role that
made someone one disabled or stripped) is refused inside it, so nothing of it stays.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from orchjobs.domain.audit import AuditAction, AuditResource
from orchjobs.domain.security_roles import (
    MAX_IDENTITIES,
    USER,
    checked_account_name,
    checked_description,
    checked_role_name,
    parsed_permissions,
)
from orchjobs.errors import InvalidRequestError, NotFoundError
from orchjobs.service import audit
from orchjobs.service.security import check_a_security_administrator_remains
from orchjobs.store import listing
from orchjobs.store import security as store
from orchjobs.store.engine import read_transaction, write_transaction
from orchjobs.store.rows import Record
from orchjobs.store.security import ROLES

__all__ = [
    "ROLES",
    "RoleRequest",
    "change_role_permissions",
    "copy_role",
    "create_role",
    "delete_role",
    "get_role",
    "get_role_identities",
    "get_role_permissions",
    "set_role_identities",
    "update_role",
]

_ROLES = AuditResource.SECURITY_ROLES


@dataclass(frozen=True)
class RoleRequest:
    """What a create or an update asks for, as the caller gave it. On an update, None leaves a value as it is.
    `permissions` in either spelling; `identities` as (account name, identity type) pairs, an identity that does
    not exist being added with that type."""

    name: str | None
    description: str | None
    enabled: bool | None = None
    private: bool | None = None
    permissions: Sequence[str] | None = None
    identities: Sequence[tuple[str, str]] | None = None


def get_role(engine: Engine, *, role_id: int) -> Record:
    """The role (a row of ROLES, with its permissions and identities)."""
    with read_transaction(engine) as conn:
        return _role(conn, role_id)


def create_role(engine: Engine, request: RoleRequest, *, actor: str, now: datetime) -> Record:
    """A new role holding the permissions and identities asked for; enabled unless asked otherwise."""
    name = checked_role_name(request.name)
    description = checked_description(request.description)
    permissions = parsed_permissions(request.permissions or ())
    accounts = _checked_accounts(request.identities or ())
    with write_transaction(engine) as conn:
        store.lock_security(conn)
        _refuse_taken_name(conn, name, role_id=None)
        role_id = store.insert_role(
            conn,
            name=name,
            description=description,
            enabled=True if request.enabled is None else request.enabled,
            private=bool(request.private),
        )
        store.set_role_permissions(conn, role_id=role_id, permissions=permissions)
        identity_ids = store.ensure_identities(conn, accounts=accounts, now=now)
        store.set_role_identities(conn, role_id=role_id, identity_ids=identity_ids)
        audit.note(conn, AuditAction.CREATE_ROLE, _ROLES, actor=actor, at=now, ids=[role_id], details={"Name": name})
        return _role(conn, role_id)


def update_role(engine: Engine, *, role_id: int, request: RoleRequest, actor: str, now: datetime) -> Record:
    """Rename the role and set its description; its permissions, identities, Enabled and Private when given."""
    name = checked_role_name(request.name)
    values: dict[str, Any] = {"name": name, "description": checked_description(request.description)}
    if request.enabled is not None:
        values["enabled"] = request.enabled
    if request.private is not None:
        values["private"] = request.private
    permissions = None if request.permissions is None else parsed_permissions(request.permissions)
    accounts = None if request.identities is None else _checked_accounts(request.identities)
    with write_transaction(engine) as conn:
        store.lock_security(conn)
        _refuse_built_in(_locked_role(conn, role_id), "changed")
        _refuse_taken_name(conn, name, role_id=role_id)
        store.update_role(conn, role_id=role_id, values=values)
        if permissions is not None:
            store.set_role_permissions(conn, role_id=role_id, permissions=permissions)
        if accounts is not None:
            identity_ids = store.ensure_identities(conn, accounts=accounts, now=now)
            store.set_role_identities(conn, role_id=role_id, identity_ids=identity_ids)
        check_a_security_administrator_remains(conn)
        details = {"Name": name, "Permissions": permissions, "Identities": None if accounts is None else len(accounts)}
        audit.note(conn, AuditAction.UPDATE_ROLE, _ROLES, actor=actor, at=now, ids=[role_id], details=details)
        return _role(conn, role_id)


def delete_role(engine: Engine, *, role_id: int, actor: str, now: datetime) -> None:
    """Delete a role that is not built in; its holders lose what it granted."""
    with write_transaction(engine) as conn:
        store.lock_security(conn)
        role = _locked_role(conn, role_id)
        _refuse_built_in(role, "deleted")
        store.delete_role(conn, role_id=role_id)
        check_a_security_administrator_remains(conn)
        details = {"Name": role.name}
        audit.note(conn, AuditAction.DELETE_ROLE, _ROLES, actor=actor, at=now, ids=[role_id], details=details)


def copy_role(
    engine: Engine, *, role_id: int, name: str | None, description: str | None, actor: str, now: datetime
) -> Record:
    """A new role with the permissions of the role `role_id` (built-in ones too) and none of its identities; its
    description is the original's unless one is given."""
    name = checked_role_name(name)
    with write_transaction(engine) as conn:
        store.lock_security(conn)
        source = _locked_role(conn, role_id)
        _refuse_taken_name(conn, name, role_id=None)
        copy_id = store.insert_role(
            conn,
            name=name,
            description=checked_description(source.description if description is None else description),
            enabled=bool(source.enabled),
            private=bool(source.private),
        )
        store.set_role_permissions(conn, role_id=copy_id, permissions=store.role_permissions(conn, role_id=role_id))
        details = {"Name": name, "CopyOf": role_id}
        audit.note(conn, AuditAction.COPY_ROLE, _ROLES, actor=actor, at=now, ids=[copy_id], details=details)
        return _role(conn, copy_id)


def get_role_identities(engine: Engine, *, role_id: int) -> Sequence[Record]:
    """(id, account_name, identity_type) of the role's holders."""
    with read_transaction(engine) as conn:
        _role(conn, role_id)
        return store.role_identities(conn, role_id=role_id)


def set_role_identities(
    engine: Engine, *, role_id: int, identity_ids: Sequence[int], actor: str, now: datetime
) -> Sequence[Record]:
    """Exactly these identities hold the role (built-in roles too); 400 naming the ids that are not identities."""
    if len(identity_ids) > MAX_IDENTITIES:
        raise InvalidRequestError(f"At most {MAX_IDENTITIES} identities may be given at once.")
    with write_transaction(engine) as conn:
        store.lock_security(conn)
        _locked_role(conn, role_id)
        unknown = sorted(set(identity_ids) - store.existing_identities(conn, identity_ids=identity_ids))
        if unknown:
            listed = ", ".join(str(identity_id) for identity_id in unknown[:10])
            raise InvalidRequestError(
                f"There is no security identity with id {listed}; GET /Security/Identities lists them."
            )
        store.set_role_identities(conn, role_id=role_id, identity_ids=identity_ids)
        check_a_security_administrator_remains(conn)
        details = {"IdentityIds": sorted(set(identity_ids))}
        audit.note(conn, AuditAction.SET_ROLE_IDENTITIES, _ROLES, actor=actor, at=now, ids=[role_id], details=details)
        return store.role_identities(conn, role_id=role_id)


def get_role_permissions(engine: Engine, *, role_id: int) -> list[str]:
    """The v2 strings the role holds."""
    with read_transaction(engine) as conn:
        _role(conn, role_id)
        return store.role_permissions(conn, role_id=role_id)


def change_role_permissions(
    engine: Engine, *, role_id: int, permissions: Sequence[str], add: bool, actor: str, now: datetime
) -> list[str]:
    """Add the permissions (either spelling) to the role's, or (add=False) make them its only ones; the v2 strings
    it then holds."""
    parsed = parsed_permissions(permissions)
    with write_transaction(engine) as conn:
        store.lock_security(conn)
        _refuse_built_in(_locked_role(conn, role_id), "changed")
        held = store.role_permissions(conn, role_id=role_id) if add else []
        store.set_role_permissions(conn, role_id=role_id, permissions=[*held, *parsed])
        check_a_security_administrator_remains(conn)
        action = AuditAction.ADD_ROLE_PERMISSIONS if add else AuditAction.SET_ROLE_PERMISSIONS
        details = {"Permissions": list(parsed)}
        audit.note(conn, action, _ROLES, actor=actor, at=now, ids=[role_id], details=details)
        return store.role_permissions(conn, role_id=role_id)


def _checked_accounts(accounts: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (account name, type) pairs as stored, each name once (in any case)."""
    if len(accounts) > MAX_IDENTITIES:
        raise InvalidRequestError(f"A security role may be given at most {MAX_IDENTITIES} identities at once.")
    checked: dict[str, tuple[str, str]] = {}
    for name, kind in accounts:
        account_name = checked_account_name(name, label="Identities' AccountName")
        checked.setdefault(account_name.casefold(), (account_name, kind or USER))
    return list(checked.values())


def _locked_role(conn: Connection, role_id: int) -> Record:
    role = store.lock_role(conn, role_id=role_id)
    if role is None:
        raise _not_found(role_id)
    return role


def _refuse_built_in(role: Record, change: str) -> None:
    if role.immutable:
        raise InvalidRequestError(
            f"Security role {role.name} is built in and cannot be {change}; who holds it can be changed with "
            f"PUT /Security/Roles/{role.id}/Identities, and POST /Security/Roles/{role.id}/Copy makes a role to change."
        )


def _refuse_taken_name(conn: Connection, name: str, *, role_id: int | None) -> None:
    other = store.role_named(conn, name=name)
    if other is not None and other.id != role_id:
        raise InvalidRequestError(f"A security role named {other.name} already exists; role names ignore case.")


def _role(conn: Connection, role_id: int) -> Record:
    row = listing.get_row(conn, ROLES, key=role_id)
    if row is None:
        raise _not_found(role_id)
    return row


def _not_found(role_id: int) -> NotFoundError:
    return NotFoundError(f"Security role {role_id} was not found.")
