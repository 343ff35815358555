"""What the last inventory of each certificate store found: one entry per alias, pointing at a certificate kept
once by thumbprint. Functions take a connection and never commit."""

import uuid
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime

from sqlalchemy import Connection, delete, select

from orchjobs.domain.certificates import CertificateFacts
from orchjobs.store.dialects import conflict_insert
from orchjobs.store.rows import Record, chunks
from orchjobs.store.tables import certificate, certificate_store_entry


def list_entries(conn: Connection, *, store_id: uuid.UUID) -> Sequence[Record]:
    stmt = (
        select(certificate_store_entry.c.alias, certificate_store_entry.c.private_key_entry)
        .where(certificate_store_entry.c.store_id == store_id)
        .order_by(certificate_store_entry.c.alias)
    )
    return conn.execute(stmt).all()


def certificate_ids(conn: Connection, certificates: Sequence[CertificateFacts], *, now: datetime) -> dict[str, int]:
    """The ids of these certificates by thumbprint, keeping those not yet known (first seen now)."""
    if not certificates:
        return {}
    unique = {facts.thumbprint: facts for facts in certificates}
    stmt = conflict_insert(conn, certificate).on_conflict_do_nothing(index_elements=[certificate.c.thumbprint])
    conn.execute(
        stmt, [{**asdict(facts), "key_type": int(facts.key_type), "import_date": now} for facts in unique.values()]
    )
    ids: dict[str, int] = {}
    for chunk in chunks(list(unique)):
        rows = conn.execute(
            select(certificate.c.thumbprint, certificate.c.id).where(certificate.c.thumbprint.in_(chunk))
        )
        ids.update({row.thumbprint: row.id for row in rows})
    return ids


def upsert_entries(
    conn: Connection, *, store_id: uuid.UUID, entries: Sequence[tuple[str, CertificateFacts, bool]], now: datetime
) -> None:
    """Insert or replace (alias, certificate, private_key_entry) entries of a store; the certificates are kept once."""
    if not entries:
        return
    ids = certificate_ids(conn, [facts for _alias, facts, _key in entries], now=now)
    stmt = conflict_insert(conn, certificate_store_entry)
    stmt = stmt.on_conflict_do_update(
        index_elements=[certificate_store_entry.c.store_id, certificate_store_entry.c.alias],
        set_={"certificate_id": stmt.excluded.certificate_id, "private_key_entry": stmt.excluded.private_key_entry},
    )
    rows = [
        {"store_id": store_id, "alias": alias, "certificate_id": ids[facts.thumbprint], "private_key_entry": key}
        for alias, facts, key in entries
    ]
    conn.execute(stmt, rows)


def delete_entries(conn: Connection, *, store_id: uuid.UUID, aliases: Sequence[str]) -> None:
    for chunk in chunks(aliases):
        conn.execute(
            delete(certificate_store_entry).where(
                certificate_store_entry.c.store_id == store_id, certificate_store_entry.c.alias.in_(chunk)
            )
        )
