"""The fingerprint of a set of rows (how many, and a checksum of their keys), computed in the database in one
statement, so that a preview can be compared with a commit without any id list leaving the database. Functions
take a connection and never commit."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, ColumnElement, Connection, FromClause, Integer, func, select

from orchjobs.store.dialects import key_hash


@dataclass(frozen=True)
class Fingerprint:
    count: int
    checksum: int


def fingerprint(
    conn: Connection, *, source: FromClause, key: Column[Any], where: ColumnElement[bool], lock: bool = False
) -> Fingerprint:
    """The fingerprint of the rows of `source` that `where` selects. With `lock`, those rows of `key`'s table are
    locked until the transaction ends (PostgreSQL; SQLite's writer holds the whole database already)."""
    rows = select(key.label("key")).select_from(source).where(where)
    if lock and conn.dialect.name == "postgresql":
        rows = rows.with_for_update(of=key.table)
    selected = rows.subquery("selected")
    stmt = select(func.count(), func.coalesce(func.sum(key_hash(selected.c.key)), 0))
    count, checksum = conn.execute(stmt).one()
    return Fingerprint(count=int(count), checksum=int(checksum))


def first_keys(
    conn: Connection, *, source: FromClause, key: Column[Any], where: ColumnElement[bool], limit: int
) -> Sequence[Any]:
    """The first `limit` keys of the selected rows, in key order."""
    # An integer key is ordered as `key + 0`: otherwise both databases walk the primary key from its start, testing
    # every row, to find the first few of a set that sits at the end of the table (recent failures); the set's own
    # index and a top-N sort cost a few milliseconds instead.
    order = key + 0 if isinstance(key.type, Integer) else key
    stmt = select(key).select_from(source).where(where).order_by(order).limit(limit)
    return conn.execute(stmt).scalars().all()


def count_rows(conn: Connection, *, source: FromClause, where: ColumnElement[bool]) -> int:
    return int(conn.execute(select(func.count()).select_from(source).where(where)).scalar_one())
