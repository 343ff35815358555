"""The seeded fleet: orchestrators with their capabilities and one to three certificate stores each, and the
records (`_Agent`, `_Store`, `_Job`) that scheduled jobs, history and the inserts are built from."""

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from orchjobs.domain.jobs import AgentPlatform, AgentStatus
from orchjobs.service.seeding.vocabulary import (
    APPS,
    CUSTOM_JOB_TYPES,
    DISCOVERABLE_STORE_TYPES,
    ENVIRONMENTS,
    HOST_ROLES,
    REGIONS,
    SHORT_HOST_PREFIXES,
    STORE_PATHS,
    STORE_PROPERTIES,
    STORE_TYPES_BY_OS,
    VERSIONS_BY_PLATFORM,
)


@dataclass(frozen=True)
class _Agent:
    id: UUID
    os: str
    client_machine: str
    username: str
    platform: int
    version: str
    status: int
    last_seen: datetime
    thumbprint: str
    store_types: tuple[str, ...]
    capabilities: tuple[str, ...]


@dataclass(frozen=True)
class _Store:
    id: UUID
    agent: _Agent
    store_type: str
    path: str
    display_name: str
    properties: str | None


@dataclass(frozen=True)
class _Job:
    id: UUID
    agent: _Agent
    job_type: str
    kind: str  # Inventory, Management, Reenrollment, Discovery or Custom (custom types and FetchLogs)
    store: _Store | None
    schedule: dict[str, Any] | None
    target_path: str | None
    fields: dict[str, str] | None
    requested_at: datetime
    next_run_at: datetime


def _uuid(rng: random.Random) -> UUID:
    return UUID(int=rng.getrandbits(128), version=4)


def _schedule_text(schedule: dict[str, Any] | None) -> str | None:
    return json.dumps(schedule) if schedule else None


# --- agents ---------------------------------------------------------------------------------


def _make_agents(rng: random.Random, count: int, now: datetime, taken_names: set[str]) -> list[_Agent]:
    agents = [_make_agent(rng, now, taken_names) for _ in range(count)]
    # Only approved (or once approved) orchestrators have stores and history; make sure one is.
    if agents and all(a.status == AgentStatus.NEW for a in agents):
        agents[0] = replace(agents[0], status=AgentStatus.APPROVED)
    return agents


def _make_agent(rng: random.Random, now: datetime, taken_names: set[str]) -> _Agent:
    os_name = "windows" if rng.random() < 0.45 else "linux"
    machine, number = _machine_name(rng, os_name, taken_names)
    platform = _platform(rng, os_name)
    versions, weights = zip(*VERSIONS_BY_PLATFORM[platform], strict=True)
    status = _agent_status(rng)
    store_types = _agent_store_types(rng, os_name)
    return _Agent(
        id=_uuid(rng),
        os=os_name,
        client_machine=machine,
        username=f"CORP\\svc-orch-{number:03d}",
        platform=platform,
        version=rng.choices(versions, weights)[0],
        status=status,
        last_seen=now - timedelta(seconds=_seconds_since_seen(rng, status)),
        thumbprint=f"{rng.getrandbits(160):040X}",
        store_types=store_types,
        capabilities=_capabilities(rng, store_types),
    )


def _machine_name(rng: random.Random, os_name: str, taken: set[str]) -> tuple[str, int]:
    """A host name not used yet, and the number in it (reused in the service account's name)."""
    for _ in range(20):
        number = rng.randint(1, 999)
        if rng.random() < 0.35:
            name = f"{rng.choice(SHORT_HOST_PREFIXES[os_name])}-{number % 100:02d}"
        else:
            role, env, region = rng.choice(HOST_ROLES[os_name]), rng.choice(ENVIRONMENTS), rng.choice(REGIONS)
            name = f"{role}-{env}-{region}-{number:03d}.corp.example.com"
        if name not in taken:
            break
    else:
        # Thousands of agents exhaust the short names; a suffix keeps the name unique.
        name = f"{name.split('.', 1)[0]}-{len(taken)}.corp.example.com"
    taken.add(name)
    return name, number


def _platform(rng: random.Random, os_name: str) -> int:
    if os_name == "windows":
        return AgentPlatform.DOTNET
    draw = rng.random()
    if draw < 0.8:
        return AgentPlatform.DOTNET  # the Universal Orchestrator reports .NET on Linux too
    return AgentPlatform.NATIVE if draw < 0.9 else AgentPlatform.BASH


def _agent_status(rng: random.Random) -> int:
    draw = rng.random()
    if draw < 0.90:
        return AgentStatus.APPROVED
    return AgentStatus.NEW if draw < 0.96 else AgentStatus.DISAPPROVED


def _seconds_since_seen(rng: random.Random, status: int) -> int:
    if status == AgentStatus.APPROVED and rng.random() < 0.85:
        return rng.randint(5, 15 * 60)  # heartbeating
    if status == AgentStatus.NEW:
        return rng.randint(60, 2 * 86400)
    return rng.randint(3600, 30 * 86400)  # offline or disapproved


def _agent_store_types(rng: random.Random, os_name: str) -> tuple[str, ...]:
    available = STORE_TYPES_BY_OS[os_name]
    return tuple(sorted(rng.sample(available, rng.randint(1, len(available)))))


def _capabilities(rng: random.Random, store_types: Sequence[str]) -> tuple[str, ...]:
    capabilities = ["LOGS"]
    for store_type in store_types:
        operations = ["Inventory", "Management"]
        if store_type in DISCOVERABLE_STORE_TYPES:
            operations += ["Discovery", "Reenrollment"]
        capabilities += [f"CertStores.{store_type}.{operation}" for operation in operations]
    capabilities += [name for name in CUSTOM_JOB_TYPES if rng.random() < 0.3]
    return tuple(capabilities)


# --- certificate stores ---------------------------------------------------------------------


def _make_stores(rng: random.Random, owner: _Agent) -> list[_Store]:
    if owner.status == AgentStatus.NEW:
        return []  # a new orchestrator can run no jobs, so nobody has given it stores yet
    wanted = rng.choices((1, 2, 3), (0.5, 0.3, 0.2))[0]
    seen: set[tuple[str, str]] = set()
    stores = []
    for _ in range(wanted * 3):  # a few tries: two draws may name the same store
        store_type = rng.choice(owner.store_types)
        app = rng.choice(APPS)
        path = rng.choice(STORE_PATHS[(owner.os, store_type)]).format(app=app)
        if (store_type, path) in seen:
            continue
        seen.add((store_type, path))
        properties = STORE_PROPERTIES.get(store_type)
        stores.append(
            _Store(
                id=_uuid(rng),
                agent=owner,
                store_type=store_type,
                path=path,
                display_name=f"{app} ({store_type}) on {owner.client_machine.split('.', 1)[0]}",
                properties=json.dumps(properties) if properties else None,
            )
        )
        if len(stores) == wanted:
            break
    return stores
