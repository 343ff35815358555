"""Listing any resource the way Command lists: a query, a sort field and a page, one statement on one connection.
The resources themselves are declared in `store` (see docs/architecture.md, "Adding a list resource")."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache

from sqlalchemy import ColumnElement, Engine

from orchjobs.query import parse
from orchjobs.store import listing as store
from orchjobs.store.engine import single_read
from orchjobs.store.listing import ListResource
from orchjobs.store.rows import Record

__all__ = ["ListResource", "PageRequest", "condition", "count_rows", "get_row", "list_page"]


@dataclass(frozen=True)
class PageRequest:
    """What a list request asks for; `descending=None` means the resource's default direction."""

    query: str | None = None
    page: int = 1
    limit: int = 50
    sort_field: str | None = None
    descending: bool | None = None


def list_page(
    engine: Engine,
    resource: ListResource,
    request: PageRequest,
    *,
    now: datetime,
    max_query_length: int,
    user: str | None = None,
) -> Sequence[Record]:
    """One page of the resource, filtered and sorted; QuerySyntaxError or InvalidSortFieldError for a bad request.
    `user` is the caller's name, what %ME% stands for."""
    where = condition(resource, request.query, now=now, max_length=max_query_length, user=user)
    order = resource.order_by(request.sort_field, descending=request.descending)
    with single_read(engine) as conn:
        return store.list_page(
            conn, resource, where=where, order_by=order, limit=request.limit, offset=(request.page - 1) * request.limit
        )


def count_rows(
    engine: Engine,
    resource: ListResource,
    *,
    query: str | None,
    now: datetime,
    max_query_length: int,
    user: str | None = None,
) -> int:
    where = condition(resource, query, now=now, max_length=max_query_length, user=user)
    with single_read(engine) as conn:
        return store.count_rows(conn, resource, where=where)


def get_row(engine: Engine, resource: ListResource, *, key: object) -> Record | None:
    with single_read(engine) as conn:
        return store.get_row(conn, resource, key=key)


def condition(
    resource: ListResource, query: str | None, *, now: datetime, max_length: int, user: str | None = None
) -> ColumnElement[bool] | None:
    """The SQL condition of a query string, or None for no filter. Raises QuerySyntaxError. `user` is the name
    %ME% stands for (the caller); without one, a query that uses %ME% is refused."""
    text = query or ""
    upper = text.upper()
    if "%NOW" in upper:
        # An instant changes every request: nothing to share.
        return _compile(resource, text, max_length, now.astimezone(UTC), user)
    # The user is part of the key only for queries that name %ME%: every other query is shared by all callers.
    return _compiled(resource, text, max_length, now.astimezone(UTC).date(), user if "%ME%" in upper else None)


@lru_cache(maxsize=512)
def _compiled(
    resource: ListResource, text: str, max_length: int, today: date, user: str | None
) -> ColumnElement[bool] | None:
    # Clients repeat the same few queries (kfutil repeats `ClientMachine -eq "X"` for a few machines), and a
    # condition depends only on its text and on the day (%TODAY%); SQLAlchemy expressions are immutable, so one
    # serves every request that day.
    return _compile(resource, text, max_length, datetime.combine(today, time(), UTC), user)


def _compile(
    resource: ListResource, text: str, max_length: int, now: datetime, user: str | None
) -> ColumnElement[bool] | None:
    return resource.condition(parse(text, max_length=max_length), now=now, user=user)
