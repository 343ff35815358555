"""Reads and writes behind scheduling custom jobs (/KeyfactorAPI/OrchestratorJobs/Custom and /Custom/Bulk): which
orchestrators can take a job, and the jobs themselves. Functions take a connection and never commit."""

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, exists, func, insert, select

from orchjobs.store.rows import chunks
from orchjobs.store.tables import agent, agent_capability, scheduled_job


@dataclass(frozen=True)
class Candidate:
    """An orchestrator a job is asked for: its status, and whether it reported one of the job's capabilities."""

    status: int
    capable: bool


@dataclass(frozen=True)
class JobSpec:
    """What every job of one request shares; each job adds its own id and orchestrator."""

    job_type_id: uuid.UUID
    capability: str
    schedule: str
    schedule_type: str | None
    fields: str
    requested_at: datetime
    next_run_at: datetime | None


def lock_candidates(
    conn: Connection, *, agent_ids: Sequence[uuid.UUID], capabilities: Collection[str]
) -> dict[uuid.UUID, Candidate]:
    """The given orchestrators that exist, locked until the transaction ends (so that none is disapproved or reset
    under its new job); `capabilities` are matched in any case."""
    found: dict[uuid.UUID, Candidate] = {}
    for chunk in chunks(agent_ids):
        found.update(_candidates(conn, agent.c.id.in_(chunk), capabilities, limit=None))
    return found


def lock_selected_candidates(
    conn: Connection, *, where: ColumnElement[bool] | None, capabilities: Collection[str], limit: int
) -> dict[uuid.UUID, Candidate]:
    """At most `limit` orchestrators a query selects (by id), locked until the transaction ends."""
    return _candidates(conn, where, capabilities, limit=limit)


def _candidates(
    conn: Connection, where: ColumnElement[bool] | None, capabilities: Collection[str], *, limit: int | None
) -> dict[uuid.UUID, Candidate]:
    capable = exists().where(
        agent_capability.c.agent_id == agent.c.id,
        func.lower(agent_capability.c.capability).in_(sorted(name.lower() for name in capabilities)),
    )
    stmt = select(agent.c.id, agent.c.status, capable.label("capable")).order_by(agent.c.id)
    if where is not None:
        stmt = stmt.where(where)
    if limit is not None:
        stmt = stmt.limit(limit)
    # KEY SHARE: Approve, Disapprove and Reset (which lock FOR UPDATE) wait for the new jobs; heartbeats do not.
    stmt = stmt.with_for_update(read=True, key_share=True, of=agent)
    return {row.id: Candidate(row.status, bool(row.capable)) for row in conn.execute(stmt)}


def insert_jobs(conn: Connection, *, jobs: Sequence[tuple[uuid.UUID, uuid.UUID]], spec: JobSpec) -> None:
    """Insert one scheduled job per (job id, orchestrator id), all alike but for those; one executemany."""
    if not jobs:
        return
    shared = {
        "job_type_id": spec.job_type_id,
        "certificate_store_id": None,
        "schedule": spec.schedule,
        "schedule_type": spec.schedule_type,
        "target_path": None,
        "fields": spec.fields,
        "requested_at": spec.requested_at,
        "next_run_at": spec.next_run_at,
        "capability": spec.capability,
    }
    conn.execute(insert(scheduled_job), [{"id": job_id, "agent_id": agent_id, **shared} for job_id, agent_id in jobs])
