"""Reschedule: the jobs of runs that failed for good become due now, so that the next Heartbeat or Register of their
orchestrator hands them out again (docs: keyfactor-api.md §3.7; the rules are `domain.scheduled_jobs`).

By `JobAuditIds` it is all or nothing: an unknown or ineligible run refuses the whole request with a FailedOperation
per id, and nothing changes. By `Query` (over job history) only the jobs of eligible runs are rescheduled, in one
statement. The history rows stay as they are; a rescheduled job gets a fresh retry budget.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine

from orchjobs.domain.scheduled_jobs import JobFacts, reschedule_refusal
from orchjobs.errors import BulkOperationError, FailedOperation
from orchjobs.service.listing import condition
from orchjobs.service.selection import Selection
from orchjobs.store import reschedule as store
from orchjobs.store.engine import write_transaction
from orchjobs.store.history import JOB_HISTORY
from orchjobs.store.rows import Record
from orchjobs.store.scheduled_jobs import lock_jobs

__all__ = ["reschedule_jobs"]


def reschedule_jobs(
    engine: Engine, selection: Selection[int], *, now: datetime, max_ids: int, max_query_length: int
) -> int:
    """Make the jobs of failed runs due now; returns how many jobs changed."""
    selection.validate(max_ids=max_ids)
    if selection.ids is None:
        where = condition(JOB_HISTORY, selection.query, now=now, max_length=max_query_length)
        with write_transaction(engine) as conn:
            return store.reschedule_jobs(conn, jobs=store.jobs_of_failed_runs(where), now=now)
    ids = selection.distinct_ids()
    with write_transaction(engine) as conn:
        runs = store.read_runs(conn, ids=ids)
        job_ids = list(dict.fromkeys(run.job_id for run in runs.values()))
        jobs = lock_jobs(conn, job_ids=job_ids)
        _refuse_ineligible(ids, runs, jobs)
        return store.reschedule_job_ids(conn, job_ids=job_ids, now=now)


def _refuse_ineligible(ids: Sequence[int], runs: dict[int, Record], jobs: dict[uuid.UUID, Record]) -> None:
    failed = []
    for history_id in ids:
        run = runs.get(history_id)
        if run is None:
            failed.append(FailedOperation(history_id, f"Job history entry {history_id} was not found."))
            continue
        reason = reschedule_refusal(status=run.status, result=run.result, job=_facts(jobs.get(run.job_id)))
        if reason:
            failed.append(FailedOperation(history_id, reason))
    if failed:
        raise BulkOperationError(
            f"{len(failed)} of the {len(ids)} jobs cannot be rescheduled; no job was changed.", failed
        )


def _facts(job: Record | None) -> JobFacts | None:
    if job is None:
        return None
    return JobFacts(
        job_type=job.job_type,
        is_custom=bool(job.is_custom),
        schedule_type=job.schedule_type,
        in_flight=job.running_history_id is not None,
    )
