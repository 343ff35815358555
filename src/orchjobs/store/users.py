"""User accounts: the credentials Basic auth is checked against."""

from datetime import datetime

from sqlalchemy import Connection, select

from orchjobs.store.dialects import conflict_insert
from orchjobs.store.rows import Record
from orchjobs.store.tables import user_account


def get_user(conn: Connection, *, username: str) -> Record | None:
    stmt = select(user_account).where(user_account.c.username == username)
    return conn.execute(stmt).first()


def insert_user(conn: Connection, *, username: str, password_hash: str, is_admin: bool, created_at: datetime) -> bool:
    """Add a user; False (and nothing written) when one of that name exists."""
    stmt = (
        conflict_insert(conn, user_account)
        .values(username=username, password_hash=password_hash, is_admin=is_admin, created_at=created_at)
        .on_conflict_do_nothing(index_elements=[user_account.c.username])
        .returning(user_account.c.id)
    )
    # RETURNING rather than rowcount: through SQLAlchemy and psycopg, rowcount was 1 even when the conflict skipped it.
    return conn.execute(stmt).first() is not None
