"""Reads and writes of job types and their fields (/KeyfactorAPI/JobTypes/Custom, and the job types custom jobs are
scheduled with). Functions take a connection and never commit.

The job_type table is a small catalogue (the built-in types and the custom ones), so names are checked against all
of it at once, under a lock on every row: two requests that create or rename types take turns.
"""

import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, true, update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import String, TypeDecorator

from orchjobs.domain.job_types import BUILT_IN_JOB_TYPES, FieldType, JobTypeField
from orchjobs.query.fields import JOB_TYPE_FIELDS
from orchjobs.store.listing import ListResource
from orchjobs.store.rows import Record
from orchjobs.store.tables import job_type, job_type_field, scheduled_job


class _JsonRows(TypeDecorator[list[list[Any]]]):
    """A JSON array of arrays read back as lists: SQLite hands over its text, psycopg the parsed value."""

    impl = String()
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> list[list[Any]]:
        if value is None:
            return []
        return list(json.loads(value) if isinstance(value, str) else value)


class json_rows_agg(FunctionElement[list[list[Any]]]):  # noqa: N801 - reads like the SQL aggregate it renders
    """The rows of a group as one JSON array of arrays of the given columns (`[]` for none)."""

    type = _JsonRows()
    inherit_cache = True
    name = "json_rows_agg"


@compiles(json_rows_agg, "sqlite")
def _sqlite_rows(element: json_rows_agg, compiler: Any, **kw: Any) -> str:
    return f"json_group_array(json_array({compiler.process(element.clauses, **kw)}))"


@compiles(json_rows_agg, "postgresql")
def _postgresql_rows(element: json_rows_agg, compiler: Any, **kw: Any) -> str:
    return f"coalesce(json_agg(json_build_array({compiler.process(element.clauses, **kw)})), '[]'::json)"


# A type's fields come with it, as [position, name, type, default_value, required]: one statement per page.
_FIELDS = (
    select(
        json_rows_agg(
            job_type_field.c.position,
            job_type_field.c.name,
            job_type_field.c.type,
            job_type_field.c.default_value,
            job_type_field.c.required,
        )
    )
    .where(job_type_field.c.job_type_id == job_type.c.id)
    .scalar_subquery()
    .label("fields")
)
_BUILT_IN_NAMES = sorted(name.lower() for name in BUILT_IN_JOB_TYPES)
# FetchLogs is stored with is_custom set (orchestrators run it as a custom job), but it is built in.
CUSTOM = job_type.c.is_custom.is_(true()) & func.lower(job_type.c.name).not_in(_BUILT_IN_NAMES)
JOB_TYPES = ListResource(
    table=job_type,
    fields=JOB_TYPE_FIELDS,
    columns=(job_type.c.id, job_type.c.name, job_type.c.description, _FIELDS),
    default_sort="JobTypeName",
    scope=CUSTOM,
)


def lock_job_types(conn: Connection) -> dict[uuid.UUID, str]:
    """`{id: name}` of every job type, built-in and custom, locked until the transaction ends.

    Read in a second statement: under READ COMMITTED, a locking statement that waited for another transaction still
    answers from its own snapshot, which lacks the type that transaction created; the next statement sees it."""
    conn.execute(select(job_type.c.id).with_for_update()).all()
    return {row.id: row.name for row in conn.execute(select(job_type.c.id, job_type.c.name))}


def is_custom(conn: Connection, *, job_type_id: uuid.UUID) -> bool:
    """Whether the id is a custom job type's (one that /JobTypes/Custom manages)."""
    stmt = select(job_type.c.id).where(job_type.c.id == job_type_id, CUSTOM)
    return conn.execute(stmt).first() is not None


def share_by_name(conn: Connection, *, name: str) -> Record | None:
    """The job type (id, name, custom: whether /JobTypes/Custom manages it) of this name, any case (names are
    printable ASCII), locked against a rename or a delete until the transaction ends."""
    stmt = (
        select(job_type.c.id, job_type.c.name, CUSTOM.label("custom"))
        .where(func.lower(job_type.c.name) == name.lower())
        .with_for_update(read=True)
    )
    return conn.execute(stmt).first()


def read_fields(conn: Connection, *, job_type_id: uuid.UUID) -> tuple[JobTypeField, ...]:
    """The type's fields in their declared order."""
    stmt = (
        select(job_type_field.c.name, job_type_field.c.type, job_type_field.c.default_value, job_type_field.c.required)
        .where(job_type_field.c.job_type_id == job_type_id)
        .order_by(job_type_field.c.position, job_type_field.c.name)
    )
    return tuple(
        JobTypeField(row.name, FieldType(row.type), row.default_value, bool(row.required))
        for row in conn.execute(stmt)
        if row.type in FieldType._value2member_map_
    )


def insert_job_type(conn: Connection, *, job_type_id: uuid.UUID, name: str, description: str) -> None:
    conn.execute(insert(job_type).values(id=job_type_id, name=name, description=description, is_custom=True))


def update_job_type(conn: Connection, *, job_type_id: uuid.UUID, name: str, description: str | None) -> None:
    """Set the name, and the description unless it is None."""
    values: dict[str, Any] = {"name": name}
    if description is not None:
        values["description"] = description
    conn.execute(update(job_type).where(job_type.c.id == job_type_id).values(values))


def replace_fields(conn: Connection, *, job_type_id: uuid.UUID, fields: Sequence[JobTypeField]) -> None:
    """The type's fields become these, in this order; one DELETE and one executemany."""
    conn.execute(delete(job_type_field).where(job_type_field.c.job_type_id == job_type_id))
    if fields:
        rows = [
            {
                "job_type_id": job_type_id,
                "name": field.name,
                "type": int(field.type),
                "default_value": field.default_value,
                "required": field.required,
                "position": position,
            }
            for position, field in enumerate(fields)
        ]
        conn.execute(insert(job_type_field), rows)


def jobs_using(conn: Connection, *, job_type_id: uuid.UUID, limit: int) -> tuple[int, list[uuid.UUID]]:
    """How many scheduled jobs are of this type, and the ids of the first `limit` of them (by id)."""
    where = scheduled_job.c.job_type_id == job_type_id
    count = int(conn.execute(select(func.count()).select_from(scheduled_job).where(where)).scalar_one())
    if not count:
        return 0, []
    ids = conn.execute(select(scheduled_job.c.id).where(where).order_by(scheduled_job.c.id).limit(limit)).scalars()
    return count, list(ids)


def set_jobs_capability(conn: Connection, *, job_type_id: uuid.UUID, capability: str) -> int:
    """The capability the type's scheduled jobs need (after a rename); one statement. Returns the number of jobs."""
    stmt = update(scheduled_job).where(scheduled_job.c.job_type_id == job_type_id).values(capability=capability)
    return conn.execute(stmt).rowcount


def delete_job_type(conn: Connection, *, job_type_id: uuid.UUID) -> None:
    """The type and its fields (spelled out rather than left to ON DELETE CASCADE and SQLite's pragma)."""
    conn.execute(delete(job_type_field).where(job_type_field.c.job_type_id == job_type_id))
    conn.execute(delete(job_type).where(job_type.c.id == job_type_id))
