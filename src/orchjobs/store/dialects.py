"""The few SQL expressions that differ between SQLite and PostgreSQL."""

from typing import Any

from sqlalchemy import DateTime, String, type_coerce
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
