"""Custom job types (/KeyfactorAPI/JobTypes/Custom): create, update and delete them; they list and read through
`service.listing` as the resource `JOB_TYPES`, which holds only custom types (the built-in ones are not managed here).

Names are unique whatever their case, among built-in and custom types alike. Scheduled jobs point at their type by
id, as in Command, so a rename carries them along: their capability becomes `Custom.<new name>` in the same
transaction (orchestrators that report only the old name stop getting them), while history keeps the name each run
had. A type that scheduled jobs use cannot be deleted. Each action is one transaction; a refusal changes nothing.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from orchjobs.domain.capabilities import custom_capability
from orchjobs.domain.job_types import FieldRequest, checked_description, checked_fields, checked_name
from orchjobs.errors import InvalidRequestError, NotFoundError
from orchjobs.service.listing import get_row
from orchjobs.store import job_types as store
from orchjobs.store import listing
from orchjobs.store.engine import write_transaction
from orchjobs.store.job_types import JOB_TYPES
from orchjobs.store.rows import Record

__all__ = ["JOB_TYPES", "JobTypeRequest", "create_job_type", "delete_job_type", "get_job_type", "update_job_type"]

# How many of the jobs that hold a type back a refusal names.
JOBS_NAMED = 5


@dataclass(frozen=True)
class JobTypeRequest:
    """What a create or an update asks for. On an update, a description or fields of None stay as they are."""

    name: str
    description: str | None = None
    fields: Sequence[FieldRequest] | None = None


def get_job_type(engine: Engine, *, job_type_id: uuid.UUID) -> Record:
    """One custom job type (a row of JOB_TYPES); NotFoundError for an unknown id or a built-in type's."""
    row = get_row(engine, JOB_TYPES, key=job_type_id)
    if row is None:
        raise _not_found(job_type_id)
    return row


def create_job_type(engine: Engine, request: JobTypeRequest) -> Record:
    """A new custom job type, with a new id; its row as GET answers it."""
    name = checked_name(request.name)
    description = checked_description(request.description) or ""
    fields = checked_fields(request.fields or ())
    job_type_id = uuid.uuid4()
    with write_transaction(engine) as conn:
        _refuse_taken_name(store.lock_job_types(conn), name, job_type_id=job_type_id)
        store.insert_job_type(conn, job_type_id=job_type_id, name=name, description=description)
        store.replace_fields(conn, job_type_id=job_type_id, fields=fields)
        return _row(conn, job_type_id)


def update_job_type(engine: Engine, *, job_type_id: uuid.UUID, request: JobTypeRequest) -> Record:
    """Rename a custom job type and set its description and fields (those given). Jobs already scheduled keep the
    field values they were scheduled with; a rename moves their capability to the new name."""
    name = checked_name(request.name)
    description = checked_description(request.description)
    fields = None if request.fields is None else checked_fields(request.fields)
    with write_transaction(engine) as conn:
        names = store.lock_job_types(conn)
        current = _custom_name(conn, names, job_type_id)
        _refuse_taken_name(names, name, job_type_id=job_type_id)
        store.update_job_type(conn, job_type_id=job_type_id, name=name, description=description)
        if fields is not None:
            store.replace_fields(conn, job_type_id=job_type_id, fields=fields)
        if name != current:
            store.set_jobs_capability(conn, job_type_id=job_type_id, capability=custom_capability(name).name)
        return _row(conn, job_type_id)


def delete_job_type(engine: Engine, *, job_type_id: uuid.UUID) -> None:
    """Delete a custom job type and its fields; refused while scheduled jobs use it (history is not affected)."""
    with write_transaction(engine) as conn:
        name = _custom_name(conn, store.lock_job_types(conn), job_type_id)
        count, job_ids = store.jobs_using(conn, job_type_id=job_type_id, limit=JOBS_NAMED)
        if count:
            named = ", ".join(str(job_id) for job_id in job_ids) + (", …" if count > len(job_ids) else "")
            raise InvalidRequestError(
                f"Job type {name} is used by {count} scheduled job{'s' if count != 1 else ''} ({named}); "
                "unschedule them (POST /OrchestratorJobs/Unschedule) before deleting it."
            )
        store.delete_job_type(conn, job_type_id=job_type_id)


def _custom_name(conn: Connection, names: dict[uuid.UUID, str], job_type_id: uuid.UUID) -> str:
    """The name of the custom job type with this id; NotFoundError for an unknown id or a built-in type's."""
    name = names.get(job_type_id)
    if name is None or not store.is_custom(conn, job_type_id=job_type_id):
        raise _not_found(job_type_id)
    return name


def _refuse_taken_name(names: dict[uuid.UUID, str], name: str, *, job_type_id: uuid.UUID) -> None:
    """A 400 when a type other than this one has the name, in any case."""
    for other_id, other in names.items():
        if other_id != job_type_id and other.lower() == name.lower():
            raise InvalidRequestError(f"A job type named {other} already exists; job type names ignore case.")


def _row(conn: Connection, job_type_id: uuid.UUID) -> Record:
    row = listing.get_row(conn, JOB_TYPES, key=job_type_id)
    assert row is not None, "the job type was just written in this transaction"
    return row


def _not_found(job_type_id: uuid.UUID) -> NotFoundError:
    return NotFoundError(f"Custom job type {job_type_id} was not found.")
