"""Security roles and identities: who holds which role, and what the roles grant."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from orchjobs.domain.permissions import FULL_CONTROL, MODIFY_SECURITY, identity_key
from orchjobs.query.fields import SECURITY_IDENTITY_FIELDS, SECURITY_ROLE_FIELDS
from orchjobs.store.dialects import advisory_lock, conflict_insert, json_array_agg
from orchjobs.store.job_types import json_rows_agg
from orchjobs.store.listing import ListResource
from orchjobs.store.rows import Record, chunks
from orchjobs.store.tables import (
    security_identity,
    security_identity_role,
    security_role,
    security_role_permission,
    user_account,
)

# Any of these lets its holder manage security: the prefixes of /security/modify/ a role may hold.
_SECURITY_ADMIN = (FULL_CONTROL, "/security/", MODIFY_SECURITY)


def identity_grants(conn: Connection, *, account_name: str) -> Sequence[Record]:
    """(role, permission) rows of an identity's enabled roles; no rows for an unknown identity or one without."""
    stmt = (
        select(security_role.c.name.label("role"), security_role_permission.c.permission)
        .select_from(security_identity)
        .join(security_identity_role, security_identity_role.c.identity_id == security_identity.c.id)
        .join(security_role, and_(security_role.c.id == security_identity_role.c.role_id, security_role.c.enabled))
        .outerjoin(security_role_permission, security_role_permission.c.role_id == security_role.c.id)
        .where(security_identity.c.account_key == identity_key(account_name))
    )
    return conn.execute(stmt).all()


def role_grants(conn: Connection, *, role_names: Iterable[str]) -> Sequence[Record]:
    """(role, permission) rows of the enabled roles of these names (in any case); unknown names are skipped."""
    keys = sorted({identity_key(name) for name in role_names})
    if not keys:
        return []
    stmt = (
        select(security_role.c.name.label("role"), security_role_permission.c.permission)
        .select_from(security_role)
        .outerjoin(security_role_permission, security_role_permission.c.role_id == security_role.c.id)
        .where(security_role.c.name_key.in_(keys), security_role.c.enabled)
    )
    return conn.execute(stmt).all()


def role_ids(conn: Connection, *, names: Iterable[str]) -> dict[str, int]:
    """Role ids by the case-folded names given, for the roles that exist."""
    keys = sorted({identity_key(name) for name in names})
    stmt = select(security_role.c.name_key, security_role.c.id).where(security_role.c.name_key.in_(keys))
    return {row.name_key: row.id for row in conn.execute(stmt)}


def ensure_identity(conn: Connection, *, account_name: str, identity_type: str, now: datetime) -> int:
    """The id of the identity of this name (in any case), added when there is none."""
    key = identity_key(account_name)
    conn.execute(
        conflict_insert(conn, security_identity)
        .values(account_name=account_name, account_key=key, identity_type=identity_type, created_at=now)
        .on_conflict_do_nothing(index_elements=[security_identity.c.account_key])
    )
    identity_id: int = conn.execute(
        select(security_identity.c.id).where(security_identity.c.account_key == key)
    ).scalar_one()
    return identity_id


def delete_identity_named(conn: Connection, *, account_name: str) -> bool:
    """Remove the identity of this name (in any case) and the roles it held; False when there is none."""
    stmt = (
        security_identity.delete()
        .where(security_identity.c.account_key == identity_key(account_name))
        .returning(security_identity.c.id)
    )
    return conn.execute(stmt).first() is not None


def grant_roles(conn: Connection, *, identity_id: int, role_ids: Iterable[int]) -> None:
    """Give an identity these roles; those it holds already stay as they are."""
    held = set(
        conn.execute(
            select(security_identity_role.c.role_id).where(security_identity_role.c.identity_id == identity_id)
        ).scalars()
    )
    rows = [{"identity_id": identity_id, "role_id": role_id} for role_id in sorted(set(role_ids) - held)]
    if rows:
        conn.execute(insert(security_identity_role), rows)


