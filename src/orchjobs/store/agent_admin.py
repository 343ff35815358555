"""Reads and writes behind the admin API for orchestrators (/KeyfactorAPI/Agents).

Functions take an open connection and never commit. Every write addresses its agents with one
set-based statement (`WHERE agent_id IN (...)`), whatever the number of agents.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, case, delete, func, insert, literal, select, update

from orchjobs.domain.capabilities import FETCH_LOGS_NAMES
from orchjobs.domain.jobs import AgentStatus
from orchjobs.query.fields import AGENT_FIELDS
from orchjobs.query.sql import RelatedValues
from orchjobs.store.dialects import json_array_agg
from orchjobs.store.listing import ListResource
from orchjobs.store.rows import Record
from orchjobs.store.tables import (
    agent,
    agent_capability,
    agent_session,
    certificate_store,
    certificate_store_entry,
    job_type,
    scheduled_job,
)

# What the TEXT_SET field `Capabilities` of AGENT_FIELDS stands for.
AGENT_RELATED = {
    "capabilities": RelatedValues(
        value=agent_capability.c.capability,
        foreign_key=agent_capability.c.agent_id,
        parent_key=agent.c.id,
    )
}
_FETCH_LOGS_CAPABILITIES = tuple(name.lower() for name in FETCH_LOGS_NAMES)
# An agent's capabilities come with it: one statement per page, whatever its length.
_CAPABILITIES = (
    select(json_array_agg(agent_capability.c.capability))
    .where(agent_capability.c.agent_id == agent.c.id)
    .scalar_subquery()
    .label("capabilities")
)
AGENTS = ListResource(
    table=agent,
    fields=AGENT_FIELDS,
    columns=(
        agent.c.id,
        agent.c.client_machine,
        agent.c.username,
        agent.c.platform,
        agent.c.version,
        agent.c.status,
        agent.c.last_seen,
        agent.c.thumbprint,
        agent.c.legacy_thumbprint,
        agent.c.auth_certificate_reenrollment,
        agent.c.last_error_code,
        agent.c.last_error_message,
        agent.c.blueprint,
        _CAPABILITIES,
    ),
    # Command's documented default for GET /Agents, ascending.
    default_sort="AgentId",
    related=AGENT_RELATED,
)


def agent_health(
    conn: Connection, *, agent_ids: Sequence[uuid.UUID], late_before: datetime, silent_before: datetime
) -> Sequence[Record]:
    """`(id, last_seen, health)` of the given agents that exist, classified by the database (one statement):
    Silent when last seen before `silent_before`, Late when before `late_before`, else OK."""
    health = case(
        (agent.c.last_seen < silent_before, literal("Silent")),
        (agent.c.last_seen < late_before, literal("Late")),
        else_=literal("OK"),
    ).label("health")
    stmt = select(agent.c.id, agent.c.last_seen, health).where(agent.c.id.in_(agent_ids)).order_by(agent.c.id)
    return conn.execute(stmt).all()


def lock_agent_statuses(conn: Connection, *, agent_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    """`{id: status}` of the given agents that exist, locked until the transaction ends."""
    stmt = select(agent.c.id, agent.c.status).where(agent.c.id.in_(agent_ids)).with_for_update()
    return {row.id: row.status for row in conn.execute(stmt)}


def set_status(conn: Connection, *, agent_ids: Sequence[uuid.UUID], status: AgentStatus) -> int:
    stmt = update(agent).where(agent.c.id.in_(agent_ids)).values(status=int(status))
    return conn.execute(stmt).rowcount


def delete_sessions(conn: Connection, *, agent_ids: Sequence[uuid.UUID]) -> int:
    """End the agents' protocol sessions: their tokens stop working at once."""
    return conn.execute(delete(agent_session).where(agent_session.c.agent_id.in_(agent_ids))).rowcount


def delete_jobs_and_stores(conn: Connection, *, agent_ids: Sequence[uuid.UUID]) -> None:
    """The agents' scheduled jobs, and their certificate stores with their inventory; their history stays."""
    conn.execute(delete(scheduled_job).where(scheduled_job.c.agent_id.in_(agent_ids)))
    # Spelled out rather than left to ON DELETE CASCADE, so the outcome does not hang on SQLite's
    # foreign_keys pragma being on for the connection.
    stores = select(certificate_store.c.id).where(certificate_store.c.agent_id.in_(agent_ids))
    conn.execute(delete(certificate_store_entry).where(certificate_store_entry.c.store_id.in_(stores)))
    conn.execute(delete(certificate_store).where(certificate_store.c.agent_id.in_(agent_ids)))


def make_new(conn: Connection, *, agent_ids: Sequence[uuid.UUID]) -> None:
    """The agents become New, with no known certificate."""
    conn.execute(
        update(agent)
        .where(agent.c.id.in_(agent_ids))
        .values(status=int(AgentStatus.NEW), thumbprint=None, legacy_thumbprint=None)
    )


def set_auth_certificate_reenrollment(conn: Connection, *, agent_ids: Sequence[uuid.UUID], value: int) -> None:
    conn.execute(update(agent).where(agent.c.id.in_(agent_ids)).values(auth_certificate_reenrollment=value))


def can_fetch_logs(conn: Connection, *, agent_id: uuid.UUID) -> bool:
    """Whether the agent reported a capability that runs FetchLogs (any case)."""
    stmt = select(agent_capability.c.capability).where(
        agent_capability.c.agent_id == agent_id,
        func.lower(agent_capability.c.capability).in_(_FETCH_LOGS_CAPABILITIES),
    )
    return conn.execute(stmt.limit(1)).first() is not None


def job_type_id(conn: Connection, *, name: str) -> uuid.UUID | None:
    found: uuid.UUID | None = conn.execute(select(job_type.c.id).where(job_type.c.name == name)).scalar()
    return found


def insert_immediate_job(
    conn: Connection,
    *,
    agent_id: uuid.UUID,
    job_type_id: uuid.UUID,
    capability: str,
    now: datetime,
    priority: int = 5,
) -> uuid.UUID:
    """Schedule a job without a store that is due now and runs once (schedule NULL = Immediate)."""
    job_id = uuid.uuid4()
    conn.execute(
        insert(scheduled_job).values(
            id=job_id,
            agent_id=agent_id,
            job_type_id=job_type_id,
            schedule=None,
            schedule_type=None,
            requested_at=now,
            next_run_at=now,
            capability=capability,
            priority=priority,
        )
    )
    return job_id
