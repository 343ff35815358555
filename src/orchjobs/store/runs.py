"""The run in flight of a scheduled job: noting on it, closing it (the sweeper, Reset and Unschedule; the job calls'
own statements are in store.job_calls), and what its job does next. Functions take a connection and never commit.

Locks follow one order everywhere: the scheduled_job row first, then its history row, so dispatch, job calls and
the sweeper cannot deadlock one another.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, delete, insert, select, update

from orchjobs.domain.failure_groups import message_group
from orchjobs.domain.jobs import ACKNOWLEDGEABLE_RESULTS, IN_FLIGHT_STATUSES, JobResult, JobStatus
from orchjobs.store.rows import Record, chunks
from orchjobs.store.tables import job_history, job_result_data, scheduled_job

_IN_FLIGHT = sorted(int(status) for status in IN_FLIGHT_STATUSES)


def set_run_note(conn: Connection, *, history_id: int, note: str) -> None:
    """The message of a run in flight: a note its completion's message will carry."""
    conn.execute(update(job_history).where(job_history.c.id == history_id).values(message=note))


def close_runs(
    conn: Connection, *, history_ids: Sequence[int], status: int, result: int, message: str | None, end: datetime
) -> None:
    """Record the outcome of runs still in flight."""
    for chunk in chunks(history_ids):
        _close(conn, job_history.c.id.in_(chunk), status=status, result=result, message=message, end=end)


def close_orphaned_runs(conn: Connection, *, message: str, end: datetime) -> list[tuple[int, uuid.UUID]]:
    """Close as failed for good every run still in flight whose job is gone (unscheduled, or its orchestrator reset):
    no orchestrator can report on it now. Returns (history id, job id) of the runs it closed.

    In a statement of its own after the jobs' DELETE, so that on PostgreSQL it also sees a run that a dispatch running
    at the same time started just before the DELETE took the job (the DELETE waited for that dispatch to commit). Runs
    in flight are few, and found by the (status, …) index."""
    job_exists = select(scheduled_job.c.id).where(scheduled_job.c.id == job_history.c.job_id).exists()
    stmt = (
        update(job_history)
        .where(job_history.c.status.in_(_IN_FLIGHT), ~job_exists)
        .values(
            status=int(JobStatus.COMPLETED),
            result=int(JobResult.FAILURE),
            message=message,
            message_group=message_group(message),
            operation_end=end,
        )
        .returning(job_history.c.id, job_history.c.job_id)
    )
    return [(history_id, job_id) for history_id, job_id in conn.execute(stmt)]


def _close(
    conn: Connection, runs: ColumnElement[bool], *, status: int, result: int, message: str | None, end: datetime
) -> None:
    conn.execute(
        update(job_history)
        .where(runs, job_history.c.status.in_(_IN_FLIGHT))
        .values(
            status=status,
            result=result,
            message=message,
            message_group=message_group(message) if result in ACKNOWLEDGEABLE_RESULTS else None,
            operation_end=end,
        )
    )


def insert_result_data(conn: Connection, *, history_id: int, data: str) -> None:
    conn.execute(insert(job_result_data).values(job_history_id=history_id, data=data))


def requeue_jobs(conn: Connection, *, job_ids: Sequence[uuid.UUID], next_run_at: datetime) -> None:
    """Jobs whose run failed and that will retry: one more retry counted, due again at `next_run_at`."""
    for chunk in chunks(job_ids):
        conn.execute(
            update(scheduled_job)
            .where(scheduled_job.c.id.in_(chunk))
            .values(running_history_id=None, retry_count=scheduled_job.c.retry_count + 1, next_run_at=next_run_at)
        )


def finish_jobs(conn: Connection, *, job_ids: Sequence[uuid.UUID], keep: ColumnElement[bool] | None = None) -> None:
    """Jobs whose run is over for good: the ones without a next run (Immediate, ExactlyOnce) are deleted but those
    `keep` holds for, the others renewed (`renew_jobs`); their history stays."""
    delete_one_shot_jobs(conn, job_ids=job_ids, keep=keep)
    renew_jobs(conn, job_ids=job_ids)


def delete_one_shot_jobs(
    conn: Connection, *, job_ids: Sequence[uuid.UUID], keep: ColumnElement[bool] | None = None
) -> None:
    """Delete those of the jobs that have no next run, but those `keep` holds for; their history stays."""
    for chunk in chunks(job_ids):
        stmt = delete(scheduled_job).where(scheduled_job.c.id.in_(chunk), scheduled_job.c.next_run_at.is_(None))
        conn.execute(stmt if keep is None else stmt.where(~keep))


def renew_jobs(conn: Connection, *, job_ids: Sequence[uuid.UUID]) -> None:
    """Nothing in flight any more, and a fresh retry budget for the next run."""
    for chunk in chunks(job_ids):
        conn.execute(
            update(scheduled_job).where(scheduled_job.c.id.in_(chunk)).values(running_history_id=None, retry_count=0)
        )


def lock_overdue_runs(conn: Connection, *, started_before: datetime, limit: int) -> Sequence[Record]:
    """Up to `limit` runs in flight that started before `started_before`, as (job_id, history_id, retry_count),
    their jobs locked; jobs another transaction holds are skipped."""
    stmt = (
        select(
            scheduled_job.c.id.label("job_id"),
            scheduled_job.c.running_history_id.label("history_id"),
            scheduled_job.c.retry_count,
        )
        .select_from(scheduled_job.join(job_history, job_history.c.id == scheduled_job.c.running_history_id))
        .where(job_history.c.status.in_(_IN_FLIGHT), job_history.c.operation_start < started_before)
        .order_by(job_history.c.operation_start, job_history.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=scheduled_job)
    )
    return conn.execute(stmt).all()
