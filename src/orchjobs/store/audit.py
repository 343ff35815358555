"""The audit log's rows. Functions take an open connection and never commit: an entry is part of its change."""

import json
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Connection, insert

from orchjobs.domain.audit import AuditEntry
from orchjobs.query.fields import AUDIT_FIELDS
from orchjobs.store.listing import ListResource
from orchjobs.store.tables import audit_log

# GET /Audit: every entry, newest first unless the request sorts otherwise.
AUDIT = ListResource(
    table=audit_log,
    fields=AUDIT_FIELDS,
    columns=tuple(audit_log.c),
    default_sort="At",
    default_descending=True,
)


def record(conn: Connection, entry: AuditEntry, *, at: datetime) -> int:
    """Write one entry; ids (GUIDs too) and details as JSON text. Its id."""
    result = conn.execute(
        insert(audit_log).values(
            at=at,
            actor=entry.actor,
            action=str(entry.action),
            resource=str(entry.resource),
            query=entry.query,
            ids=None if entry.ids is None else json.dumps([_plain(value) for value in entry.ids]),
            row_count=entry.row_count,
            details=None if entry.details is None else details_text(entry.details),
        )
    )
    (entry_id,) = result.inserted_primary_key or (0,)
    return int(entry_id)


def details_text(details: Mapping[str, object]) -> str:
    """Details as they are kept: JSON, values it cannot hold (times, GUIDs) as their text."""
    return json.dumps(dict(details), default=str)


def _plain(value: object) -> object:
    return value if isinstance(value, int | str) else str(value)
