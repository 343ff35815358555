"""User accounts: the credentials Basic auth is checked against, and what their roles grant."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, and_, select

from orchjobs.domain.permissions import identity_key
from orchjobs.store.dialects import conflict_insert
from orchjobs.store.rows import Record
from orchjobs.store.tables import (
    security_identity,
    security_identity_role,
    security_role,
    security_role_permission,
    user_account,
)


def get_user(conn: Connection, *, username: str) -> Record | None:
    stmt = select(user_account).where(user_account.c.username == username)
    return conn.execute(stmt).first()


def user_grants(conn: Connection, *, username: str) -> Sequence[Record]:
    """(username, password_hash, role, permission) rows of a user: one per permission of each enabled role its
    identity holds, one row with role and permission None when it holds none; no rows for an unknown user. One
    statement, read on every Basic-authenticated call so that a changed password or role counts at once."""
    stmt = (
        select(
            user_account.c.username,
            user_account.c.password_hash,
            security_role.c.name.label("role"),
            security_role_permission.c.permission,
        )
        .select_from(user_account)
        # The user's identity is the one of its name in any case (identity_key); the key is computed here, not by
        # SQL's lower(), which SQLite applies to ASCII only.
        .outerjoin(security_identity, security_identity.c.account_key == identity_key(username))
        .outerjoin(security_identity_role, security_identity_role.c.identity_id == security_identity.c.id)
        .outerjoin(security_role, and_(security_role.c.id == security_identity_role.c.role_id, security_role.c.enabled))
        .outerjoin(security_role_permission, security_role_permission.c.role_id == security_role.c.id)
        .where(user_account.c.username == username)
    )
    return conn.execute(stmt).all()


def insert_user(conn: Connection, *, username: str, password_hash: str, created_at: datetime) -> bool:
    """Add a user; False (and nothing written) when one of that name exists."""
    stmt = (
        conflict_insert(conn, user_account)
        .values(username=username, password_hash=password_hash, created_at=created_at)
        .on_conflict_do_nothing(index_elements=[user_account.c.username])
        .returning(user_account.c.id)
    )
    # RETURNING rather than rowcount: through SQLAlchemy and psycopg, rowcount was 1 even when the conflict skipped it.
    return conn.execute(stmt).first() is not None


def set_password_hash(conn: Connection, *, username: str, password_hash: str) -> bool:
    """Replace a user's password hash; False when there is no such user."""
    stmt = (
        user_account.update()
        .where(user_account.c.username == username)
        .values(password_hash=password_hash)
        .returning(user_account.c.id)
    )
    return conn.execute(stmt).first() is not None


def delete_user(conn: Connection, *, username: str) -> bool:
    """Remove a user's credentials; False when there is no such user."""
    stmt = user_account.delete().where(user_account.c.username == username).returning(user_account.c.id)
    return conn.execute(stmt).first() is not None
