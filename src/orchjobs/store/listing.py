"""Resources listed the way Command lists them: filtered by a query, sorted by any queryable field, paged. Each
resource is declared once as a `ListResource`; the functions here read a page, a count or one row of any of them.
Functions take a connection and never commit."""

import operator
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    FromClause,
    Label,
    Table,
    and_,
    func,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy.sql.base import ColumnCollection

from orchjobs.query import FieldRegistry, Node, compile_where
from orchjobs.query.sql import RelatedValues
from orchjobs.store.engine import renew_budget
from orchjobs.store.rows import Record


@dataclass(frozen=True, eq=False)
class ListResource:
    """A resource that lists: its table (whose columns the query `fields` name), the `columns` a page reads, the
    field it is sorted by when the request names none (descending only then, if `default_descending`), and where
    its set-valued fields live (`related`, by the field's column name).

    Fields whose columns live in other tables: `source` is the table joined with those (what a page reads FROM) and
    `joined_columns` their columns, labelled with the column names the fields give. `scope`: the rows of the table
    that belong to the resource at all (None: every row); it is part of every condition."""

    table: Table
    fields: FieldRegistry
    columns: tuple[ColumnElement[Any], ...]
    default_sort: str
    default_descending: bool = False
    related: Mapping[str, RelatedValues] = field(default_factory=dict)
    source: FromClause | None = None
    joined_columns: tuple[Label[Any], ...] = ()
    scope: ColumnElement[bool] | None = None
    # Whether a page chooses its rows' keys before reading their columns: for resources whose columns are costly
    # (correlated subqueries), so that deep pages do not compute them for every row skipped.
    page_first: bool = False

    @property
    def key(self) -> Column[Any]:
        """The primary key: the last sort key of every page, so that pages never overlap."""
        (key,) = self.table.primary_key.columns
        return key

    @property
    def from_clause(self) -> FromClause:
        """What a page, a count or a bulk action by query reads FROM."""
        return self.table if self.source is None else self.source

    @cached_property
    def field_columns(self) -> ColumnCollection[str, Any]:
        """The columns the query fields name, by name: the table's, and the joined ones."""
        if not self.joined_columns:
            return self.table.c
        return select(*self.table.c, *self.joined_columns).selected_columns

    def condition(self, node: Node | None, *, now: datetime, user: str | None = None) -> ColumnElement[bool] | None:
        """The WHERE condition of a parsed query within the scope (None: no filter); `now` anchors %TODAY% and
        %NOW%, `user` is what %ME% stands for."""
        if node is None:
            return self.scope
        where = compile_where(node, self.fields, self.field_columns, now=now, related=self.related, user=user)
        return where if self.scope is None else and_(self.scope, where)

    def order_by(self, sort_field: str | None, *, descending: bool | None) -> list[ColumnElement[Any]]:
        """The ORDER BY of a request: InvalidSortFieldError for a field that is not sortable."""
        column = self.sort_column(sort_field)
        if self.is_descending(sort_field, descending):
            return [column.desc(), self.key.desc()]
        return [column.asc(), self.key.asc()]

    def sort_column(self, sort_field: str | None) -> ColumnElement[Any]:
        """The column a request sorts by (before the key); InvalidSortFieldError for a field that is not sortable."""
        return self.field_columns[self.fields.sort_column_name(sort_field or self.default_sort)]  # type: ignore[no-any-return]

    def is_descending(self, sort_field: str | None, descending: bool | None) -> bool:
        """Whether a request's order is descending: as asked, else the resource's default for its default order."""
        if descending is None:
            return sort_field is None and self.default_descending
        return descending


@dataclass(frozen=True)
class Keyset:
    """Where a page continues: after the row whose sort value is `value` and whose key is `key`, in the order
    `ascending`/descending of `column` then the key (store.listing.after)."""

    column: ColumnElement[Any]
    value: Any
    key: Any
    descending: bool


