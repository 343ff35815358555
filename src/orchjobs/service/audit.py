"""The audit log (an extension, docs/audit.md): every change an operator or the system makes is one entry, written
by the service that makes the change, on the change's own connection, so the entry and the change commit together.
Entries list through `service.listing` as the resource `AUDIT`."""

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection

from orchjobs.domain.audit import AuditAction, AuditEntry, AuditResource
from orchjobs.store import audit as store
from orchjobs.store.audit import AUDIT

__all__ = ["AUDIT", "note", "record"]


def record(conn: Connection, entry: AuditEntry, *, at: datetime) -> None:
    """Write `entry` in the transaction of `conn` (the change's own)."""
    store.record(conn, entry, at=at)


def note(
    conn: Connection,
    action: AuditAction,
    resource: AuditResource,
    *,
    actor: str,
    at: datetime,
    ids: Sequence[object] | None = None,
    row_count: int | None = None,
    query: str | None = None,
    details: Mapping[str, object] | None = None,
) -> None:
    """`record` for the common case: the rows changed are `ids` unless `row_count` says otherwise."""
    count = row_count if row_count is not None else len(ids) if ids is not None else 1
    entry = AuditEntry(
        actor=actor, action=action, resource=resource, row_count=count, query=query, ids=ids, details=details
    )
    store.record(conn, entry, at=at)
