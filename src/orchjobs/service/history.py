"""Job-history use cases: read result data, acknowledge and un-acknowledge, the failure count. History lists and
counts through `service.listing` as the resource `JOB_HISTORY`."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from orchjobs.domain.jobs import MAX_NOTE_LENGTH, acknowledge_refusal, failure_count_query
from orchjobs.errors import BulkOperationError, FailedOperation, InvalidRequestError, NotFoundError
from orchjobs.service.app_settings import read_service_settings
from orchjobs.service.listing import condition
from orchjobs.service.selection import Selection
from orchjobs.service.webhook_events import record_acknowledgement
from orchjobs.store import history as store
from orchjobs.store import listing
from orchjobs.store.engine import read_transaction, write_transaction
from orchjobs.store.history import JOB_HISTORY
from orchjobs.store.tables import job_history

__all__ = [
    "JOB_HISTORY",
    "FailureCount",
    "acknowledge_jobs",
    "failure_count",
    "get_job_result_data",
    "unacknowledge_jobs",
]


@dataclass(frozen=True)
class FailureCount:
    count: int
    age_out_days: int
    query: str


def get_job_result_data(engine: Engine, *, job_history_id: int) -> str:
    """The data a custom or FetchLogs job uploaded for this run ("" when it uploaded none)."""
    with read_transaction(engine) as conn:
        exists, data = store.get_result_data(conn, job_history_id=job_history_id)
    if not exists:
        raise NotFoundError(f"Job history entry {job_history_id} was not found.")
    return data or ""


def acknowledge_jobs(
    engine: Engine,
    selection: Selection[int],
    *,
    user: str,
    note: str | None,
    now: datetime,
    max_ids: int,
    max_query_length: int,
) -> int:
    """Acknowledge failed and warning runs; returns how many changed. All or nothing for ids. A request that changed
    some raises one FailuresAcknowledged webhook event, in its transaction."""
    if note is not None and len(note) > MAX_NOTE_LENGTH:
        raise InvalidRequestError(f"Note may be at most {MAX_NOTE_LENGTH} characters long; got {len(note)}.")
    selection.validate(max_ids=max_ids)
    if selection.ids is None:
        where = condition(JOB_HISTORY, selection.query, now=now, max_length=max_query_length)
        with write_transaction(engine) as conn:
            count = store.acknowledge_history(conn, where=where, acknowledged_by=user, note=note, at=now)
            record_acknowledgement(conn, count=count, acknowledged_by=user, note=note, at=now)
            return count
    ids = selection.distinct_ids()
    with write_transaction(engine) as conn:
        _refuse_ineligible(store.lock_history_states(conn, ids=ids), ids)
        count = store.acknowledge_history(
            conn, where=job_history.c.id.in_(ids), acknowledged_by=user, note=note, at=now
        )
        record_acknowledgement(conn, count=count, acknowledged_by=user, note=note, at=now)
        return count


def unacknowledge_jobs(
    engine: Engine, selection: Selection[int], *, now: datetime, max_ids: int, max_query_length: int
) -> int:
    """Undo acknowledgements: each row gets back the status it had; returns how many changed."""
    selection.validate(max_ids=max_ids)
    if selection.ids is None:
        where = condition(JOB_HISTORY, selection.query, now=now, max_length=max_query_length)
    else:
        where = job_history.c.id.in_(selection.distinct_ids())
    with write_transaction(engine) as conn:
        return store.unacknowledge_history(conn, where=where)


def failure_count(engine: Engine, *, now: datetime) -> FailureCount:
    """Failed and warning runs still waiting for an operator within the age-out window."""
    with read_transaction(engine) as conn:
        days = read_service_settings(conn).age_out_days
        query = failure_count_query(days)
        where = condition(JOB_HISTORY, query, now=now, max_length=len(query))
        return FailureCount(count=listing.count_rows(conn, JOB_HISTORY, where=where), age_out_days=days, query=query)


def _refuse_ineligible(states: dict[int, tuple[int, int]], ids: Sequence[int]) -> None:
    failed = []
    for job_history_id in ids:
        if job_history_id not in states:
            failed.append(FailedOperation(job_history_id, f"Job history entry {job_history_id} was not found."))
            continue
        status, result = states[job_history_id]
        reason = acknowledge_refusal(status=status, result=result)
        if reason:
            failed.append(FailedOperation(job_history_id, reason))
    if failed:
        raise BulkOperationError(
            f"{len(failed)} of the {len(ids)} jobs cannot be acknowledged; no job was changed.", failed
        )
