"""Orchestrators as the protocol sees them: agent rows, their capabilities, sessions, events and the
orchestrator CA's row. Every function takes a connection and never commits."""

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from orchjobs.store.dialects import conflict_insert
from orchjobs.store.rows import Record
from orchjobs.store.tables import agent, agent_capability, agent_event, agent_session, orchestrator_ca


def get_agent(conn: Connection, *, agent_id: uuid.UUID) -> Record | None:
    return conn.execute(select(agent).where(agent.c.id == agent_id)).first()


def find_agents_by_client_machine(conn: Connection, *, client_machine: str) -> Sequence[Record]:
    """Agents of that name, compared case-insensitively (host names are), most recently seen first."""
    stmt = (
        select(agent)
        .where(func.lower(agent.c.client_machine) == client_machine.lower())
        .order_by(agent.c.last_seen.desc(), agent.c.id)
    )
    return conn.execute(stmt).all()


def lock_client_machine(conn: Connection, *, client_machine: str) -> None:
    """Serialize registrations under one name until the transaction ends, so that two first registrations
    cannot both find the name free. SQLite needs nothing: its write transactions already run one at a time."""
    if conn.dialect.name == "postgresql":
        key = func.hashtextextended(client_machine.lower(), 0)
        conn.execute(select(func.pg_advisory_xact_lock(key)))


def insert_agent(
    conn: Connection,
    *,
    agent_id: uuid.UUID,
    client_machine: str,
    username: str,
    platform: int,
    version: str,
    status: int,
    last_seen: datetime,
    thumbprint: str | None = None,
) -> None:
    conn.execute(
        insert(agent).values(
            id=agent_id,
            client_machine=client_machine,
            username=username,
            platform=platform,
            version=version,
            status=status,
            last_seen=last_seen,
            thumbprint=thumbprint,
        )
    )


def update_agent(conn: Connection, *, agent_id: uuid.UUID, **values: Any) -> None:
    """Set the given columns (last_seen, platform, version, status, thumbprint, last_error_code, …)."""
    unknown = set(values) - set(agent.c.keys())
    if unknown:
        raise ValueError(f"not columns of agent: {sorted(unknown)}")
    conn.execute(update(agent).where(agent.c.id == agent_id).values(**values))


def get_capabilities(conn: Connection, *, agent_id: uuid.UUID) -> list[str]:
    stmt = select(agent_capability.c.capability).where(agent_capability.c.agent_id == agent_id)
    return sorted(conn.execute(stmt).scalars())


def replace_capabilities(conn: Connection, *, agent_id: uuid.UUID, capabilities: Iterable[str]) -> None:
    conn.execute(delete(agent_capability).where(agent_capability.c.agent_id == agent_id))
    rows = [{"agent_id": agent_id, "capability": name} for name in capabilities]
    if rows:
        conn.execute(insert(agent_capability), rows)


def token_digest(token: str) -> str:
    """What a session token is stored and found by: its SHA-256, in hex. A token is a random GUID (122 random bits),
    so nothing can be guessed from its digest, and a salt or a slow hash (what passwords need) would add nothing but
    cost to every job call; the digest keeps a copy of the table (a backup, a dump) from opening sessions."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def insert_session(
    conn: Connection, *, token: str, agent_id: uuid.UUID, created_at: datetime, expires_at: datetime
) -> None:
    conn.execute(
        insert(agent_session).values(
            token_sha256=token_digest(token), agent_id=agent_id, created_at=created_at, expires_at=expires_at
        )
    )


def get_session_agent_status(conn: Connection, *, token: str, now: datetime) -> Record | None:
    """(agent_id, status) of the live session's agent; None for an unknown or expired token (the token is hashed
    here). The job calls read it in their job statement (store.job_calls); a call refused before it reached its run
    reads it alone."""
    stmt = (
        select(agent.c.id.label("agent_id"), agent.c.status)
        .select_from(agent_session)
        .join(agent, agent.c.id == agent_session.c.agent_id)
        .where(agent_session.c.token_sha256 == token_digest(token), agent_session.c.expires_at > now)
    )
    return conn.execute(stmt).first()


def end_sessions(conn: Connection, *, agent_id: uuid.UUID) -> int:
    """End every session of the agent, live or expired (indexed): a registration opens the only one that counts."""
    return conn.execute(delete(agent_session).where(agent_session.c.agent_id == agent_id)).rowcount


def record_agent_event(
    conn: Connection,
    *,
    at: datetime,
    kind: str,
    message: str,
    agent_id: uuid.UUID | None = None,
    job_id: uuid.UUID | None = None,
) -> None:
    conn.execute(insert(agent_event).values(at=at, kind=kind, message=message, agent_id=agent_id, job_id=job_id))


def get_orchestrator_ca(conn: Connection) -> Record | None:
    return conn.execute(select(orchestrator_ca).where(orchestrator_ca.c.id == 1)).first()


def insert_orchestrator_ca(
    conn: Connection, *, certificate_pem: str, private_key_pem: str, created_at: datetime
) -> bool:
    """Store the CA; False (and nothing written) when another process stored its CA first."""
    stmt = (
        conflict_insert(conn, orchestrator_ca)
        .values(id=1, certificate_pem=certificate_pem, private_key_pem=private_key_pem, created_at=created_at)
        .on_conflict_do_nothing(index_elements=[orchestrator_ca.c.id])
        .returning(orchestrator_ca.c.id)
    )
    # RETURNING rather than rowcount: through SQLAlchemy and psycopg, rowcount was 1 even when the conflict skipped it.
    return conn.execute(stmt).first() is not None


def replace_orchestrator_ca_key(conn: Connection, *, old: str, new: str) -> bool:
    """Store the CA's key in a new form (encrypted) in place of `old`; False when the stored text is no longer `old`
    (another process replaced it first)."""
    stmt = update(orchestrator_ca).where(orchestrator_ca.c.id == 1, orchestrator_ca.c.private_key_pem == old)
    return conn.execute(stmt.values(private_key_pem=new)).rowcount == 1
