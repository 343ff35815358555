"""Scheduled jobs: listed through `service.listing` as the resource `SCHEDULED_JOBS`, and unscheduled here (docs:
keyfactor-api.md §3.8; the rule is `domain.scheduled_jobs.unschedule_refusal`).

Unschedule deletes the job and keeps its history; a run of it still in flight is closed as failed for good, as
Reset closes the runs of an orchestrator, since no report on it will be taken now. By `JobIds` it is all or
nothing; by `Query` (the ScheduledJobs fields, over the jobs ScheduledJobs lists) only the eligible jobs go.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, Engine

from orchjobs.domain.jobs import JobResult, JobStatus
from orchjobs.domain.scheduled_jobs import unschedule_refusal
from orchjobs.errors import BulkOperationError, FailedOperation
from orchjobs.service.listing import condition
from orchjobs.service.selection import Selection
from orchjobs.service.webhook_events import record_runs_closed
from orchjobs.store import runs
from orchjobs.store import scheduled_jobs as store
from orchjobs.store.engine import write_transaction
from orchjobs.store.rows import Record
from orchjobs.store.scheduled_jobs import SCHEDULED_JOBS

__all__ = ["SCHEDULED_JOBS", "UNSCHEDULE_MESSAGE", "unschedule_jobs"]

UNSCHEDULE_MESSAGE = "The job was unscheduled while it was in flight."


def unschedule_jobs(
    engine: Engine, selection: Selection[uuid.UUID], *, now: datetime, max_ids: int, max_query_length: int
) -> None:
    """Delete scheduled jobs (their history stays), closing their runs in flight as failed."""
    selection.validate(max_ids=max_ids)
    if selection.ids is None:
        where = condition(SCHEDULED_JOBS, selection.query, now=now, max_length=max_query_length)
        with write_transaction(engine) as conn:
            store.delete_jobs(conn, jobs=where)
            _close_orphaned_runs(conn, now=now)
        return
    ids = selection.distinct_ids()
    with write_transaction(engine) as conn:
        _refuse_ineligible(ids, store.lock_jobs(conn, job_ids=ids))
        store.delete_job_ids(conn, job_ids=ids)
        _close_orphaned_runs(conn, now=now)


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
