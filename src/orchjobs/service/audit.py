"""The audit log (an extension, docs/audit.md): every change an operator or the system makes is one entry, written
by the service that makes the change, on the change's own connection, so the entry and the change commit together.
Entries list through `service.listing` as the resource `AUDIT`."""

import getpass
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection

from orchjobs.domain.audit import AuditAction, AuditEntry, AuditResource
from orchjobs.store import audit as store
from orchjobs.store.audit import AUDIT

__all__ = ["AUDIT", "cli_actor", "note", "record"]


def record(conn: Connection, entry: AuditEntry, *, at: datetime) -> int:
    """Write `entry` in the transaction of `conn` (the change's own); its id."""
    return store.record(conn, entry, at=at)


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


def cli_actor() -> str:
    """The actor of a change made with the `orchjobs` command: the operating-system user who ran it, in parentheses
    so that it cannot be taken for an API user of that name."""
    try:
        return f"(cli:{getpass.getuser()})"
    except (KeyError, OSError):
        # No name for this uid (a container's arbitrary user).
        return "(cli)"
