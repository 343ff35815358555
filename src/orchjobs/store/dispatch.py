"""Runs of scheduled jobs: claiming due jobs, the run in flight, closing runs, store inventory.

Every function takes a connection and never commits. Locks follow one order everywhere: the scheduled_job row
first, then its history row, so dispatch, job calls and the sweeper cannot deadlock one another. On PostgreSQL
the claims use `FOR UPDATE … SKIP LOCKED`; SQLite ignores it and is serialized by BEGIN IMMEDIATE instead.
"""

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from orchjobs.domain.jobs import AgentStatus, JobStatus
from orchjobs.store.tables import (
    agent,
    certificate_store,
    certificate_store_entry,
    job_history,
    job_result_data,
    job_type,
    scheduled_job,
)

# Ids per IN list: well under SQLite's bound-parameter limit, and few round trips.
ID_CHUNK = 500


def claim_due_jobs(
    conn: Connection, *, agent_id: uuid.UUID, capabilities: Collection[str], now: datetime
) -> Sequence[Row[Any]]:
    """The agent's jobs that are due, not running, and of a capability it has (lower-cased names), locked.

    Rows another transaction holds are skipped (PostgreSQL): that transaction is handing them out.
    """
    if not capabilities:
        return []
    stmt = (
        select(
            scheduled_job.c.id,
            scheduled_job.c.schedule,
            scheduled_job.c.schedule_type,
            scheduled_job.c.target_path,
            scheduled_job.c.capability,
            scheduled_job.c.priority,
            job_type.c.name.label("job_type"),
            agent.c.client_machine,
        )
        .select_from(
            scheduled_job.join(job_type, job_type.c.id == scheduled_job.c.job_type_id).join(
                agent, agent.c.id == scheduled_job.c.agent_id
            )
        )
        .where(
            scheduled_job.c.agent_id == agent_id,
            agent.c.status == int(AgentStatus.APPROVED),
            scheduled_job.c.next_run_at <= now,
            scheduled_job.c.running_history_id.is_(None),
            func.lower(scheduled_job.c.capability).in_(sorted(capabilities)),
        )
        .order_by(scheduled_job.c.next_run_at, scheduled_job.c.id)
        .with_for_update(skip_locked=True, of=scheduled_job)
    )
    return conn.execute(stmt).all()


def insert_runs(conn: Connection, *, runs: Sequence[dict[str, Any]]) -> list[int]:
    """Insert history rows (dicts of job_history columns); their ids, in the order given. One statement."""
    if not runs:
        return []
    stmt = insert(job_history).returning(job_history.c.id, sort_by_parameter_order=True)
    return [row.id for row in conn.execute(stmt, list(runs))]


def mark_handed_out(conn: Connection, *, jobs: Sequence[tuple[uuid.UUID, int, datetime | None]]) -> None:
    """Set (job id, running history id, next run) on each job; one executemany."""
    stmt = (
        update(scheduled_job)
        .where(scheduled_job.c.id == bindparam("b_id"))
        .values(running_history_id=bindparam("b_run"), next_run_at=bindparam("b_next"))
    )
    conn.execute(stmt, [{"b_id": job_id, "b_run": run, "b_next": next_run} for job_id, run, next_run in jobs])


def lock_job(conn: Connection, *, agent_id: uuid.UUID, job_id: uuid.UUID) -> Row[Any] | None:
    """The agent's scheduled job with its run in flight (history columns None when there is none), store and
    job type, locked until the transaction ends; None when the agent has no such job."""
    stmt = (
        select(
            scheduled_job.c.id,
            scheduled_job.c.running_history_id,
            scheduled_job.c.retry_count,
            scheduled_job.c.next_run_at,
            scheduled_job.c.target_path,
            scheduled_job.c.fields,
            scheduled_job.c.capability,
            scheduled_job.c.certificate_store_id,
            job_history.c.status.label("run_status"),
            job_type.c.name.label("job_type"),
            certificate_store.c.store_path,
            certificate_store.c.store_type,
            certificate_store.c.properties.label("store_properties"),
            agent.c.client_machine,
        )
        .select_from(
            scheduled_job.join(job_type, job_type.c.id == scheduled_job.c.job_type_id)
            .join(agent, agent.c.id == scheduled_job.c.agent_id)
            .outerjoin(job_history, job_history.c.id == scheduled_job.c.running_history_id)
            .outerjoin(certificate_store, certificate_store.c.id == scheduled_job.c.certificate_store_id)
        )
        .where(scheduled_job.c.id == job_id, scheduled_job.c.agent_id == agent_id)
        .with_for_update(of=scheduled_job)
    )
    return conn.execute(stmt).first()


def lock_run(conn: Connection, *, agent_id: uuid.UUID, job_id: uuid.UUID) -> Row[Any] | None:
    """What closing the run needs of `lock_job`'s row (id, running_history_id, retry_count, next_run_at,
    run_status), without its joins; locked the same way."""
    stmt = (
        select(
            scheduled_job.c.id,
            scheduled_job.c.running_history_id,
            scheduled_job.c.retry_count,
            scheduled_job.c.next_run_at,
            job_history.c.status.label("run_status"),
        )
        .select_from(scheduled_job.outerjoin(job_history, job_history.c.id == scheduled_job.c.running_history_id))
        .where(scheduled_job.c.id == job_id, scheduled_job.c.agent_id == agent_id)
        .with_for_update(of=scheduled_job)
    )
    return conn.execute(stmt).first()


