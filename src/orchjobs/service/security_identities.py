"""Security identities (/KeyfactorAPI/Security/Identities): add and delete them, say what each may do and whether an
account name is known; they list through `service.listing` as the resource `IDENTITIES`.

An identity is an account name (a user of `orchjobs user add`, a bearer token's subject, or any name an
administrator adds) holding roles; names are unique whatever their case. Which roles an identity holds is set per
role, with PUT /Security/Roles/{id}/Identities, as in Command. Deleting the last identity that may change security is
refused.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine

from orchjobs.domain.audit import AuditAction, AuditResource
from orchjobs.domain.security_roles import (
    MAX_NAME_LENGTH,
    checked_account_name,
    checked_identity_type,
    granted_by,
)
from orchjobs.errors import InvalidRequestError, NotFoundError
from orchjobs.service import audit
from orchjobs.service.security import check_a_security_administrator_remains
from orchjobs.store import listing
from orchjobs.store import security as store
from orchjobs.store.engine import read_transaction, write_transaction
from orchjobs.store.rows import Record
from orchjobs.store.security import IDENTITIES

__all__ = [
    "IDENTITIES",
    "IdentityPermissions",
    "create_identity",
    "delete_identity",
    "identity_permissions",
    "is_known_account",
]

_IDENTITIES = AuditResource.SECURITY_IDENTITIES


@dataclass(frozen=True)
class IdentityPermissions:
    """An identity's account name, and each permission its enabled roles grant with the roles that grant it."""

    account_name: str
    granted: list[tuple[str, list[str]]]


def create_identity(
    engine: Engine, *, account_name: str | None, identity_type: str | None, actor: str, now: datetime
) -> Record:
    """A new identity holding no roles (a row of IDENTITIES); 400 when one of that name, in any case, exists."""
    name = checked_account_name(account_name)
    kind = checked_identity_type(identity_type)
    with write_transaction(engine) as conn:
        store.lock_security(conn)
        identity_id = store.insert_identity(conn, account_name=name, identity_type=kind, now=now)
        if identity_id is None:
            existing = store.identity_named(conn, account_name=name)
            shown = existing.account_name if existing is not None else name
            raise InvalidRequestError(f"A security identity named {shown} already exists; account names ignore case.")
        details = {"AccountName": name, "IdentityType": kind}
        audit.note(
            conn, AuditAction.CREATE_IDENTITY, _IDENTITIES, actor=actor, at=now, ids=[identity_id], details=details
        )
        return _identity(conn, identity_id)


def delete_identity(engine: Engine, *, identity_id: int, actor: str, now: datetime) -> None:
    """Delete the identity and its hold on its roles (a user of that name keeps its password and may do nothing)."""
    with write_transaction(engine) as conn:
        store.lock_security(conn)
        found = store.lock_identity(conn, identity_id=identity_id)
        if found is None:
            raise _not_found(identity_id)
        store.delete_identity(conn, identity_id=identity_id)
        check_a_security_administrator_remains(conn)
        details = {"AccountName": found.account_name}
        audit.note(
            conn, AuditAction.DELETE_IDENTITY, _IDENTITIES, actor=actor, at=now, ids=[identity_id], details=details
        )


def identity_permissions(engine: Engine, *, identity_id: int) -> IdentityPermissions:
    """What the identity may do: the permissions its enabled roles grant, each with the roles granting it."""
    with read_transaction(engine) as conn:
        identity = _identity(conn, identity_id)
        roles: dict[str, set[str]] = defaultdict(set)
        for row in store.identity_grants(conn, account_name=identity.account_name):
            if row.permission is not None:
                roles[row.role].add(row.permission)
    return IdentityPermissions(account_name=identity.account_name, granted=granted_by(roles))


def is_known_account(engine: Engine, *, account_name: str) -> bool:
    """Whether the name (in any case) is an identity's, or exactly a user's who signs in with a password here."""
    if not account_name.strip():
        raise InvalidRequestError("accountName is required: the account name to look up.")
    if len(account_name) > MAX_NAME_LENGTH:
        raise InvalidRequestError(f"accountName may be at most {MAX_NAME_LENGTH} characters long.")
    with read_transaction(engine) as conn:
        return store.identity_named(conn, account_name=account_name.strip()) is not None or store.user_exists(
            conn, username=account_name
        )


def _identity(conn: Connection, identity_id: int) -> Record:
    row = listing.get_row(conn, IDENTITIES, key=identity_id)
    if row is None:
        raise _not_found(identity_id)
    return row


def _not_found(identity_id: int) -> NotFoundError:
    return NotFoundError(f"Security identity {identity_id} was not found.")
