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

from orchjobs.domain.audit import AuditAction, AuditResource
from orchjobs.domain.scheduled_jobs import JobFacts, reschedule_refusal
from orchjobs.errors import BulkOperationError, FailedOperation
from orchjobs.service import audit, previews
from orchjobs.service.history import history_selection, newest_history_id
from orchjobs.service.selection import Selection
from orchjobs.store import reschedule as store
from orchjobs.store.engine import write_transaction
from orchjobs.store.history import JOB_HISTORY
from orchjobs.store.rows import Record
from orchjobs.store.scheduled_jobs import lock_jobs
from orchjobs.store.tables import job_history, scheduled_job

__all__ = ["preview_reschedule", "reschedule_jobs"]


RESCHEDULE = "Reschedule"


def reschedule_jobs(
    engine: Engine,
    selection: Selection[int],
    *,
    actor: str,
    now: datetime,
    max_ids: int,
    max_query_length: int,
    preview_token: str | None = None,
) -> int:
    """Make the jobs of failed runs due now; returns how many jobs changed. With a preview token, exactly the
    previewed jobs or nothing (service.previews)."""
    selection.validate(max_ids=max_ids)
    key = previews.digest(RESCHEDULE, selection, JOB_HISTORY, max_query_length=max_query_length)
    at = previews.moment(engine, action=RESCHEDULE, digest=key, token=preview_token, now=now)
    change_set = _changes(selection, at, max_query_length=max_query_length, user=actor)
    with write_transaction(engine) as conn:
        if selection.ids is not None:
            ids = selection.distinct_ids()
            runs = store.read_runs(conn, ids=ids)
            jobs = lock_jobs(conn, job_ids=list(dict.fromkeys(run.job_id for run in runs.values())))
            _refuse_ineligible(ids, runs, jobs)
        previews.hold_unchanged(conn, change_set, at)
        count = store.reschedule_jobs(conn, jobs=store.jobs_of_failed_runs(change_set.selected), now=now)
        previews.check_changed(count, at)
        audit.note(
            conn,
            AuditAction.RESCHEDULE,
            AuditResource.JOB_HISTORY,
            actor=actor,
            at=now,
            ids=None if selection.ids is None else selection.distinct_ids(),
            row_count=count,
            query=selection.query,
        )
        return count


def preview_reschedule(
    engine: Engine, selection: Selection[int], *, actor: str, now: datetime, max_ids: int, max_query_length: int
) -> previews.Preview:
    """What Reschedule with this selection would change (the jobs, by id), and its token."""
    return previews.preview(
        engine,
        action=RESCHEDULE,
        selection=selection,
        resource=JOB_HISTORY,
        now=now,
        max_ids=max_ids,
        max_query_length=max_query_length,
        bound=newest_history_id,
        changes=lambda at: _changes(selection, at, max_query_length=max_query_length, user=actor),
    )


def _changes(selection: Selection[int], at: previews.Moment, *, max_query_length: int, user: str) -> previews.ChangeSet:
    """Selected: the history rows; changed: the jobs of those that failed for good."""
    runs = previews.bounded(
        history_selection(selection, at=at.at, max_query_length=max_query_length, user=user), job_history.c.id, at.bound
    )
    jobs = store.reschedulable(store.jobs_of_failed_runs(runs))
    return previews.ChangeSet(scheduled_job, scheduled_job.c.id, jobs, job_history, runs)


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
