"""Retention of job history: which old runs may go, and their deletion, one bounded window of runs at a time.
Functions take an open connection and never commit; each window is its caller's own short transaction.

A window is the next `size` runs older than the cutoff in (operation_start, id) order, read from the index on those
columns; the conditions below are evaluated on those runs only, so a window costs the same however large the table
is, and a window whose runs all stay is passed over, never read again."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BindParameter, ColumnElement, Connection, and_, bindparam, delete, not_, or_, select, update

from orchjobs.domain.jobs import ACKNOWLEDGEABLE_RESULTS, ACKNOWLEDGEABLE_STATUSES, IN_FLIGHT_STATUSES
from orchjobs.store.dialects import advisory_lock
from orchjobs.store.tables import audit_log, job_history, job_result_data

_PRUNERS = 0x4F4A_0004  # the advisory lock key of the daily prune's claim (PostgreSQL)


@dataclass(frozen=True)
class PruneRule:
    """Runs that started before `cutoff` go, except those in flight, the unacknowledged warnings and failures that
    started on or after `age_out_start` (they count in the failure count), and the `keep_runs` latest of each job."""

    cutoff: datetime
    age_out_start: datetime
    keep_runs: int


@dataclass(frozen=True)
class Position:
    """Where the next window starts: after this run in (operation_start, id) order."""

    operation_start: datetime
    history_id: int


@dataclass(frozen=True)
class Window:
    """The runs of one window that may go, and where the next window starts (None: this was the last)."""

    prunable: Sequence[int]
    next_position: Position | None


def read_window(conn: Connection, rule: PruneRule, *, after: Position | None, size: int) -> Window:
    """The next window of at most `size` runs older than the cutoff, and which of them may go."""
    h = job_history
    in_range: list[ColumnElement[bool]] = [h.c.operation_start < rule.cutoff]
    if after is not None:
        in_range += [
            h.c.operation_start >= after.operation_start,
            or_(h.c.operation_start > after.operation_start, h.c.id > after.history_id),
        ]
    # The window's last run, if it is full; else the window runs to the cutoff and is the last.
    last = conn.execute(
        select(h.c.operation_start, h.c.id)
        .where(*in_range)
        .order_by(h.c.operation_start, h.c.id)
        .offset(size - 1)
        .limit(1)
    ).first()
    if last is not None:
        in_range += [
            h.c.operation_start <= last.operation_start,
            or_(h.c.operation_start < last.operation_start, h.c.id <= last.id),
        ]
    prunable = conn.execute(select(h.c.id).where(*in_range, *_may_go(rule)).order_by(h.c.id)).scalars().all()
    return Window(prunable=prunable, next_position=None if last is None else Position(last.operation_start, last.id))


def _may_go(rule: PruneRule) -> list[ColumnElement[bool]]:
    h = job_history
    conditions: list[ColumnElement[bool]] = [
        h.c.status.not_in(sorted(IN_FLIGHT_STATUSES)),
        not_(
            and_(
                h.c.status.in_(sorted(ACKNOWLEDGEABLE_STATUSES)),
                h.c.result.in_(sorted(ACKNOWLEDGEABLE_RESULTS)),
                h.c.operation_start >= rule.age_out_start,
            )
        ),
    ]
    if rule.keep_runs > 0:
        # The start of the job's keep_runs-th latest run, read from the (job_id, operation_start) index; a job with
        # fewer runs has none (NULL), and none of its runs goes. Runs that started at that same instant stay too.
        newer = job_history.alias("newer")
        kept_from = (
            select(newer.c.operation_start)
            .where(newer.c.job_id == h.c.job_id)
            .order_by(newer.c.operation_start.desc())
            .limit(1)
            .offset(rule.keep_runs - 1)
            .scalar_subquery()
        )
        conditions.append(h.c.operation_start < kept_from)
    return conditions


def delete_runs(conn: Connection, history_ids: Sequence[int]) -> int:
    """Delete the runs and what their orchestrators uploaded; how many runs went."""
    if not history_ids:
        return 0
    listed: BindParameter[list[int]] = bindparam("ids", expanding=True)
    values = {"ids": list(history_ids)}
    conn.execute(delete(job_result_data).where(job_result_data.c.job_history_id.in_(listed)), values)
    result = conn.execute(delete(job_history).where(job_history.c.id.in_(listed)), values)
    return int(result.rowcount)


def take_prune_turn(conn: Connection) -> None:
    """Processes that claim the daily prune take turns until their transactions end."""
    advisory_lock(conn, _PRUNERS)


def last_entry_at(conn: Connection, *, actor: str, action: str) -> datetime | None:
    """When `actor` last wrote an audit entry of `action`."""
    stmt = (
        select(audit_log.c.at)
        .where(audit_log.c.actor == actor, audit_log.c.action == action)
        .order_by(audit_log.c.at.desc())
        .limit(1)
    )
    return conn.execute(stmt).scalar()


def update_entry(conn: Connection, *, entry_id: int, row_count: int, details: str) -> None:
    """Bring a prune's audit entry up to date with what its windows deleted so far."""
    conn.execute(update(audit_log).where(audit_log.c.id == entry_id).values(row_count=row_count, details=details))
