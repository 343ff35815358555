"""User accounts: the credentials Basic auth is checked against."""

from datetime import datetime

from sqlalchemy import Connection, Row, insert, select

from orchjobs.store.tables import user_account


def get_user(conn: Connection, *, username: str) -> Row[tuple[object, ...]] | None:
    stmt = select(user_account).where(user_account.c.username == username)
    return conn.execute(stmt).first()


def insert_user(conn: Connection, *, username: str, password_hash: str, is_admin: bool, created_at: datetime) -> None:
    conn.execute(
        insert(user_account).values(
            username=username, password_hash=password_hash, is_admin=is_admin, created_at=created_at
        )
    )

