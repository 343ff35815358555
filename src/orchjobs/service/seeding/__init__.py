"""Synthetic data for `orchjobs seed`: the demo and benchmark data set (baselines.md, "Data set"), and the one write
transaction that inserts it. Everything comes from one `random.Random(seed)`, drawn in a fixed order across the
modules here, so a seed and a `now` always give the same rows."""

import json
import random
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy import Connection, Engine, insert, select

from orchjobs.domain.capabilities import custom_capability, store_capability
from orchjobs.domain.schedules import schedule_type
from orchjobs.domain.store_types import FIRST_CUSTOM_ID, default_job_type_ids
from orchjobs.service.partitions import ensure_months
from orchjobs.service.seeding.fleet import _Agent, _Job, _make_agents, _make_stores, _schedule_text, _Store, _uuid
from orchjobs.service.seeding.history import HISTORY_COLUMNS, HISTORY_DAYS, _history_jobs, _history_rows
from orchjobs.service.seeding.scheduled_jobs import _make_jobs
from orchjobs.service.seeding.vocabulary import BUILT_IN_JOB_TYPES, CUSTOM_JOB_TYPES
from orchjobs.store.bulk import copy_rows, estimated_rows, indexes_deferred
from orchjobs.store.engine import lift_budget, write_transaction
from orchjobs.store.tables import (
    agent,
    agent_capability,
    certificate_store,
    certificate_store_type,
    job_history,
    job_type,
    job_type_field,
    scheduled_job,
)

__all__ = ["HISTORY_DAYS", "SeedSummary", "seed_database"]

HISTORY_CHUNK_ROWS = 10_000
# From this many rows on, a seed into a smaller table builds the history's indexes after the load.
DEFERRED_INDEX_ROWS = 200_000


@dataclass(frozen=True)
class SeedSummary:
    """How many rows `seed_database` added to each table (job types: only the new ones)."""

    agents: int
    capabilities: int
    job_types: int
    job_type_fields: int
    certificate_stores: int
    scheduled_jobs: int
    history: int


def seed_database(
    engine: Engine,
    *,
    agents: int,
    history: int,
    seed: int,
    now: datetime | None = None,
    days: int = HISTORY_DAYS,
    progress: Callable[[int], None] | None = None,
) -> SeedSummary:
    """Add `agents` orchestrators with stores and jobs, and `history` job-history rows.

    Appends to whatever the database holds, in one write transaction. `progress(n)` is called
    as history rows are written, with the number just added. History needs at least one agent.
    """
    if agents < 0 or history < 0:
        raise ValueError("agents and history must not be negative")
    if days < 1:
        raise ValueError("history must span at least one day")
    if history and not agents:
        raise ValueError("history rows need at least one agent to have run them")
    now = _as_utc(now) if now else datetime.now(UTC).replace(second=0, microsecond=0)
    rng = random.Random(seed)
    if history:
        # The months the history falls in get their partitions first (PostgreSQL): rows of a month without one would
        # pile up in the DEFAULT partition.
        ensure_months(engine, first=now - timedelta(days=days), last=now)
    with write_transaction(engine) as conn:
        # A seed of millions is no one's request: its COPY and index builds may take minutes.
        lift_budget(conn)
        job_type_ids, new_types, new_fields = _ensure_job_types(conn, rng)
        taken_names = set(conn.execute(select(agent.c.client_machine)).scalars())
        seeded_agents = _make_agents(rng, agents, now, taken_names)
        stores = [store for a in seeded_agents for store in _make_stores(rng, a)]
        jobs = _make_jobs(rng, seeded_agents, stores, now)
        capabilities = _insert_agents(conn, seeded_agents)
        _insert_stores(conn, stores)
        _insert_scheduled_jobs(conn, jobs, job_type_ids)
        history_rows = _history_rows(rng, _history_jobs(rng, jobs), now, history, days)
        deferred = indexes_deferred(conn, job_history) if _outgrows(conn, history) else nullcontext(0)
        with deferred:
            written = copy_rows(
                conn, job_history, HISTORY_COLUMNS, history_rows, chunk_rows=HISTORY_CHUNK_ROWS, on_chunk=progress
            )
    return SeedSummary(
        agents=len(seeded_agents),
        capabilities=capabilities,
        job_types=new_types,
        job_type_fields=new_fields,
        certificate_stores=len(stores),
        scheduled_jobs=len(jobs),
        history=written,
    )


def _outgrows(conn: Connection, history: int) -> bool:
    """Whether the seed adds more history than the table holds, and enough that building its indexes once after the
    load (store.bulk.indexes_deferred) pays; the table's size as the planner estimates it."""
    if history < DEFERRED_INDEX_ROWS:
        return False
    return history > estimated_rows(conn, job_history)


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- job types ------------------------------------------------------------------------------


