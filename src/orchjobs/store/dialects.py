"""The few SQL expressions that differ between SQLite and PostgreSQL."""

import json
import zlib
from typing import Any

from sqlalchemy import Connection, DateTime, Integer, String, Table, Text, Uuid, cast, func, select, type_coerce
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator


class _DashedUuidText(TypeDecorator[str]):
    """Text of a UUID; SQLite's 32 hex digits get their dashes here (cheaper than uuid.UUID)."""

    impl = String()
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            return str(value)  # a uuid.UUID from a native uuid column
        if len(value) != 32:
            return value
        return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"


class uuid_text(FunctionElement[str]):  # noqa: N801 - reads like the SQL function it renders
    """A UUID column read as canonical text instead of a uuid.UUID object per value."""

    type = _DashedUuidText()
    inherit_cache = True
    name = "uuid_text"


@compiles(uuid_text)
def _uuid_text(element: uuid_text, compiler: Any, **kw: Any) -> str:
    # The bare column: formatting in SQL (CAST on PostgreSQL, substr on SQLite's 32 hex digits)
    # runs for every row the sort or OFFSET passes over, not just the page, and costs more there.
    return str(compiler.process(element.clauses, **kw))


def raw_datetime(column: Any) -> Any:
    """The column without UtcDateTime's per-value conversion: naive UTC on SQLite, aware on PostgreSQL.
    For read paths that hand times straight to a serializer which treats naive values as UTC."""
    return type_coerce(column, DateTime(timezone=True)).label(column.name)


def advisory_lock(conn: Connection, key: int) -> None:
    """Writers that take the same key take turns until their transactions end (PostgreSQL's transaction-level
    advisory lock). SQLite needs none: its writers take turns anyway (BEGIN IMMEDIATE)."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(key)))


def conflict_insert(conn: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT into `table` that can say what to do ON CONFLICT, in the connection's dialect."""
    return postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)


class _JsonTextList(TypeDecorator[list[str]]):
    """A JSON array of text read back as a list: SQLite hands over its text, psycopg the parsed array."""

    impl = String()
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> list[str]:
        if value is None:
            return []
        return list(json.loads(value) if isinstance(value, str) else value)


class json_array_agg(FunctionElement[list[str]]):  # noqa: N801 - reads like the SQL aggregate it renders
    """The text values of a group as one JSON array (`[]` for none), read back as a list."""

    type = _JsonTextList()
    inherit_cache = True
    name = "json_array_agg"


@compiles(json_array_agg, "sqlite")
def _json_group_array(element: json_array_agg, compiler: Any, **kw: Any) -> str:
    return f"json_group_array({compiler.process(element.clauses, **kw)})"


@compiles(json_array_agg, "postgresql")
def _json_agg(element: json_array_agg, compiler: Any, **kw: Any) -> str:
    return f"coalesce(json_agg({compiler.process(element.clauses, **kw)}), '[]'::json)"


# A prime below 2**31: each row's hash is folded below it, so a sum over millions of rows stays far from overflow.
_HASH_MODULUS = 2_147_483_647


class key_hash(FunctionElement[int]):  # noqa: N801 - reads like the SQL function it renders
    """A well-spread integer below 2**31 for a key (an integer id or a UUID), the same for the same key on one
    database: the rows of a set summed into a checksum (store.fingerprints)."""

    type = Integer()
    inherit_cache = True
    name = "key_hash"


@compiles(key_hash)
def _key_hash(element: key_hash, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    hashed: Any
    if isinstance(column.type, Uuid):
        if compiler.dialect.name == "postgresql":
            hashed = func.abs(func.hashtextextended(cast(column, Text()), 0) % _HASH_MODULUS)
        else:
            hashed = func.orchjobs_text_hash(column)
    else:
        # A multiplicative hash (Lehmer's multiplier): neighbouring ids land far apart.
        hashed = (column % _HASH_MODULUS) * 48271 % _HASH_MODULUS
    return str(compiler.process(hashed, **kw))


def install_sqlite_functions(dbapi_connection: Any) -> None:
    """The functions SQLite lacks that `key_hash` renders to; called on every new connection."""
    dbapi_connection.create_function("orchjobs_text_hash", 1, _text_hash, deterministic=True)


def _text_hash(value: object) -> int:
    return zlib.crc32(str(value).encode()) % _HASH_MODULUS


def custom_plans(conn: Connection) -> None:
    """Plan this transaction's statements for their actual values (PostgreSQL). psycopg prepares a statement run
    five times, and PostgreSQL then may plan it once for any values: for a set that sits at the end of the table
    (recent failures, ids up to a bound) that generic plan walks the whole primary key, 40 ms becoming 180 ms."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
