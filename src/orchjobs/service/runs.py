"""Closing runs in flight, with the retry rule: what Jobs/Complete and the timeout sweeper share."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from orchjobs.domain.jobs import JobResult, JobStatus, RetryPolicy
from orchjobs.service.webhook_events import record_runs_closed
from orchjobs.store import runs as store
from orchjobs.store.scheduled_jobs import reschedulable_job


@dataclass(frozen=True)
class OpenRun:
    """A run in flight, as closing it needs it."""

    job_id: uuid.UUID
    history_id: int
    retry_count: int
    # Whether the job has a next run, when the caller read it under the job's lock (None: not known).
    has_next_run: bool | None = None


def close_runs(
    conn: Connection, *, runs: Sequence[OpenRun], result: int, message: str | None, now: datetime, policy: RetryPolicy
) -> None:
    """Close runs in flight with one result. A failed run with retries left is CompletedWillRetry and its job is
    due again after the retry delay (a one-shot job too); every other run is Completed, its job's retry budget is
    renewed, and a job with no next run (Immediate, ExactlyOnce) is deleted, unless its run failed and it can be
    rescheduled (a Management, Reenrollment or Discovery job): that one stays, with no next run, until it is
    rescheduled or unscheduled. Set-based: a few statements, and the webhook events of the closed runs when some
    webhook subscribes to them (service.webhook_events)."""
    retrying = [run for run in runs if policy.retries_after(result=result, retry_count=run.retry_count)]
    final = [run for run in runs if not policy.retries_after(result=result, retry_count=run.retry_count)]
    for group, status in ((retrying, JobStatus.COMPLETED_WILL_RETRY), (final, JobStatus.COMPLETED)):
        if group:
            store.close_runs(
                conn,
                history_ids=[run.history_id for run in group],
                status=int(status),
                result=result,
                message=message,
                end=now,
            )
            runs_closed = [(run.history_id, run.job_id) for run in group]
            record_runs_closed(conn, runs=runs_closed, status=int(status), result=result, at=now)
    if retrying:
        retry_at = now + timedelta(minutes=policy.delay_minutes)
        store.requeue_jobs(conn, job_ids=[run.job_id for run in retrying], next_run_at=retry_at)
    # A job whose next run is known needs only the statement that applies to it.
    ending = [run.job_id for run in final if run.has_next_run is False]
    going_on = [run.job_id for run in final if run.has_next_run is True]
    unknown = [run.job_id for run in final if run.has_next_run is None]
    keep = reschedulable_job() if result == JobResult.FAILURE else None
    if keep is not None:
        # Some one-shot jobs stay: they need renewing as well as the others.
        unknown, ending = unknown + ending, []
    if ending:
        store.delete_one_shot_jobs(conn, job_ids=ending)
    if going_on:
        store.renew_jobs(conn, job_ids=going_on)
    if unknown:
        store.finish_jobs(conn, job_ids=unknown, keep=keep)
