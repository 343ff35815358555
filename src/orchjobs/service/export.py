"""Exports (an extension): every row a list query matches, sorted as the list would be, streamed in batches from one
cursor inside one read transaction (one consistent snapshot), under the export budget (settings
export_statement_seconds, per batch) rather than the read budget that a whole export would outlast."""

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine

from orchjobs.service.listing import PageRequest, condition
from orchjobs.store import listing as store
from orchjobs.store.engine import export_read
from orchjobs.store.listing import ListResource
from orchjobs.store.rows import Record

# Rows per FETCH: few round trips, and a batch's memory stays small (a history row is well under 1 KB).
BATCH_ROWS = 1000


def export_rows(
    engine: Engine,
    resource: ListResource,
    request: PageRequest,
    *,
    now: datetime,
    max_query_length: int,
    user: str | None = None,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[Sequence[Record]]:
    """The batches of every row of `resource` that `request`'s query selects, in its sort order (paging ignored).
    A bad query or sort field raises here, before any connection is taken; the statement runs at the first batch.
    Close the iterator (or exhaust it) to give the connection back."""
    where = condition(resource, request.query, now=now, max_length=max_query_length, user=user)
    order = resource.order_by(request.sort_field, descending=request.descending)
    return _batches(engine, resource, where, order, batch_rows)


def _batches(
    engine: Engine,
    resource: ListResource,
    where: ColumnElement[bool] | None,
    order: Sequence[ColumnElement[Any]],
    batch_rows: int,
) -> Iterator[Sequence[Record]]:
    with export_read(engine) as conn:
        yield from store.stream_rows(conn, resource, where=where, order_by=order, batch_rows=batch_rows)
