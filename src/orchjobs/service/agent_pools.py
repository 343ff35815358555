"""Agent pools (/KeyfactorAPI/AgentPools): create, update and delete them; they list through `service.listing` as
the resource `AGENT_POOLS`, and the Default Agent Pool's orchestrators as `DEFAULT_POOL_AGENTS`.

An orchestrator is in at most one pool; every approved orchestrator in no other pool is in the Default Agent Pool,
which cannot be deleted or renamed (its orchestrators' EnableDiscover and EnableMonitor can be set). Names are
unique whatever their case. Each action is one transaction; a refusal changes nothing.
"""

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from orchjobs.domain.agent_pools import DEFAULT_POOL_ID, DEFAULT_POOL_NAME, checked_pool_name
from orchjobs.domain.jobs import AgentStatus
from orchjobs.errors import InvalidRequestError, NotFoundError
from orchjobs.service.listing import get_row
from orchjobs.store import agent_pools as store
from orchjobs.store import listing
from orchjobs.store.agent_pools import AGENT_POOLS, DEFAULT_POOL_AGENTS
from orchjobs.store.engine import write_transaction
from orchjobs.store.rows import Record

__all__ = [
    "AGENT_POOLS",
    "DEFAULT_POOL_AGENTS",
    "PoolMember",
    "PoolRequest",
    "create_pool",
    "delete_pool",
    "get_pool",
    "update_pool",
]

# How many orchestrators a refusal names.
NAMED = 10


@dataclass(frozen=True)
class PoolMember:
    agent_id: uuid.UUID
    enable_discover: bool = False
    enable_monitor: bool = False


@dataclass(frozen=True)
class PoolRequest:
    """What a create or an update asks for. On an update, members of None stay as they are."""

    name: str | None
    members: Sequence[PoolMember] | None = None


def get_pool(engine: Engine, *, pool_id: uuid.UUID) -> Record:
    row = get_row(engine, AGENT_POOLS, key=pool_id)
    if row is None:
        raise _not_found(pool_id)
    return row


def create_pool(engine: Engine, request: PoolRequest, *, max_members: int) -> Record:
    """A new pool, with a new id, holding the orchestrators given (which leave the Default Agent Pool)."""
    name = checked_pool_name(request.name)
    members = _checked_members(request.members or (), max_members=max_members)
    pool_id = uuid.uuid4()
    with write_transaction(engine) as conn:
        _refuse_taken_name(store.lock_pools(conn), name, pool_id=pool_id)
        _refuse_members(conn, members, pool_id=pool_id)
        store.insert_pool(conn, pool_id=pool_id, name=name)
        store.replace_members(conn, pool_id=pool_id, members=_rows(members))
        return _row(conn, pool_id)


def update_pool(engine: Engine, *, pool_id: uuid.UUID, request: PoolRequest, max_members: int) -> Record:
    """Rename the pool and make its orchestrators those given (when given): orchestrators it no longer lists go
    back to the Default Agent Pool. The Default Agent Pool keeps its name; its orchestrators listed get the
    EnableDiscover and EnableMonitor given, the others neither."""
    name = checked_pool_name(request.name)
    members = None if request.members is None else _checked_members(request.members, max_members=max_members)
    with write_transaction(engine) as conn:
        names = store.lock_pools(conn)
        current = names.get(pool_id)
        if current is None:
            raise _not_found(pool_id)
        _refuse_taken_name(names, name, pool_id=pool_id)
        if pool_id == DEFAULT_POOL_ID:
            if name.casefold() != current.casefold():
                raise InvalidRequestError(f"The {DEFAULT_POOL_NAME} cannot be renamed.")
            name = current
        if members is not None:
            _refuse_members(conn, members, pool_id=pool_id)
        if name != current:
            store.rename_pool(conn, pool_id=pool_id, name=name)
        if members is not None:
            store.replace_members(conn, pool_id=pool_id, members=_rows(members))
        return _row(conn, pool_id)


def delete_pool(engine: Engine, *, pool_id: uuid.UUID) -> None:
    """Delete a pool; its orchestrators go back to the Default Agent Pool, which cannot be deleted."""
    with write_transaction(engine) as conn:
        if pool_id not in store.lock_pools(conn):
            raise _not_found(pool_id)
        if pool_id == DEFAULT_POOL_ID:
            raise InvalidRequestError(f"The {DEFAULT_POOL_NAME} cannot be deleted.")
        store.delete_pool(conn, pool_id=pool_id)


def _checked_members(members: Sequence[PoolMember], *, max_members: int) -> list[PoolMember]:
    """The members, each orchestrator once; 400 for too many or one listed twice."""
    if len(members) > max_members:
        raise InvalidRequestError(f"Agents may list at most {max_members} orchestrators; got {len(members)}.")
    twice = [agent_id for agent_id, count in Counter(member.agent_id for member in members).items() if count > 1]
    if twice:
        raise InvalidRequestError(f"Agents lists orchestrators more than once: {_named(twice)}.")
    return list(members)


def _refuse_members(conn: Connection, members: Sequence[PoolMember], *, pool_id: uuid.UUID) -> None:
    """400 naming the orchestrators that do not exist, that are in another pool, or (for the Default Agent Pool)
    that are not approved."""
    found = store.agents_of(conn, agent_ids=[member.agent_id for member in members])
    unknown = [member.agent_id for member in members if member.agent_id not in found]
    if unknown:
        raise InvalidRequestError(f"Agents lists orchestrators that do not exist: {_named(unknown)}.")
    elsewhere = [row for row in found.values() if row.pool_id is not None and row.pool_id != pool_id]
    if elsewhere:
        held = ", ".join(f"{row.client_machine} ({row.id}, in pool {row.pool_id})" for row in elsewhere[:NAMED])
        raise InvalidRequestError(
            f"An orchestrator is in one pool at most; these are in another pool: {held}"
            f"{', …' if len(elsewhere) > NAMED else ''}. Remove them from it first."
        )
    if pool_id == DEFAULT_POOL_ID:
        unapproved = [row.id for row in found.values() if row.status != int(AgentStatus.APPROVED)]
        if unapproved:
            raise InvalidRequestError(
                f"The {DEFAULT_POOL_NAME} holds approved orchestrators only; not approved: {_named(unapproved)}."
            )


def _refuse_taken_name(names: dict[uuid.UUID, str], name: str, *, pool_id: uuid.UUID) -> None:
    for other_id, other in names.items():
        if other_id != pool_id and other.casefold() == name.casefold():
            raise InvalidRequestError(f"An agent pool named {other} already exists; pool names ignore case.")


def _rows(members: Sequence[PoolMember]) -> list[tuple[uuid.UUID, bool, bool]]:
    return [(member.agent_id, member.enable_discover, member.enable_monitor) for member in members]


def _named(ids: Sequence[uuid.UUID]) -> str:
    return ", ".join(str(agent_id) for agent_id in sorted(ids)[:NAMED]) + (", …" if len(ids) > NAMED else "")


def _row(conn: Connection, pool_id: uuid.UUID) -> Record:
    row = listing.get_row(conn, AGENT_POOLS, key=pool_id)
    assert row is not None, "the pool was just written in this transaction"
    return row


def _not_found(pool_id: uuid.UUID) -> NotFoundError:
    return NotFoundError(f"Agent pool {pool_id} was not found.")
