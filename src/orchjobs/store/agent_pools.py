"""Reads and writes of agent pools (/KeyfactorAPI/AgentPools). Functions take a connection and never commit.

An orchestrator is in at most one pool. The Default Agent Pool (a row the migration makes) has no membership rows
of its own: its orchestrators are the approved ones in no other pool, computed in SQL. A row of agent_pool_agent
under the default pool's id only keeps an orchestrator's EnableDiscover and EnableMonitor there. Pool writers take
turns (`lock_pools`), so the one-pool rule and the names (unique whatever their case) hold.
"""

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, delete, exists, false, func, insert, not_, or_, select, update

from orchjobs.domain.agent_pools import DEFAULT_POOL_ID, DISCOVER_CAPABILITIES, MONITOR_CAPABILITIES
from orchjobs.domain.jobs import AgentStatus
from orchjobs.query.fields import AGENT_POOL_AGENT_FIELDS, AGENT_POOL_FIELDS
from orchjobs.store.dialects import advisory_lock
from orchjobs.store.job_types import json_rows_agg
from orchjobs.store.listing import ListResource
from orchjobs.store.rows import Record, chunks
from orchjobs.store.tables import agent, agent_capability, agent_pool, agent_pool_agent

_POOL_WRITERS = 0x4F4A_0002  # the advisory lock key of pool writers (PostgreSQL)


def _reports(capabilities: Sequence[str]) -> ColumnElement[bool]:
    """Whether the orchestrator reported one of the capabilities (any case)."""
    return exists().where(
        agent_capability.c.agent_id == agent.c.id,
        func.lower(agent_capability.c.capability).in_(sorted({name.lower() for name in capabilities})),
    )


def _in_named_pool() -> ColumnElement[bool]:
    return exists().where(agent_pool_agent.c.agent_id == agent.c.id, agent_pool_agent.c.pool_id != DEFAULT_POOL_ID)


# The orchestrators of the Default Agent Pool: approved, in no other pool.
IN_DEFAULT_POOL = and_(agent.c.status == int(AgentStatus.APPROVED), not_(_in_named_pool()))
ALLOWS_DISCOVER = _reports(DISCOVER_CAPABILITIES)
ALLOWS_MONITOR = _reports(MONITOR_CAPABILITIES)


def _flag(column: Any, pool_id: Any) -> ColumnElement[Any]:
    """The orchestrator's EnableDiscover or EnableMonitor in the pool (false when it has no row there)."""
    value = (
        select(column)
        .where(agent_pool_agent.c.agent_id == agent.c.id, agent_pool_agent.c.pool_id == pool_id)
        .scalar_subquery()
    )
    return func.coalesce(value, false())


# A pool's orchestrators come with it as [id, discover, monitor, version, allows discover, allows monitor, machine]:
# one statement per page.
_MEMBER = or_(
    and_(
        agent_pool.c.id != DEFAULT_POOL_ID,
        exists().where(agent_pool_agent.c.agent_id == agent.c.id, agent_pool_agent.c.pool_id == agent_pool.c.id),
    ),
    and_(agent_pool.c.id == DEFAULT_POOL_ID, IN_DEFAULT_POOL),
)
_AGENTS = (
    select(
        json_rows_agg(
            agent.c.id,
            _flag(agent_pool_agent.c.enable_discover, agent_pool.c.id),
            _flag(agent_pool_agent.c.enable_monitor, agent_pool.c.id),
            agent.c.version,
            ALLOWS_DISCOVER,
            ALLOWS_MONITOR,
            agent.c.client_machine,
        )
    )
    .where(_MEMBER)
    .scalar_subquery()
    .label("agents")
)
AGENT_POOLS = ListResource(
    table=agent_pool,
    fields=AGENT_POOL_FIELDS,
    columns=(agent_pool.c.id, agent_pool.c.name, _AGENTS),
    default_sort="Name",
)
# GET /AgentPools/Agents: the orchestrators of the Default Agent Pool, as AgentPoolAgent rows.
DEFAULT_POOL_AGENTS = ListResource(
    table=agent,
    fields=AGENT_POOL_AGENT_FIELDS,
    columns=(
        agent.c.id,
        _flag(agent_pool_agent.c.enable_discover, DEFAULT_POOL_ID).label("enable_discover"),
        _flag(agent_pool_agent.c.enable_monitor, DEFAULT_POOL_ID).label("enable_monitor"),
        agent.c.version,
        ALLOWS_DISCOVER.label("allows_discover"),
        ALLOWS_MONITOR.label("allows_monitor"),
        agent.c.client_machine,
    ),
    default_sort="ClientMachine",
    scope=IN_DEFAULT_POOL,
)


