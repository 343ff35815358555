"""Job-history use cases: read result data, acknowledge and un-acknowledge, the failure count. History lists and
counts through `service.listing` as the resource `JOB_HISTORY`."""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, Connection, Engine, and_, true

from orchjobs.domain.audit import SYSTEM_ACTOR, AuditAction, AuditResource
from orchjobs.domain.failure_groups import group_query
from orchjobs.domain.jobs import MAX_NOTE_LENGTH, acknowledge_refusal, failure_count_query
from orchjobs.errors import BulkOperationError, FailedOperation, InvalidRequestError, NotFoundError
from orchjobs.service import audit, previews
from orchjobs.service.app_settings import read_service_settings
from orchjobs.service.listing import condition
from orchjobs.service.selection import Selection
from orchjobs.service.webhook_events import record_acknowledgement
from orchjobs.store import history as store
from orchjobs.store import listing
from orchjobs.store.dialects import custom_plans
from orchjobs.store.engine import read_transaction, write_transaction
from orchjobs.store.history import JOB_HISTORY, acknowledgeable, acknowledged
from orchjobs.store.tables import job_history

__all__ = [
    "JOB_HISTORY",
    "FailureCount",
    "FailureGroup",
    "acknowledge_jobs",
    "auto_acknowledgement_note",
    "record_auto_acknowledgement",
    "failure_count",
    "failure_groups",
    "get_job_result_data",
    "preview_acknowledge",
    "preview_unacknowledge",
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


ACKNOWLEDGE = "Acknowledge"
UNACKNOWLEDGE = "Unacknowledge"


def acknowledge_jobs(
    engine: Engine,
    selection: Selection[int],
    *,
    actor: str,
    note: str | None,
    now: datetime,
    max_ids: int,
    max_query_length: int,
    preview_token: str | None = None,
) -> int:
    """Acknowledge failed and warning runs; returns how many changed. All or nothing for ids; with a preview token,
    exactly the previewed rows or nothing (service.previews). A request that changed some raises one
    FailuresAcknowledged webhook event, and writes one audit entry, in its transaction."""
    if note is not None and len(note) > MAX_NOTE_LENGTH:
        raise InvalidRequestError(f"Note may be at most {MAX_NOTE_LENGTH} characters long; got {len(note)}.")
    selection.validate(max_ids=max_ids)
    key = previews.digest(ACKNOWLEDGE, selection, JOB_HISTORY, max_query_length=max_query_length)
    at = previews.moment(engine, action=ACKNOWLEDGE, digest=key, token=preview_token, now=now)
    change_set = _acknowledge_changes(_selected(selection, at, max_query_length=max_query_length, user=actor), at)
    with write_transaction(engine) as conn:
        if selection.ids is not None:
            ids = selection.distinct_ids()
            _refuse_ineligible(store.lock_history_states(conn, ids=ids), ids)
        previews.hold_unchanged(conn, change_set, at)
        count = store.acknowledge_history(conn, where=change_set.selected, acknowledged_by=actor, note=note, at=now)
        previews.check_changed(count, at)
        record_acknowledgement(conn, count=count, acknowledged_by=actor, note=note, at=now)
        _audit(conn, AuditAction.ACKNOWLEDGE, selection, actor=actor, count=count, at=now, note=note, at_preview=at)
        return count


def preview_acknowledge(
    engine: Engine, selection: Selection[int], *, actor: str, now: datetime, max_ids: int, max_query_length: int
) -> previews.Preview:
    """What Acknowledge with this selection would change; its token makes Acknowledge change exactly that."""
    return _preview(
        engine, actor, ACKNOWLEDGE, _acknowledge_changes, selection, now=now, max_ids=max_ids, limit=max_query_length
    )


def unacknowledge_jobs(
    engine: Engine,
    selection: Selection[int],
    *,
    actor: str,
    now: datetime,
    max_ids: int,
    max_query_length: int,
    preview_token: str | None = None,
) -> int:
    """Undo acknowledgements: each row gets back the status it had; returns how many changed."""
    selection.validate(max_ids=max_ids)
    key = previews.digest(UNACKNOWLEDGE, selection, JOB_HISTORY, max_query_length=max_query_length)
    at = previews.moment(engine, action=UNACKNOWLEDGE, digest=key, token=preview_token, now=now)
    change_set = _unacknowledge_changes(_selected(selection, at, max_query_length=max_query_length, user=actor), at)
    with write_transaction(engine) as conn:
        previews.hold_unchanged(conn, change_set, at)
        count = store.unacknowledge_history(conn, where=change_set.selected)
        previews.check_changed(count, at)
        _audit(conn, AuditAction.UNACKNOWLEDGE, selection, actor=actor, count=count, at=now, at_preview=at)
        return count


def preview_unacknowledge(
    engine: Engine, selection: Selection[int], *, actor: str, now: datetime, max_ids: int, max_query_length: int
) -> previews.Preview:
    """What Unacknowledge with this selection would change, and its token."""
    return _preview(
        engine,
        actor,
        UNACKNOWLEDGE,
        _unacknowledge_changes,
        selection,
        now=now,
        max_ids=max_ids,
        limit=max_query_length,
    )


def auto_acknowledgement_note(succeeded_run: int) -> str:
    """The note of the runs AutoAcknowledgeFailures acknowledges when run `succeeded_run` of their job succeeded."""
    return f"Acknowledged automatically: run {succeeded_run} of the same job succeeded."


def record_auto_acknowledgement(
    conn: Connection, *, count: int, job_id: uuid.UUID, succeeded_run: int, now: datetime
) -> None:
    """What acknowledging `count` earlier failures of the job automatically leaves behind, in the success's own
    transaction: a webhook event and an audit entry, like any acknowledgement (the UPDATE is the completion's own,
    store.job_calls.close_run)."""
    note = auto_acknowledgement_note(succeeded_run)
    record_acknowledgement(conn, count=count, acknowledged_by=SYSTEM_ACTOR, note=note, at=now)
    audit.note(
        conn,
        AuditAction.AUTO_ACKNOWLEDGE,
        AuditResource.JOB_HISTORY,
        actor=SYSTEM_ACTOR,
        at=now,
        row_count=count,
        details={"JobId": str(job_id), "SucceededRun": succeeded_run},
    )


def history_selection(
    selection: Selection[int], *, at: datetime, max_query_length: int, user: str
) -> ColumnElement[bool]:
    """The history rows a selection names: its ids, or its query resolved at `at` (and %ME% as `user`)."""
    if selection.ids is not None:
        return job_history.c.id.in_(selection.distinct_ids())
    where = condition(JOB_HISTORY, selection.query, now=at, max_length=max_query_length, user=user)
    return true() if where is None else where


def newest_history_id(conn: Connection) -> int:
    """The bound of a history preview: rows recorded after it are not part of the previewed set."""
    return store.newest_history_id(conn)


def _selected(
    selection: Selection[int], at: previews.Moment, *, max_query_length: int, user: str
) -> ColumnElement[bool]:
    return history_selection(selection, at=at.at, max_query_length=max_query_length, user=user)


def _acknowledge_changes(selected: ColumnElement[bool], at: previews.Moment) -> previews.ChangeSet:
    rows = previews.bounded(selected, job_history.c.id, at.bound)
    return previews.ChangeSet(job_history, job_history.c.id, and_(rows, acknowledgeable()), job_history, rows)


def _unacknowledge_changes(selected: ColumnElement[bool], at: previews.Moment) -> previews.ChangeSet:
    rows = previews.bounded(selected, job_history.c.id, at.bound)
    return previews.ChangeSet(job_history, job_history.c.id, and_(rows, acknowledged()), job_history, rows)


def _preview(
    engine: Engine,
    actor: str,
    action: str,
    changes: Callable[[ColumnElement[bool], previews.Moment], previews.ChangeSet],
    selection: Selection[int],
    *,
    now: datetime,
    max_ids: int,
    limit: int,
) -> previews.Preview:
    return previews.preview(
        engine,
        action=action,
        selection=selection,
        resource=JOB_HISTORY,
        now=now,
        max_ids=max_ids,
        max_query_length=limit,
        bound=newest_history_id,
        changes=lambda at: changes(_selected(selection, at, max_query_length=limit, user=actor), at),
    )


def _audit(
    conn: Connection,
    action: AuditAction,
    selection: Selection[int],
    *,
    actor: str,
    count: int,
    at: datetime,
    at_preview: previews.Moment,
    note: str | None = None,
) -> None:
    details: dict[str, object] = {}
    if note is not None:
        details["Note"] = note
    if at_preview.token is not None:
        details["PreviewedAt"] = at_preview.at.isoformat()
    audit.note(
        conn,
        action,
        AuditResource.JOB_HISTORY,
        actor=actor,
        at=at,
        ids=None if selection.ids is None else selection.distinct_ids(),
        row_count=count,
        query=selection.query,
        details=details or None,
    )


def failure_count(engine: Engine, *, now: datetime) -> FailureCount:
    """Failed and warning runs still waiting for an operator within the age-out window."""
    with read_transaction(engine) as conn:
        days = read_service_settings(conn).age_out_days
        query = failure_count_query(days)
        if conn.dialect.name == "postgresql":
            # The query's %TODAY-N% is the start of a UTC day: the per-day counts of the window add up to its runs.
            since = now.astimezone(UTC).date() - timedelta(days=days)
            return FailureCount(count=store.count_open_failures(conn, since=since), age_out_days=days, query=query)
        where = condition(JOB_HISTORY, query, now=now, max_length=len(query))
        return FailureCount(count=listing.count_rows(conn, JOB_HISTORY, where=where), age_out_days=days, query=query)


def recount_open_failures(engine: Engine) -> int | None:
    """PostgreSQL: make FailureCount's per-day counts again from the runs (`orchjobs recount-failures`); the open
    failures counted. None on SQLite, which counts the runs each time."""
    if engine.dialect.name != "postgresql":
        return None
    with write_transaction(engine) as conn:
        return store.recount_open_failures(conn)


@dataclass(frozen=True)
class FailureGroup:
    """Open failures that are the same failure: same job type, orchestrator, target and folded message."""

    count: int
    job_type: str
    agent_id: str
    client_machine: str
    target_path: str | None
    message_group: str | None
    first_seen: datetime
    last_seen: datetime
    last_message: str | None
    query: str


def failure_groups(
    engine: Engine, *, query: str | None, page: int, limit: int, now: datetime, max_query_length: int, user: str
) -> list[FailureGroup]:
    """The open failures of the failure count (narrowed by `query`, if any) in groups, largest first, each with the
    query that selects exactly its runs (to preview and acknowledge it in one step)."""
    narrowing = condition(JOB_HISTORY, query, now=now, max_length=max_query_length, user=user)
    with read_transaction(engine) as conn:
        custom_plans(conn)
        base = failure_count_query(read_service_settings(conn).age_out_days)
        where = condition(JOB_HISTORY, base, now=now, max_length=len(base))
        assert where is not None
        if narrowing is not None:
            where = and_(narrowing, where)
            base = f"({query}) AND {base}"
        rows = store.failure_groups(conn, where=where, limit=limit, offset=(page - 1) * limit)
        messages = store.messages_of(conn, ids=[row.last_id for row in rows])
    return [
        FailureGroup(
            count=row.run_count,
            job_type=row.job_type,
            agent_id=row.agent_id,
            client_machine=row.client_machine,
            target_path=row.target_path,
            message_group=row.message_group,
            first_seen=row.first_seen,
            last_seen=row.last_seen,
            last_message=messages.get(row.last_id),
            query=group_query(
                base,
                job_type=row.job_type,
                agent_id=row.agent_id,
                target_path=row.target_path,
                group=row.message_group,
            ),
        )
        for row in rows
    ]


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
