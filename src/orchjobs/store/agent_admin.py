"""Reads and writes behind the admin API for orchestrators (/KeyfactorAPI/Agents).

Functions take an open connection and never commit. Every write addresses its agents with one
set-based statement (`WHERE agent_id IN (...)`), whatever the number of agents.
"""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, Row, delete, func, insert, select, update

from orchjobs.domain.capabilities import FETCH_LOGS, LOGS
from orchjobs.domain.jobs import AgentStatus, JobResult, JobStatus
from orchjobs.query.sql import RelatedValues
from orchjobs.store.tables import (
    agent,
    agent_capability,
    agent_session,
    certificate_store,
    certificate_store_entry,
    job_history,
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
FETCH_LOGS_JOB_TYPE = "FetchLogs"
# Either name lets an orchestrator run FetchLogs: the C agent reports Custom.FetchLogs (or its GUID,
# normalized to the name at registration); Command's docs query for LOGS.
_FETCH_LOGS_CAPABILITIES = (FETCH_LOGS.lower(), LOGS.lower())

AGENT_COLUMNS = (
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
)


def list_agents(
    conn: Connection,
    *,
    where: ColumnElement[bool] | None,
    order_by: Sequence[ColumnElement[object]],
    limit: int,
    offset: int,
) -> Sequence[Row[tuple[object, ...]]]:
    """One page of agent rows (AGENT_COLUMNS)."""
    stmt = select(*AGENT_COLUMNS).order_by(*order_by).limit(limit).offset(offset)
    if where is not None:
        stmt = stmt.where(where)
    return conn.execute(stmt).all()


def get_agent(conn: Connection, *, agent_id: uuid.UUID) -> Row[tuple[object, ...]] | None:
    return conn.execute(select(*AGENT_COLUMNS).where(agent.c.id == agent_id)).first()


def capabilities_of(conn: Connection, *, agent_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """The capability names of each given agent, in one query; agents without any are absent."""
    if not agent_ids:
        return {}
    stmt = select(agent_capability.c.agent_id, agent_capability.c.capability).where(
        agent_capability.c.agent_id.in_(agent_ids)
    )
    found: dict[uuid.UUID, list[str]] = defaultdict(list)
    for agent_id, capability in conn.execute(stmt):
        found[agent_id].append(capability)
    return dict(found)


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


def reset_agents(conn: Connection, *, agent_ids: Sequence[uuid.UUID], now: datetime) -> None:
    """Command's Reset: the agents' scheduled jobs, certificate stores (with their inventory) and
    sessions go; the agents become New with no known certificate. Job history stays: it is the audit,
    and runs still in flight are closed as failed, since no orchestrator will report on them now."""
    delete_sessions(conn, agent_ids=agent_ids)
    in_flight = select(scheduled_job.c.running_history_id).where(
        scheduled_job.c.agent_id.in_(agent_ids), scheduled_job.c.running_history_id.is_not(None)
    )
    conn.execute(
        update(job_history)
        .where(job_history.c.id.in_(in_flight))
        .values(
            status=int(JobStatus.COMPLETED),
            result=int(JobResult.FAILURE),
            operation_end=now,
            message="The orchestrator was reset while the job was in flight.",
        )
    )
    conn.execute(delete(scheduled_job).where(scheduled_job.c.agent_id.in_(agent_ids)))
    # Spelled out rather than left to ON DELETE CASCADE, so the outcome does not hang on SQLite's
    # foreign_keys pragma being on for the connection.
    stores = select(certificate_store.c.id).where(certificate_store.c.agent_id.in_(agent_ids))
    conn.execute(delete(certificate_store_entry).where(certificate_store_entry.c.store_id.in_(stores)))
    conn.execute(delete(certificate_store).where(certificate_store.c.agent_id.in_(agent_ids)))
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
