"""Scheduled jobs as an operator sees them (GET /OrchestratorJobs/ScheduledJobs) and unscheduling them. Functions
take a connection and never commit.

A scheduled job whose run failed for good and that has no next run (a one-shot Management, Reenrollment or
Discovery job) stays in the table so that it can be rescheduled (`reschedulable_job`, kept by `service.runs`), but
it is not listed: ScheduledJobs lists the jobs that will run or are running (`will_run`).
"""

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, Connection, and_, delete, func, or_, select

from orchjobs.domain.jobs import IN_FLIGHT_STATUSES
from orchjobs.domain.scheduled_jobs import (
    CUSTOM_RESCHEDULABLE_FORMS,
    NOT_RESCHEDULABLE_KINDS,
    NOT_UNSCHEDULABLE_KINDS,
    kind_names,
)
from orchjobs.query.fields import SCHEDULED_JOB_FIELDS
from orchjobs.store.dialects import raw_datetime, uuid_text
from orchjobs.store.listing import ListResource
from orchjobs.store.rows import Record, chunks
from orchjobs.store.tables import agent, job_type, scheduled_job

_IN_FLIGHT = sorted(int(status) for status in IN_FLIGHT_STATUSES)
# The FROM of the resource: ClientMachine and JobType live in the agent and job_type tables.
_OF_AGENT = agent.c.id == scheduled_job.c.agent_id
_OF_TYPE = job_type.c.id == scheduled_job.c.job_type_id
SOURCE = scheduled_job.join(agent, _OF_AGENT).join(job_type, _OF_TYPE)
_CLIENT_MACHINE = agent.c.client_machine.label("client_machine")
_JOB_TYPE = job_type.c.name.label("job_type")


def will_run() -> ColumnElement[bool]:
    """Jobs that have a next run or a run in flight: not one kept only so that it can be rescheduled."""
    return or_(scheduled_job.c.next_run_at.is_not(None), scheduled_job.c.running_history_id.is_not(None))


# Column order is what the api unpacks; ids and times are read for serialization only (see store.history).
SCHEDULED_JOBS = ListResource(
    table=scheduled_job,
    fields=SCHEDULED_JOB_FIELDS,
    columns=(
        uuid_text(scheduled_job.c.id).label("id"),
        _CLIENT_MACHINE,
        scheduled_job.c.target_path,
        scheduled_job.c.schedule,
        raw_datetime(scheduled_job.c.requested_at),
        _JOB_TYPE,
        uuid_text(scheduled_job.c.agent_id).label("agent_id"),
        raw_datetime(scheduled_job.c.next_run_at),
    ),
    # Newest request first unless a sort field is named; the (requested_at, id) index serves it.
    default_sort="Requested",
    default_descending=True,
    source=SOURCE,
    joined_columns=(_CLIENT_MACHINE, _JOB_TYPE),
    scope=will_run(),
)


def reschedulable_job() -> ColumnElement[bool]:
    """Jobs of a type, and on a schedule, that can be rescheduled (`domain.scheduled_jobs.can_reschedule_job`)."""
    never = kind_names(NOT_RESCHEDULABLE_KINDS)
    store_types = select(job_type.c.id).where(~job_type.c.is_custom, func.lower(job_type.c.name).not_in(never))
    custom_types = select(job_type.c.id).where(job_type.c.is_custom, func.lower(job_type.c.name).not_in(never))
    # Never unknown (NULL), so that its negation holds for every job it does not hold for.
    custom_forms = and_(
        scheduled_job.c.schedule_type.is_not(None),
        or_(*(scheduled_job.c.schedule_type.startswith(form, autoescape=True) for form in CUSTOM_RESCHEDULABLE_FORMS)),
    )
    return or_(
        scheduled_job.c.job_type_id.in_(store_types),
        scheduled_job.c.job_type_id.in_(custom_types) & custom_forms,
    )


def unschedulable_job() -> ColumnElement[bool]:
    """Jobs of a type that can be unscheduled (`domain.scheduled_jobs.unschedule_refusal`)."""
    never = kind_names(NOT_UNSCHEDULABLE_KINDS)
    return scheduled_job.c.job_type_id.in_(select(job_type.c.id).where(func.lower(job_type.c.name).not_in(never)))


def lock_jobs(conn: Connection, *, job_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Record]:
    """`{id: (job_type, is_custom, schedule_type, running_history_id)}` of the given jobs that exist, locked until the
    transaction ends."""
    found = {}
    for chunk in chunks(job_ids):
        stmt = (
            select(
                scheduled_job.c.id,
                job_type.c.name.label("job_type"),
                job_type.c.is_custom,
                scheduled_job.c.schedule_type,
                scheduled_job.c.running_history_id,
            )
            .select_from(scheduled_job.join(job_type, job_type.c.id == scheduled_job.c.job_type_id))
            .where(scheduled_job.c.id.in_(chunk))
            .with_for_update(of=scheduled_job)
        )
        found.update({row.id: row for row in conn.execute(stmt)})
    return found


def delete_jobs(conn: Connection, *, jobs: ColumnElement[bool] | None) -> int:
    """Delete the jobs that `jobs` (a condition over SOURCE's columns; None: all) selects and that can be unscheduled,
    in one statement; their history stays. Their runs still in flight are closed next, by
    `store.runs.close_orphaned_runs`. Returns how many were deleted."""
    eligible = unschedulable_job() if jobs is None else and_(jobs, unschedulable_job())
    if conn.dialect.name == "postgresql":
        # DELETE … USING agent, job_type: as fast as a plain DELETE; an IN over the join reads the table twice.
        return conn.execute(delete(scheduled_job).where(_OF_AGENT, _OF_TYPE, eligible)).rowcount
    # SQLite has no DELETE … USING.
    selected = select(scheduled_job.c.id).select_from(SOURCE).where(eligible)
    return conn.execute(delete(scheduled_job).where(scheduled_job.c.id.in_(selected))).rowcount
