"""Console sessions (docs/console.md): kept by the SHA-256 of their token, never the token."""

from datetime import datetime

from sqlalchemy import Connection, delete, insert, select

from orchjobs.store.tables import console_session


def insert_session(
    conn: Connection, *, token_sha256: str, username: str, created_at: datetime, expires_at: datetime
) -> None:
    conn.execute(
        insert(console_session).values(
            token_sha256=token_sha256, username=username, created_at=created_at, expires_at=expires_at
        )
    )


def session_username(conn: Connection, *, token_sha256: str, now: datetime) -> str | None:
    """The user of a session that has not expired at `now`, or None. One statement, by the primary key."""
    stmt = select(console_session.c.username).where(
        console_session.c.token_sha256 == token_sha256, console_session.c.expires_at > now
    )
    name = conn.execute(stmt).scalar_one_or_none()
    return None if name is None else str(name)


def delete_session(conn: Connection, *, token_sha256: str) -> bool:
    result = conn.execute(delete(console_session).where(console_session.c.token_sha256 == token_sha256))
    return bool(result.rowcount)


def delete_expired(conn: Connection, *, now: datetime) -> int:
    result = conn.execute(delete(console_session).where(console_session.c.expires_at <= now))
    return int(result.rowcount)


def delete_user_sessions(conn: Connection, *, username: str) -> int:
    result = conn.execute(delete(console_session).where(console_session.c.username == username))
    return int(result.rowcount)
