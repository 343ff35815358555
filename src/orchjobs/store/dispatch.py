"""Dispatch: claiming the due jobs of an orchestrator and starting their runs. Functions take a connection and never
commit. On PostgreSQL the claims use `FOR UPDATE … SKIP LOCKED`; SQLite ignores it and is serialized by BEGIN
IMMEDIATE instead.
"""

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from orchjobs.domain.jobs import AgentStatus
from orchjobs.store.rows import Record
from orchjobs.store.tables import agent, job_history, job_type, scheduled_job


def claim_due_jobs(
    conn: Connection, *, agent_id: uuid.UUID, capabilities: Collection[str], now: datetime
) -> Sequence[Record]:
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
            scheduled_job.c.job_type_guid,
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