def security_administrators(conn: Connection) -> int:
    """How many identities hold an enabled role that lets them manage security (and so every role)."""
    stmt = (
        select(func.count(func.distinct(security_identity_role.c.identity_id)))
        .select_from(security_identity_role)
        .join(security_role, and_(security_role.c.id == security_identity_role.c.role_id, security_role.c.enabled))
        .join(security_role_permission, security_role_permission.c.role_id == security_role.c.id)
        .where(or_(*(security_role_permission.c.permission == prefix for prefix in _SECURITY_ADMIN)))
    )
    count: int = conn.execute(stmt).scalar_one()
    return count


# The Security API (/KeyfactorAPI/Security/Roles and /Identities): the two list resources, and the writes.
_SECURITY_WRITERS = 0x4F4A_0003  # the advisory lock key of security writers (PostgreSQL)
# A role's permissions and identities come with it, an identity's roles with it: one statement per page.
_ROLE_PERMISSIONS = (
    select(json_array_agg(security_role_permission.c.permission))
    .where(security_role_permission.c.role_id == security_role.c.id)
    .scalar_subquery()
    .label("permissions")
)
_ROLE_IDENTITIES = (
    select(json_rows_agg(security_identity.c.id, security_identity.c.account_name, security_identity.c.identity_type))
    .select_from(
        security_identity_role.join(security_identity, security_identity.c.id == security_identity_role.c.identity_id)
    )
    .where(security_identity_role.c.role_id == security_role.c.id)
    .scalar_subquery()
    .label("identities")
)
ROLES = ListResource(
    table=security_role,
    fields=SECURITY_ROLE_FIELDS,
    columns=(
        security_role.c.id,
        security_role.c.name,
        security_role.c.description,
        security_role.c.enabled,
        security_role.c.private,
        security_role.c.immutable,
        _ROLE_PERMISSIONS,
        _ROLE_IDENTITIES,
    ),
    default_sort="Name",
)
_IDENTITY_ROLES = (
    select(json_rows_agg(security_role.c.id, security_role.c.name, security_role.c.description))
    .select_from(security_identity_role.join(security_role, security_role.c.id == security_identity_role.c.role_id))
    .where(security_identity_role.c.identity_id == security_identity.c.id)
    .scalar_subquery()
    .label("roles")
)
IDENTITIES = ListResource(
    table=security_identity,
    fields=SECURITY_IDENTITY_FIELDS,
    columns=(
        security_identity.c.id,
        security_identity.c.account_name,
        security_identity.c.identity_type,
        _IDENTITY_ROLES,
    ),
    default_sort="Id",
)


def lock_security(conn: Connection) -> None:
    """Writers of roles and identities take turns until the transaction ends, so that the check that someone may
    still manage security sees every other change (PostgreSQL: an advisory lock; SQLite's writers take turns)."""
    advisory_lock(conn, _SECURITY_WRITERS)


def lock_role(conn: Connection, *, role_id: int) -> Record | None:
    """The role's row, locked until the transaction ends; None when there is none."""
    stmt = select(security_role).where(security_role.c.id == role_id).with_for_update()
    return conn.execute(stmt).first()


def role_named(conn: Connection, *, name: str) -> Record | None:
    """The role of this name in any case (id, name), if there is one."""
    stmt = select(security_role.c.id, security_role.c.name).where(security_role.c.name_key == identity_key(name))
    return conn.execute(stmt).first()


def insert_role(conn: Connection, *, name: str, description: str, enabled: bool, private: bool) -> int:
    stmt = insert(security_role).values(
        name=name, name_key=identity_key(name), description=description, enabled=enabled, private=private
    )
    return int(conn.execute(stmt.returning(security_role.c.id)).scalar_one())


def update_role(conn: Connection, *, role_id: int, values: dict[str, Any]) -> None:
    """Set the given columns (name, description, enabled, private); a new name gets its key."""
    if "name" in values:
        values = {**values, "name_key": identity_key(values["name"])}
    conn.execute(update(security_role).where(security_role.c.id == role_id).values(values))


def delete_role(conn: Connection, *, role_id: int) -> None:
    """Delete a role; its permissions and its holders' hold on it go with it (ON DELETE CASCADE)."""
    conn.execute(delete(security_role).where(security_role.c.id == role_id))


def role_permissions(conn: Connection, *, role_id: int) -> list[str]:
    stmt = select(security_role_permission.c.permission).where(security_role_permission.c.role_id == role_id)
    return sorted(conn.execute(stmt).scalars())


