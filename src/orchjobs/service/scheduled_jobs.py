"""Scheduled jobs: listed through `service.listing` as the resource `SCHEDULED_JOBS`, and unscheduled here (docs:
keyfactor-api.md §3.8; the rule is `domain.scheduled_jobs.unschedule_refusal`).

Unschedule deletes the job and keeps its history; a run of it still in flight is closed as failed for good, as
Reset closes the runs of an orchestrator, since no report on it will be taken now. By `JobIds` it is all or
nothing; by `Query` (the ScheduledJobs fields, over the jobs ScheduledJobs lists) only the eligible jobs go.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, Engine, and_, true

from orchjobs.domain.audit import AuditAction, AuditResource
from orchjobs.domain.jobs import JobResult, JobStatus
from orchjobs.domain.scheduled_jobs import unschedule_refusal
from orchjobs.errors import BulkOperationError, FailedOperation
from orchjobs.service import audit, previews
from orchjobs.service.listing import condition
from orchjobs.service.selection import Selection
from orchjobs.service.webhook_events import record_runs_closed
from orchjobs.store import runs
from orchjobs.store import scheduled_jobs as store
from orchjobs.store.engine import write_transaction
from orchjobs.store.rows import Record
from orchjobs.store.scheduled_jobs import SCHEDULED_JOBS, SOURCE, unschedulable_job
from orchjobs.store.tables import scheduled_job

__all__ = ["SCHEDULED_JOBS", "UNSCHEDULE_MESSAGE", "preview_unschedule", "unschedule_jobs"]

UNSCHEDULE_MESSAGE = "The job was unscheduled while it was in flight."


UNSCHEDULE = "Unschedule"


def unschedule_jobs(
    engine: Engine,
    selection: Selection[uuid.UUID],
    *,
    actor: str,
    now: datetime,
    max_ids: int,
    max_query_length: int,
    preview_token: str | None = None,
) -> int:
    """Delete scheduled jobs (their history stays), closing their runs in flight as failed; returns how many jobs
    went. With a preview token, exactly the previewed jobs or nothing (service.previews)."""
    selection.validate(max_ids=max_ids)
    key = previews.digest(UNSCHEDULE, selection, SCHEDULED_JOBS, max_query_length=max_query_length)
    at = previews.moment(engine, action=UNSCHEDULE, digest=key, token=preview_token, now=now)
    change_set = _changes(selection, at, max_query_length=max_query_length, user=actor)
    with write_transaction(engine) as conn:
        if selection.ids is not None:
            ids = selection.distinct_ids()
            _refuse_ineligible(ids, store.lock_jobs(conn, job_ids=ids))
        previews.hold_unchanged(conn, change_set, at)
        count = store.delete_jobs(conn, jobs=change_set.selected)
        previews.check_changed(count, at)
        _close_orphaned_runs(conn, now=now)
        audit.note(
            conn,
            AuditAction.UNSCHEDULE,
            AuditResource.SCHEDULED_JOBS,
            actor=actor,
            at=now,
            ids=None if selection.ids is None else selection.distinct_ids(),
            row_count=count,
            query=selection.query,
        )
        return count


def preview_unschedule(
    engine: Engine, selection: Selection[uuid.UUID], *, actor: str, now: datetime, max_ids: int, max_query_length: int
) -> previews.Preview:
    """What Unschedule with this selection would delete, and its token."""
    return previews.preview(
        engine,
        action=UNSCHEDULE,
        selection=selection,
        resource=SCHEDULED_JOBS,
        now=now,
        max_ids=max_ids,
        max_query_length=max_query_length,
        bound=lambda _conn: None,
        changes=lambda at: _changes(selection, at, max_query_length=max_query_length, user=actor),
    )


def _changes(
    selection: Selection[uuid.UUID], at: previews.Moment, *, max_query_length: int, user: str
) -> previews.ChangeSet:
    """The jobs the selection names (ids, or the query over what ScheduledJobs lists), less those requested after
    a preview's moment; the ones that go are those that can be unscheduled."""
    named: ColumnElement[bool]
    if selection.ids is not None:
        named = scheduled_job.c.id.in_(selection.distinct_ids())
    else:
        where = condition(SCHEDULED_JOBS, selection.query, now=at.at, max_length=max_query_length, user=user)
        named = true() if where is None else where
    jobs = and_(named, scheduled_job.c.requested_at <= at.at) if at.fixed else named
    return previews.ChangeSet(SOURCE, scheduled_job.c.id, and_(jobs, unschedulable_job()), SOURCE, jobs)


def _close_orphaned_runs(conn: Connection, *, now: datetime) -> None:
    """The unscheduled jobs' runs in flight are failed for good, and announced to webhooks as such."""
    closed = runs.close_orphaned_runs(conn, message=UNSCHEDULE_MESSAGE, end=now)
    record_runs_closed(conn, runs=closed, status=int(JobStatus.COMPLETED), result=int(JobResult.FAILURE), at=now)


def _refuse_ineligible(ids: Sequence[uuid.UUID], jobs: dict[uuid.UUID, Record]) -> None:
    failed = []
    for job_id in ids:
        job = jobs.get(job_id)
        reason = f"Scheduled job {job_id} was not found." if job is None else unschedule_refusal(job_type=job.job_type)
        if reason:
            failed.append(FailedOperation(str(job_id), reason))
    if failed:
        raise BulkOperationError(
            f"{len(failed)} of the {len(ids)} jobs cannot be unscheduled; no job was changed.", failed
        )