def _ensure_job_types(conn: Connection, rng: random.Random) -> tuple[dict[str, UUID], int, int]:
    """Ids of all job types by name, inserting the missing ones; returns (ids, types, fields added)."""
    names = [*BUILT_IN_JOB_TYPES, *CUSTOM_JOB_TYPES]
    # Draw an id for every name, present or not, so the rest of the stream does not depend on
    # what the database already held.
    drawn = {name: _uuid(rng) for name in names}
    existing = dict(conn.execute(select(job_type.c.name, job_type.c.id).where(job_type.c.name.in_(names))).all())
    missing = [name for name in names if name not in existing]
    type_rows = [(drawn[name], name, *_job_type_description(name)) for name in missing]
    field_rows = [
        (drawn[name], field, kind, default, required)
        for name in missing
        if name in CUSTOM_JOB_TYPES
        for field, kind, default, required in CUSTOM_JOB_TYPES[name][1]
    ]
    copy_rows(conn, job_type, ("id", "name", "description", "is_custom"), type_rows)
    copy_rows(conn, job_type_field, ("job_type_id", "name", "type", "default_value", "required"), field_rows)
    return {**drawn, **existing}, len(type_rows), len(field_rows)


def _job_type_description(name: str) -> tuple[str, bool]:
    if name in BUILT_IN_JOB_TYPES:
        return BUILT_IN_JOB_TYPES[name], False
    return CUSTOM_JOB_TYPES[name][0], True


# --- inserts --------------------------------------------------------------------------------


def _insert_agents(conn: Connection, agents: Sequence[_Agent]) -> int:
    agent_rows = (
        (a.id, a.client_machine, a.username, a.platform, a.version, a.status, a.last_seen, a.thumbprint, 0)
        for a in agents
    )
    columns = (
        "id",
        "client_machine",
        "username",
        "platform",
        "version",
        "status",
        "last_seen",
        "thumbprint",
        "auth_certificate_reenrollment",
    )
    copy_rows(conn, agent, columns, agent_rows)
    capability_rows = ((a.id, capability) for a in agents for capability in a.capabilities)
    return copy_rows(conn, agent_capability, ("agent_id", "capability"), capability_rows)


def _insert_stores(conn: Connection, stores: Sequence[_Store]) -> None:
    type_ids = _store_type_ids(conn, sorted({s.store_type for s in stores}))
    columns = (
        *("id", "agent_id", "store_type_id", "client_machine", "store_path", "display_name", "properties"),
        *("approved", "create_if_missing"),
    )
    rows = (
        (
            s.id,
            s.agent.id,
            type_ids[s.store_type],
            s.agent.client_machine,
            s.path,
            s.display_name,
            s.properties,
            True,
            False,
        )
        for s in stores
    )
    copy_rows(
        conn,
        certificate_store,
        columns,
        rows,
    )


def _store_type_ids(conn: Connection, short_names: Sequence[str]) -> dict[str, int]:
    """The ids of the store types the fleet uses by short name, making plain types for those not defined yet."""
    rows = conn.execute(select(certificate_store_type.c.short_name, certificate_store_type.c.id)).all()
    known: dict[str, int] = {row.short_name: row.id for row in rows}
    next_id = max([FIRST_CUSTOM_ID - 1, *known.values()]) + 1
    for short_name in short_names:
        if short_name in known:
            continue
        guids = default_job_type_ids(short_name)
        conn.execute(
            insert(certificate_store_type).values(
                id=next_id,
                name=short_name,
                short_name=short_name,
                capability=short_name,
                supports_add=True,
                supports_remove=True,
                import_type=next_id,
                inventory_job_type=guids.inventory,
                management_job_type=guids.management,
                discovery_job_type=guids.discovery,
                enrollment_job_type=guids.enrollment,
            )
        )
        known[short_name] = next_id
        next_id += 1
    return known


def _capability(job: _Job) -> str:
    """What an orchestrator must be able to do to run the job, as it would register it."""
    if job.store is not None and job.kind != "Custom":
        return store_capability(job.store.store_type, job.kind).name
    return custom_capability(job.job_type).name


def _insert_scheduled_jobs(conn: Connection, jobs: Sequence[_Job], job_type_ids: dict[str, UUID]) -> None:
    rows = (
        (
            job.id,
            job.agent.id,
            job_type_ids[job.job_type],
            job.store.id if job.store else None,
            _schedule_text(job.schedule),
            schedule_type(job.schedule),
            job.target_path,
            json.dumps(job.fields) if job.fields else None,
            job.requested_at,
            job.next_run_at,
            _capability(job),
        )
        for job in jobs
    )
    columns = (
        "id",
        "agent_id",
        "job_type_id",
        "certificate_store_id",
        "schedule",
        "schedule_type",
        "target_path",
        "fields",
        "requested_at",
        "next_run_at",
        "capability",
    )
    copy_rows(conn, scheduled_job, columns, rows)