def set_role_permissions(conn: Connection, *, role_id: int, permissions: Iterable[str]) -> None:
    """The role holds exactly these permissions (v2 strings)."""
    conn.execute(delete(security_role_permission).where(security_role_permission.c.role_id == role_id))
    rows = [{"role_id": role_id, "permission": permission} for permission in sorted(set(permissions))]
    if rows:
        conn.execute(insert(security_role_permission), rows)


def set_role_identities(conn: Connection, *, role_id: int, identity_ids: Iterable[int]) -> None:
    """Exactly these identities hold the role."""
    conn.execute(delete(security_identity_role).where(security_identity_role.c.role_id == role_id))
    rows = [{"identity_id": identity_id, "role_id": role_id} for identity_id in sorted(set(identity_ids))]
    if rows:
        conn.execute(insert(security_identity_role), rows)


def role_identities(conn: Connection, *, role_id: int) -> Sequence[Record]:
    """(id, account_name, identity_type) of the identities holding the role, by id."""
    stmt = (
        select(security_identity.c.id, security_identity.c.account_name, security_identity.c.identity_type)
        .select_from(
            security_identity_role.join(
                security_identity, security_identity.c.id == security_identity_role.c.identity_id
            )
        )
        .where(security_identity_role.c.role_id == role_id)
        .order_by(security_identity.c.id)
    )
    return conn.execute(stmt).all()


def existing_identities(conn: Connection, *, identity_ids: Sequence[int]) -> set[int]:
    """Those of the ids that are identities."""
    found: set[int] = set()
    for chunk in chunks(sorted(set(identity_ids))):
        stmt = select(security_identity.c.id).where(security_identity.c.id.in_(chunk))
        found.update(conn.execute(stmt).scalars())
    return found


def ensure_identities(conn: Connection, *, accounts: Sequence[tuple[str, str]], now: datetime) -> list[int]:
    """The ids of the identities of these (account name, identity type) pairs, in their order; those that do not
    exist (by name, in any case) are added with the type given."""
    rows = {
        identity_key(name): {"account_name": name, "account_key": identity_key(name), "identity_type": kind}
        for name, kind in accounts
    }
    if not rows:
        return []
    conn.execute(
        conflict_insert(conn, security_identity).on_conflict_do_nothing(
            index_elements=[security_identity.c.account_key]
        ),
        [{**row, "created_at": now} for row in rows.values()],
    )
    ids: dict[str, int] = {}
    for chunk in chunks(sorted(rows)):
        stmt = select(security_identity.c.account_key, security_identity.c.id).where(
            security_identity.c.account_key.in_(chunk)
        )
        ids.update((row.account_key, row.id) for row in conn.execute(stmt))
    return [ids[identity_key(name)] for name, _ in accounts]


def identity_named(conn: Connection, *, account_name: str) -> Record | None:
    """The identity of this account name in any case (id, account_name), if there is one."""
    stmt = select(security_identity.c.id, security_identity.c.account_name).where(
        security_identity.c.account_key == identity_key(account_name)
    )
    return conn.execute(stmt).first()


def insert_identity(conn: Connection, *, account_name: str, identity_type: str, now: datetime) -> int | None:
    """Add an identity; None (and nothing written) when one of that name, in any case, exists."""
    stmt = (
        conflict_insert(conn, security_identity)
        .values(
            account_name=account_name,
            account_key=identity_key(account_name),
            identity_type=identity_type,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[security_identity.c.account_key])
        .returning(security_identity.c.id)
    )
    found = conn.execute(stmt).first()
    return None if found is None else int(found.id)


def lock_identity(conn: Connection, *, identity_id: int) -> Record | None:
    stmt = select(security_identity).where(security_identity.c.id == identity_id).with_for_update()
    return conn.execute(stmt).first()


def delete_identity(conn: Connection, *, identity_id: int) -> None:
    """Delete an identity and its hold on its roles; a user of that name keeps its password and may do nothing."""
    conn.execute(delete(security_identity).where(security_identity.c.id == identity_id))


def user_exists(conn: Connection, *, username: str) -> bool:
    """Whether a user of exactly this name can sign in with a password here."""
    stmt = select(user_account.c.id).where(user_account.c.username == username)
    return conn.execute(stmt).first() is not None
