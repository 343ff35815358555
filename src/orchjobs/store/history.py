"""Reads and writes of job history. Functions take an open connection and never commit."""

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import ColumnElement, Connection, and_, func, select, text, update

from orchjobs.domain.jobs import ACKNOWLEDGEABLE_RESULTS, ACKNOWLEDGEABLE_STATUSES, JobStatus
from orchjobs.query import JOB_HISTORY_FIELDS
from orchjobs.store.dialects import raw_datetime, uuid_text
from orchjobs.store.listing import ListResource
from orchjobs.store.rows import Record
from orchjobs.store.tables import job_history, job_result_data, open_failure_delta

# Column order is what api.wire unpacks. A page of history is read for serialization only: ids
# come back as text and times without per-value conversion, most of the Python work per row otherwise.
HISTORY_COLUMNS = (
    job_history.c.id,
    uuid_text(job_history.c.job_id).label("job_id"),
    uuid_text(job_history.c.agent_id).label("agent_id"),
    job_history.c.client_machine,
    job_history.c.job_type,
    job_history.c.schedule,
    raw_datetime(job_history.c.operation_start),
    raw_datetime(job_history.c.operation_end),
    job_history.c.message,
    job_history.c.result,
    job_history.c.status,
    job_history.c.target_path,
    raw_datetime(job_history.c.acknowledged_at),
    job_history.c.acknowledged_by,
    job_history.c.acknowledge_note,
)
# Newest run first unless a sort field is named.
JOB_HISTORY = ListResource(
    table=job_history,
    fields=JOB_HISTORY_FIELDS,
    columns=HISTORY_COLUMNS,
    default_sort="OperationStart",
    default_descending=True,
)


def acknowledgeable() -> ColumnElement[bool]:
    """Rows that finished with a warning or a failure and have not been acknowledged."""
    return and_(
        job_history.c.result.in_(sorted(ACKNOWLEDGEABLE_RESULTS)),
        job_history.c.status.in_(sorted(ACKNOWLEDGEABLE_STATUSES)),
    )


def acknowledged() -> ColumnElement[bool]:
    """Rows an operator acknowledged, which Unacknowledge can give back their status."""
    return and_(job_history.c.status == int(JobStatus.ACKNOWLEDGED), job_history.c.status_before_ack.is_not(None))


def newest_history_id(conn: Connection) -> int:
    """The highest history id so far (0 for none): ids only grow, so it bounds the rows recorded until now."""
    return int(conn.execute(select(func.coalesce(func.max(job_history.c.id), 0))).scalar_one())


