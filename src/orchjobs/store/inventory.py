"""What the last inventory of each certificate store found: one entry per alias. Functions take a connection and
never commit."""

import uuid
from collections.abc import Sequence

from sqlalchemy import Connection, delete, select

from orchjobs.store.dialects import conflict_insert
from orchjobs.store.rows import Record, chunks
from orchjobs.store.tables import certificate_store_entry


def list_entries(conn: Connection, *, store_id: uuid.UUID) -> Sequence[Record]:
    stmt = (
        select(certificate_store_entry.c.alias, certificate_store_entry.c.private_key_entry)
        .where(certificate_store_entry.c.store_id == store_id)
        .order_by(certificate_store_entry.c.alias)
    )
    return conn.execute(stmt).all()


def upsert_entries(conn: Connection, *, store_id: uuid.UUID, entries: Sequence[tuple[str, str, bool]]) -> None:
    """Insert or replace (alias, certificate, private_key_entry) entries of a store; one executemany."""
    if not entries:
        return
    stmt = conflict_insert(conn, certificate_store_entry)
    stmt = stmt.on_conflict_do_update(
        index_elements=[certificate_store_entry.c.store_id, certificate_store_entry.c.alias],
        set_={"certificate": stmt.excluded.certificate, "private_key_entry": stmt.excluded.private_key_entry},
    )
    rows = [
        {"store_id": store_id, "alias": alias, "certificate": certificate, "private_key_entry": private_key}
        for alias, certificate, private_key in entries
    ]
    conn.execute(stmt, rows)


def delete_entries(conn: Connection, *, store_id: uuid.UUID, aliases: Sequence[str]) -> None:
    for chunk in chunks(aliases):
        conn.execute(
            delete(certificate_store_entry).where(
                certificate_store_entry.c.store_id == store_id, certificate_store_entry.c.alias.in_(chunk)
            )
        )