def after(conn: Connection, resource: ListResource, keyset: Keyset) -> ColumnElement[bool]:
    """The rows that come after `keyset` in its order, the way each database orders NULL: PostgreSQL sorts NULL
    above every value (last ascending, first descending), SQLite below. A column that holds no NULL gets one row-value
    comparison, `(column, key) < (value, key)`, which an index on (column, key) serves."""
    column, key, value = keyset.column, resource.key, keyset.value
    later = operator.lt if keyset.descending else operator.gt
    if column is key:
        return later(key, keyset.key)  # type: ignore[no-any-return]
    nullable = getattr(column, "nullable", True)
    if not nullable and value is not None:
        return later(tuple_(column, key), tuple_(literal(value, column.type), literal(keyset.key, key.type)))  # type: ignore[no-any-return]
    nulls_greatest = conn.dialect.name == "postgresql"
    nulls_first = nulls_greatest == keyset.descending
    same_null = and_(column.is_(None), later(key, keyset.key))
    if value is None:
        return or_(same_null, column.is_not(None)) if nulls_first else same_null
    beyond = or_(later(column, value), and_(column == value, later(key, keyset.key)))
    return beyond if nulls_first else or_(beyond, column.is_(None))


def list_page(
    conn: Connection,
    resource: ListResource,
    *,
    where: ColumnElement[bool] | None,
    order_by: Sequence[ColumnElement[Any]],
    limit: int,
    offset: int,
    extra: Sequence[ColumnElement[Any]] = (),
) -> Sequence[Record]:
    """One page of the resource's rows (its `columns`, and the `extra` columns after them)."""
    if resource.page_first:
        # Choose the page's keys first, then read the columns of those rows only: the database never computes the
        # columns (correlated subqueries) of the rows OFFSET skips, which PostgreSQL otherwise does.
        keys = select(resource.key).select_from(resource.from_clause).order_by(*order_by).limit(limit).offset(offset)
        if where is not None:
            keys = keys.where(where)
        page = keys.subquery("page")
        source = resource.from_clause.join(page, page.c[resource.key.name] == resource.key)
        return conn.execute(select(*resource.columns).select_from(source).order_by(*order_by)).all()
    columns = (*resource.columns, *extra)
    stmt = select(*columns).select_from(resource.from_clause).order_by(*order_by).limit(limit).offset(offset)
    if where is not None:
        stmt = stmt.where(where)
    return conn.execute(stmt).all()


def stream_rows(
    conn: Connection,
    resource: ListResource,
    *,
    where: ColumnElement[bool] | None,
    order_by: Sequence[ColumnElement[Any]],
    batch_rows: int,
) -> Iterator[Sequence[Record]]:
    """Every matching row (its `columns`), in batches of `batch_rows`, from one server-side cursor (a named cursor
    on PostgreSQL): memory holds one batch, whatever the count. Closing the generator closes the cursor."""
    stmt = select(*resource.columns).select_from(resource.from_clause).order_by(*order_by)
    if where is not None:
        stmt = stmt.where(where)
    result = conn.execution_options(stream_results=True, yield_per=batch_rows).execute(stmt)
    try:
        for batch in result.partitions():
            yield batch
            # The next batch is fetched when the consumer asks: its own budget starts then.
            renew_budget(conn)
    finally:
        result.close()


def count_rows(conn: Connection, resource: ListResource, *, where: ColumnElement[bool] | None) -> int:
    stmt = select(func.count()).select_from(resource.from_clause)
    if where is not None:
        stmt = stmt.where(where)
    return int(conn.execute(stmt).scalar_one())


def get_row(conn: Connection, resource: ListResource, *, key: object) -> Record | None:
    """The row (its `columns`) whose primary key is `key`, if the resource holds it."""
    stmt = select(*resource.columns).select_from(resource.from_clause).where(resource.key == key)
    if resource.scope is not None:
        stmt = stmt.where(resource.scope)
    return conn.execute(stmt).first()
