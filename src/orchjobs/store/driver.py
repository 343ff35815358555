"""Statements of the orchestrator protocol's hot path: written once as SQL, compiled once per dialect, and run on the
connection's DB-API cursor inside the caller's SQLAlchemy transaction.

SQLAlchemy Core spends about 0.3 ms of Python on every statement it executes (its cache key, the execution context,
result processing): more than the database spends on a statement by key. The few statements every job call and
heartbeat makes skip that work here; everything else, and every rare branch of those calls, stays Core. The
transaction, the pool, the statement budgets of `store.engine` and its error translation are the same either way:
a driver error is raised as SQLAlchemy's own exception for it.
"""

import uuid
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"


class _Compiled(NamedTuple):
    sql: str
    positions: tuple[str, ...] | None  # qmark order of the parameters (SQLite); None for named (psycopg)
    row: Any  # the named tuple of its rows, made at its first execution


class DriverSql:
    """One SQL text with `:name` parameters, for one dialect or (when `dialect` is None) for both. Values are adapted
    as the service's column types store them: on SQLite a GUID is 32 hex digits and a time naive UTC text."""

    def __init__(self, sql: str, *, dialect: str | None = None) -> None:
        self._text = text(sql)
        self._dialect = dialect
        self._compiled: dict[str, _Compiled] = {}

    def rows(self, conn: Connection, **params: Any) -> list[Any]:
        """Every row, as named tuples with the statement's column names."""
        compiled = self._compile(conn)
        cursor = _execute(conn, compiled, params)
        try:
            if cursor.description is None:
                return []
            if compiled.row is None:
                row = namedtuple("Row", [column[0] for column in cursor.description])  # type: ignore[misc]
                compiled = self._compiled[conn.dialect.name] = compiled._replace(row=row)
            assert compiled.row is not None
            return [compiled.row._make(values) for values in cursor.fetchall()]
        finally:
            cursor.close()

    def first(self, conn: Connection, **params: Any) -> Any | None:
        found = self.rows(conn, **params)
        return found[0] if found else None

    def run(self, conn: Connection, **params: Any) -> int:
        """Execute for its effect; the number of rows it changed."""
        cursor = _execute(conn, self._compile(conn), params)
        try:
            count: int = cursor.rowcount
            return count
        finally:
            cursor.close()

    def _compile(self, conn: Connection) -> _Compiled:
        name = conn.dialect.name
        found = self._compiled.get(name)
        if found is None:
            if self._dialect is not None and self._dialect != name:
                raise ValueError(f"this statement is written for {self._dialect}, not {name}")
            compiled = self._text.compile(dialect=conn.dialect)
            positions = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
            found = self._compiled[name] = _Compiled(compiled.string, positions, None)
        return found


def _execute(conn: Connection, compiled: _Compiled, params: Mapping[str, Any]) -> Any:
    dbapi_connection = conn.connection.dbapi_connection
    assert dbapi_connection is not None
    cursor = dbapi_connection.cursor()
    if compiled.positions is not None:
        bound: Any = tuple(_sqlite_value(params[name]) for name in compiled.positions)
    elif conn.dialect.name == "sqlite":
        bound = {name: _sqlite_value(value) for name, value in params.items()}
    else:
        bound = params
    try:
        cursor.execute(compiled.sql, bound)
    except conn.dialect.loaded_dbapi.Error as exc:
        invalidated = conn.dialect.is_disconnect(exc, dbapi_connection, cursor)
        cursor.close()
        if invalidated:
            conn.invalidate(exc)
        raise DBAPIError.instance(
            compiled.sql, bound, exc, conn.dialect.loaded_dbapi.Error, connection_invalidated=invalidated
        ) from exc
    return cursor


def _sqlite_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime(_SQLITE_TIME) if value.tzinfo else value.strftime(_SQLITE_TIME)


# By exact type: a lookup per parameter, where a chain of isinstance checks cost a protocol call measurable time.
_SQLITE_ADAPTERS: dict[type, Callable[[Any], Any]] = {
    uuid.UUID: lambda value: value.hex,
    datetime: _sqlite_time,
    bool: int,
}


def _sqlite_value(value: Any) -> Any:
    adapt = _SQLITE_ADAPTERS.get(type(value))
    return value if adapt is None else adapt(value)


def as_uuid(value: Any) -> uuid.UUID | None:
    """A GUID column's value as read by the driver (a UUID from psycopg, hex text from SQLite)."""
    if value is None or isinstance(value, uuid.UUID):
        return value
    return uuid.UUID(str(value))


def as_time(value: Any) -> datetime | None:
    """A time column's value as read by the driver, aware UTC."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def in_params(prefix: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """`(:p0, :p1, …)` and its parameters: an IN list for a statement compiled per list length."""
    names = [f"{prefix}{index}" for index in range(len(values))]
    return "(" + ", ".join(f":{name}" for name in names) + ")", dict(zip(names, values, strict=True))
