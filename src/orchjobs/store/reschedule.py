"""Rescheduling the jobs of failed runs: the job becomes due now, so the next Heartbeat or Register of its
orchestrator hands it out. The history row stays as it is. Functions take a connection and never commit."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, and_, case, literal, select, update

from orchjobs.domain.scheduled_jobs import RESCHEDULABLE_RESULTS, RESCHEDULABLE_STATUSES
from orchjobs.store.rows import Record, chunks
from orchjobs.store.scheduled_jobs import reschedulable_job
from orchjobs.store.tables import job_history, scheduled_job


def reschedulable_run() -> ColumnElement[bool]:
    """History rows that failed for good: Result Failure, Status Completed or Acknowledged."""
    return and_(
        job_history.c.result.in_(sorted(RESCHEDULABLE_RESULTS)),
        job_history.c.status.in_(sorted(RESCHEDULABLE_STATUSES)),
    )


def jobs_of_failed_runs(where: ColumnElement[bool] | None) -> ColumnElement[bool]:
    """Scheduled jobs with a run that `where` (a history condition; None: any) selects and that failed for good."""
    runs = reschedulable_run() if where is None else and_(where, reschedulable_run())
    return scheduled_job.c.id.in_(select(job_history.c.job_id).where(runs))


def read_runs(conn: Connection, *, ids: Sequence[int]) -> dict[int, Record]:
    """`{id: (status, result, job_id)}` of the given history rows that exist."""
    found = {}
    for chunk in chunks(ids):
        stmt = select(job_history.c.id, job_history.c.status, job_history.c.result, job_history.c.job_id).where(
            job_history.c.id.in_(chunk)
        )
        found.update({row.id: row for row in conn.execute(stmt)})
    return found


def reschedulable(jobs: ColumnElement[bool]) -> ColumnElement[bool]:
    """Those of the jobs `jobs` selects that Reschedule changes: no run in flight, and of a kind that can be."""
    return and_(jobs, scheduled_job.c.running_history_id.is_(None), reschedulable_job())


def reschedule_jobs(conn: Connection, *, jobs: ColumnElement[bool], now: datetime) -> int:
    """Make the jobs `jobs` selects due now (one already overdue keeps its time) with a fresh retry budget, in one
    statement; only those that can be rescheduled and have no run in flight. Returns how many changed."""
    stmt = (
        update(scheduled_job)
        .where(reschedulable(jobs))
        .values(
            next_run_at=case(
                (scheduled_job.c.next_run_at < now, scheduled_job.c.next_run_at),
                else_=literal(now, scheduled_job.c.next_run_at.type),
            ),
            retry_count=0,
        )
    )
    return conn.execute(stmt).rowcount