def set_run_status(conn: Connection, *, history_id: int, status: int) -> None:
    conn.execute(update(job_history).where(job_history.c.id == history_id).values(status=status))


def close_runs(
    conn: Connection, *, history_ids: Sequence[int], status: int, result: int, message: str | None, end: datetime
) -> None:
    """Record the outcome of runs still Waiting or InProcess."""
    open_statuses = (int(JobStatus.WAITING), int(JobStatus.IN_PROCESS))
    for chunk in _chunks(history_ids):
        conn.execute(
            update(job_history)
            .where(job_history.c.id.in_(chunk), job_history.c.status.in_(open_statuses))
            .values(status=status, result=result, message=message, operation_end=end)
        )


def insert_result_data(conn: Connection, *, history_id: int, data: str) -> None:
    conn.execute(insert(job_result_data).values(job_history_id=history_id, data=data))


def requeue_jobs(conn: Connection, *, job_ids: Sequence[uuid.UUID], next_run_at: datetime) -> None:
    """Jobs whose run failed and that will retry: one more retry counted, due again at `next_run_at`."""
    for chunk in _chunks(job_ids):
        conn.execute(
            update(scheduled_job)
            .where(scheduled_job.c.id.in_(chunk))
            .values(running_history_id=None, retry_count=scheduled_job.c.retry_count + 1, next_run_at=next_run_at)
        )


def release_jobs(conn: Connection, *, job_ids: Sequence[uuid.UUID]) -> None:
    """Jobs whose run is over for good: nothing in flight, a fresh retry budget for their next run, and
    the ones without a next run (Immediate, ExactlyOnce) deleted; their history stays."""
    for chunk in _chunks(job_ids):
        done = scheduled_job.c.id.in_(chunk)
        conn.execute(delete(scheduled_job).where(done, scheduled_job.c.next_run_at.is_(None)))
        conn.execute(update(scheduled_job).where(done).values(running_history_id=None, retry_count=0))


def delete_finished_jobs(conn: Connection, *, job_ids: Sequence[uuid.UUID]) -> None:
    """`release_jobs` for jobs (locked) known to have no next run: they are deleted; their history stays."""
    for chunk in _chunks(job_ids):
        conn.execute(delete(scheduled_job).where(scheduled_job.c.id.in_(chunk), scheduled_job.c.next_run_at.is_(None)))


def reset_jobs(conn: Connection, *, job_ids: Sequence[uuid.UUID]) -> None:
    """`release_jobs` for jobs (locked) known to have a next run: nothing in flight, a fresh retry budget."""
    for chunk in _chunks(job_ids):
        conn.execute(
            update(scheduled_job).where(scheduled_job.c.id.in_(chunk)).values(running_history_id=None, retry_count=0)
        )


def lock_overdue_runs(conn: Connection, *, started_before: datetime, limit: int) -> Sequence[Row[Any]]:
    """Up to `limit` runs in flight (Waiting or InProcess) that started before `started_before`, as
    (job_id, history_id, retry_count), their jobs locked; jobs another transaction holds are skipped."""
    stmt = (
        select(
            scheduled_job.c.id.label("job_id"),
            scheduled_job.c.running_history_id.label("history_id"),
            scheduled_job.c.retry_count,
        )
        .select_from(scheduled_job.join(job_history, job_history.c.id == scheduled_job.c.running_history_id))
        .where(
            job_history.c.status.in_((int(JobStatus.WAITING), int(JobStatus.IN_PROCESS))),
            job_history.c.operation_start < started_before,
        )
        .order_by(job_history.c.operation_start, job_history.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=scheduled_job)
    )
    return conn.execute(stmt).all()


# --- certificate store inventory -------------------------------------------------------------


def store_entries(conn: Connection, *, store_id: uuid.UUID) -> Sequence[Row[Any]]:
    stmt = (
        select(certificate_store_entry.c.alias, certificate_store_entry.c.private_key_entry)
        .where(certificate_store_entry.c.store_id == store_id)
        .order_by(certificate_store_entry.c.alias)
    )
    return conn.execute(stmt).all()


def upsert_entries(conn: Connection, *, store_id: uuid.UUID, entries: Sequence[tuple[str, str, bool]]) -> None:
    """Insert or replace (alias, certificate, private_key_entry) entries of a store; one executemany."""
    if not entries:
        return
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = dialect_insert(certificate_store_entry)
    stmt = stmt.on_conflict_do_update(
        index_elements=[certificate_store_entry.c.store_id, certificate_store_entry.c.alias],
        set_={"certificate": stmt.excluded.certificate, "private_key_entry": stmt.excluded.private_key_entry},
    )
    rows = [
        {"store_id": store_id, "alias": alias, "certificate": certificate, "private_key_entry": private_key}
        for alias, certificate, private_key in entries
    ]
    conn.execute(stmt, rows)


def delete_entries(conn: Connection, *, store_id: uuid.UUID, aliases: Sequence[str]) -> None:
    for chunk in _chunks(aliases):
        conn.execute(
            delete(certificate_store_entry).where(
                certificate_store_entry.c.store_id == store_id, certificate_store_entry.c.alias.in_(chunk)
            )
        )


def _chunks(values: Sequence[Any]) -> list[Sequence[Any]]:
    return [values[start : start + ID_CHUNK] for start in range(0, len(values), ID_CHUNK)]
