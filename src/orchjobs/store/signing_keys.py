"""Secrets the service makes for itself, one per purpose, shared by every process through the database."""

import secrets
from datetime import datetime

from sqlalchemy import Connection, select

from orchjobs.store.dialects import conflict_insert
from orchjobs.store.tables import signing_key


def get_or_create(conn: Connection, *, purpose: str, at: datetime) -> bytes:
    """The secret for `purpose`; the first caller creates it, and a process racing it reads the winner's."""
    conn.execute(
        conflict_insert(conn, signing_key)
        .values(purpose=purpose, secret=secrets.token_hex(32), created_at=at)
        .on_conflict_do_nothing(index_elements=[signing_key.c.purpose])
    )
    secret = conn.execute(select(signing_key.c.secret).where(signing_key.c.purpose == purpose)).scalar_one()
    return bytes.fromhex(secret)
