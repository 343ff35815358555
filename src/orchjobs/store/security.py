"""Security roles and identities: who holds which role, and what the roles grant."""

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, and_, func, insert, or_, select

from orchjobs.domain.permissions import FULL_CONTROL, MODIFY_SECURITY, identity_key
from orchjobs.store.dialects import conflict_insert
from orchjobs.store.rows import Record
from orchjobs.store.tables import security_identity, security_identity_role, security_role, security_role_permission

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


def delete_identity(conn: Connection, *, account_name: str) -> bool:
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