def lock_history_states(conn: Connection, *, ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """`{id: (status, result)}` for the given ids that exist, locked until the transaction ends."""
    stmt = (
        select(job_history.c.id, job_history.c.status, job_history.c.result)
        .where(job_history.c.id.in_(ids))
        .with_for_update()
    )
    return {row.id: (row.status, row.result) for row in conn.execute(stmt)}


def acknowledge_history(
    conn: Connection,
    *,
    where: ColumnElement[bool] | None,
    acknowledged_by: str,
    note: str | None,
    at: datetime,
) -> int:
    """Acknowledge every eligible row matching `where` in one statement; returns the number changed."""
    condition = acknowledgeable() if where is None else and_(where, acknowledgeable())
    stmt = (
        update(job_history)
        .where(condition)
        .values(
            # SET expressions read the row's old values, so this keeps the status being replaced.
            status_before_ack=job_history.c.status,
            status=int(JobStatus.ACKNOWLEDGED),
            acknowledged_at=at,
            acknowledged_by=acknowledged_by,
            acknowledge_note=note,
        )
    )
    return conn.execute(stmt).rowcount


def unacknowledge_history(conn: Connection, *, where: ColumnElement[bool] | None) -> int:
    """Give acknowledged rows matching `where` back the status they had; returns the number changed."""
    condition = acknowledged()
    if where is not None:
        condition = and_(where, condition)
    stmt = (
        update(job_history)
        .where(condition)
        .values(
            status=job_history.c.status_before_ack,
            status_before_ack=None,
            acknowledged_at=None,
            acknowledged_by=None,
            acknowledge_note=None,
        )
    )
    return conn.execute(stmt).rowcount


def failure_groups(conn: Connection, *, where: ColumnElement[bool], limit: int, offset: int) -> Sequence[Record]:
    """Groups of the rows `where` selects, by job type, orchestrator, target and folded message (text without regard
    to case, as the query language compares it), largest first: each with its count, first and last start, and the
    latest run's message as an example."""
    text_keys = [func.lower(job_history.c.job_type), func.lower(job_history.c.target_path)]
    stmt = (
        select(
            func.count().label("run_count"),
            func.min(job_history.c.job_type).label("job_type"),
            uuid_text(job_history.c.agent_id).label("agent_id"),
            func.min(job_history.c.client_machine).label("client_machine"),
            func.min(job_history.c.target_path).label("target_path"),
            func.min(job_history.c.message_group).label("message_group"),
            func.min(job_history.c.operation_start).label("first_seen"),
            func.max(job_history.c.operation_start).label("last_seen"),
            func.max(job_history.c.id).label("last_id"),
        )
        .where(where)
        .group_by(*text_keys, job_history.c.agent_id, func.lower(job_history.c.message_group))
        .order_by(func.count().desc(), func.max(job_history.c.operation_start).desc(), func.max(job_history.c.id))
        .limit(limit)
        .offset(offset)
    )
    return conn.execute(stmt).all()


def messages_of(conn: Connection, *, ids: Sequence[int]) -> dict[int, str | None]:
    """`{id: message}` of the given runs."""
    stmt = select(job_history.c.id, job_history.c.message).where(job_history.c.id.in_(ids))
    return {row.id: row.message for row in conn.execute(stmt)}


def get_result_data(conn: Connection, *, job_history_id: int) -> tuple[bool, str | None]:
    """(whether the history row exists, the data its job uploaded or None)."""
    stmt = (
        select(job_history.c.id, job_result_data.c.data)
        .select_from(job_history.outerjoin(job_result_data))
        .where(job_history.c.id == job_history_id)
    )
    row = conn.execute(stmt).first()
    return (False, None) if row is None else (True, row.data)


def count_open_failures(conn: Connection, *, since: date) -> int:
    """PostgreSQL: the open failures (OPEN_FAILURES) of the UTC days from `since` on, from the per-day counts the
    job-history triggers keep (migration 0013): a few rows, whatever the size of the history."""
    stmt = select(func.coalesce(func.sum(open_failure_delta.c.n), 0)).where(open_failure_delta.c.day >= since)
    return int(conn.execute(stmt).scalar_one())


def fold_open_failure_counts(conn: Connection) -> None:
    """PostgreSQL: one row a day in open_failure_delta, when some day has more: the rows this statement sees are
    summed into one a day. Rows that transactions still open insert meanwhile stay as they are and count on."""
    conn.execute(
        text(
            "WITH gone AS (DELETE FROM open_failure_delta WHERE (SELECT count(*) FROM open_failure_delta) > "
            "(SELECT count(DISTINCT day) FROM open_failure_delta) RETURNING day, n) "
            "INSERT INTO open_failure_delta (day, n) SELECT day, sum(n) FROM gone GROUP BY day HAVING sum(n) <> 0"
        )
    )


def recount_open_failures(conn: Connection) -> int:
    """PostgreSQL: the per-day counts of open failures made again from job history itself, for a database whose
    triggers were turned off or whose partitions were written directly. Writers of job history wait meanwhile (a SHARE
    lock until the transaction ends): the count and the history stay the same. Returns the open failures counted."""
    conn.execute(text("LOCK TABLE job_history IN SHARE MODE"))
    conn.execute(open_failure_delta.delete())
    day = func.date(func.timezone("UTC", job_history.c.operation_start))
    counted = select(day, func.count()).where(acknowledgeable()).group_by(day)
    conn.execute(open_failure_delta.insert().from_select(["day", "n"], counted))
    return int(conn.execute(select(func.coalesce(func.sum(open_failure_delta.c.n), 0))).scalar_one())