def lock_pools(conn: Connection) -> dict[uuid.UUID, str]:
    """`{id: name}` of every pool; pool writers take turns until the transaction ends (PostgreSQL: an advisory
    lock; SQLite's writers take turns anyway)."""
    advisory_lock(conn, _POOL_WRITERS)
    return {row.id: row.name for row in conn.execute(select(agent_pool.c.id, agent_pool.c.name))}


def agents_of(conn: Connection, *, agent_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Record]:
    """The given orchestrators that exist: (id, client_machine, status, pool_id: the named pool they are in, if any),
    locked against a reset or a delete until the transaction ends."""
    pool_of = (
        select(agent_pool_agent.c.pool_id)
        .where(agent_pool_agent.c.agent_id == agent.c.id, agent_pool_agent.c.pool_id != DEFAULT_POOL_ID)
        .limit(1)
        .scalar_subquery()
    )
    found: dict[uuid.UUID, Record] = {}
    for chunk in chunks(agent_ids):
        stmt = (
            select(agent.c.id, agent.c.client_machine, agent.c.status, pool_of.label("pool_id"))
            .where(agent.c.id.in_(chunk))
            .with_for_update(read=True, key_share=True, of=agent)
        )
        found.update({row.id: row for row in conn.execute(stmt)})
    return found


def insert_pool(conn: Connection, *, pool_id: uuid.UUID, name: str) -> None:
    conn.execute(insert(agent_pool).values(id=pool_id, name=name))


def rename_pool(conn: Connection, *, pool_id: uuid.UUID, name: str) -> None:
    conn.execute(update(agent_pool).where(agent_pool.c.id == pool_id).values(name=name))


def replace_members(conn: Connection, *, pool_id: uuid.UUID, members: Sequence[tuple[uuid.UUID, bool, bool]]) -> None:
    """The pool's rows become these (orchestrator id, EnableDiscover, EnableMonitor); the orchestrators leave the
    Default Agent Pool's rows. One DELETE per 500 members and one executemany."""
    conn.execute(delete(agent_pool_agent).where(agent_pool_agent.c.pool_id == pool_id))
    if pool_id != DEFAULT_POOL_ID:
        for chunk in chunks([agent_id for agent_id, _discover, _monitor in members]):
            conn.execute(
                delete(agent_pool_agent).where(
                    agent_pool_agent.c.pool_id == DEFAULT_POOL_ID, agent_pool_agent.c.agent_id.in_(chunk)
                )
            )
    if members:
        rows = [
            {"pool_id": pool_id, "agent_id": agent_id, "enable_discover": discover, "enable_monitor": monitor}
            for agent_id, discover, monitor in members
        ]
        conn.execute(insert(agent_pool_agent), rows)


def delete_pool(conn: Connection, *, pool_id: uuid.UUID) -> None:
    """The pool and its rows (spelled out rather than left to ON DELETE CASCADE and SQLite's pragma)."""
    conn.execute(delete(agent_pool_agent).where(agent_pool_agent.c.pool_id == pool_id))
    conn.execute(delete(agent_pool).where(agent_pool.c.id == pool_id))
