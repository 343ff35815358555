"""Synthetic data for `orchjobs seed`: orchestrators, stores, scheduled jobs and job history.

This module owns the shape of the demo and benchmark data set (baselines.md, "Data set"):
realistic orchestrators with capabilities, the built-in and a few custom job types, one to three
certificate stores per orchestrator with an inventory schedule each, some management, discovery,
re-enrollment and custom jobs, and a long job history spread over the 90 days before `now`.
Everything comes from one `random.Random(seed)`, so a seed and a `now` always give the same rows.
"""

import json
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Engine, select

from orchjobs.domain.capabilities import custom_capability, store_capability
from orchjobs.domain.jobs import AgentPlatform, AgentStatus, JobResult, JobStatus
from orchjobs.domain.schedules import schedule_type_code
from orchjobs.store.bulk import copy_rows
from orchjobs.store.engine import write_transaction
from orchjobs.store.tables import (
    agent,
    agent_capability,
    certificate_store,
    job_history,
    job_type,
    job_type_field,
    scheduled_job,
)

HISTORY_DAYS = 90
HISTORY_CHUNK_ROWS = 10_000

# Outcome thresholds for one history row, drawn with a single rng.random() (cumulative).
# Finished rows: 60 % success, 15 % warning, 15 % failure; the last 10 % are still running or
# waiting (result Unknown). Together with the retry/acknowledge split below this gives
# status ≈ 77 % Completed, 10 % CompletedWillRetry, 3 % Acknowledged, 10 % InProcess/Waiting,
# and ≈ 27 % of rows eligible for acknowledgement, like the benchmark data set.
P_SUCCESS = 0.60
P_WARNING = P_SUCCESS + 0.15
P_FAILURE = P_WARNING + 0.15
P_IN_PROCESS = P_FAILURE + 0.06  # the rest are Waiting
# Of warnings and failures (second draw): share that will be retried, then share acknowledged.
P_FAILURE_RETRY = 0.42
P_WARNING_RETRY = 0.25
P_ACKNOWLEDGED = 0.10

BUILT_IN_JOB_TYPES: dict[str, str] = {
    "Inventory": "Reads the certificates in a certificate store.",
    "Management": "Adds or removes a certificate in a certificate store.",
    "Discovery": "Searches an orchestrator's file system for certificate stores.",
    "Reenrollment": "Generates a key on the orchestrator and enrolls a new certificate.",
    "FetchLogs": "Uploads the orchestrator's log files.",
}

# name → (description, fields as (name, type, default, required)); type 1 String, 2 Int, 4 Bool.
CUSTOM_JOB_TYPES: dict[str, tuple[str, tuple[tuple[str, int, str | None, bool], ...]]] = {
    "RestartWebService": (
        "Restarts the web server after a certificate change.",
        (("ServiceName", 1, "W3SVC", True), ("DelaySeconds", 2, "30", False)),
    ),
    "HsmKeyAudit": (
        "Lists the keys of an HSM partition and reports weak or expiring ones.",
        (("Partition", 1, None, True), ("IncludeExpired", 4, "false", False)),
    ),
}

STORE_TYPES_BY_OS: dict[str, tuple[str, ...]] = {
    "windows": ("IIS", "WinCert", "PKCS12"),
    "linux": ("PEM", "JKS", "PKCS12", "F5"),
}
APPS = ("app", "web", "api", "portal", "billing", "gateway", "auth", "intranet", "crm", "payments")
STORE_PATHS: dict[tuple[str, str], tuple[str, ...]] = {
    ("linux", "PEM"): (
        "/etc/ssl/certs/{app}.pem",
        "/etc/pki/tls/certs/{app}.crt",
        "/opt/{app}/conf/tls/server.pem",
        "/etc/nginx/ssl/{app}.pem",
    ),
    ("linux", "JKS"): (
        "/opt/{app}/conf/keystore.jks",
        "/opt/tomcat/conf/{app}.jks",
        "/usr/lib/jvm/java-17-openjdk/lib/security/cacerts",
    ),
    ("linux", "PKCS12"): ("/opt/{app}/certs/{app}.p12",),
    ("linux", "F5"): ("/Common", "/{app}"),
    ("windows", "IIS"): ("My", "WebHosting"),
    ("windows", "WinCert"): ("My", "Root", "CA"),
    ("windows", "PKCS12"): (
        "C:\\ProgramData\\certs\\{app}.pfx",
        "D:\\Apps\\{app}\\certs\\{app}.pfx",
        "C:\\inetpub\\certs\\{app}.pfx",
    ),
}
STORE_PROPERTIES: dict[str, dict[str, str]] = {
    "PEM": {"IsTrustStore": "false", "IsRSAPrivateKey": "false", "SeparatePrivateKeyFilePath": ""},
    "F5": {"PrimaryNode": "f5-ltm-01", "ServerUseSsl": "true"},
    "IIS": {"WinRm Protocol": "https", "WinRm Port": "5986", "spnwithport": "false"},
}
# Store types whose capability includes discovery and on-device key generation.
DISCOVERABLE_STORE_TYPES = frozenset({"PEM", "JKS", "PKCS12"})

ENVIRONMENTS = ("prd", "prd", "stg", "dev", "qa")
REGIONS = ("eu", "us", "ap", "uk")
HOST_ROLES = {
    "windows": ("web", "iis", "app", "adfs", "exch"),
    "linux": ("web", "api", "nginx", "tomcat", "kafka", "k8s-node"),
}
SHORT_HOST_PREFIXES = {
    "windows": ("iis-app", "iis-web", "win-ca", "sql-rpt"),
    "linux": ("uo-linux", "uo-rhel", "lb-edge"),
}
VERSIONS_BY_PLATFORM: dict[int, tuple[tuple[str, float], ...]] = {
    AgentPlatform.DOTNET: (
        ("10.4.1.0", 0.35),
        ("10.5.0.0", 0.25),
        ("24.4.0.0", 0.15),
        ("10.1.1.0", 0.15),
        ("11.5.0.0", 0.10),
    ),
    AgentPlatform.NATIVE: (("8.7.2.0", 0.7), ("9.1.0.0", 0.3)),
    AgentPlatform.BASH: (("1.2.0.0", 1.0),),
}

ACKNOWLEDGERS = ("CORP\\pki-admin", "CORP\\jsmith", "CORP\\mgarcia", "CORP\\svc-noc", "admin")
ACKNOWLEDGE_NOTES = (
    None,
    None,
    None,
    "Known issue, tracked in INC0012345",
    "Host decommissioned",
    "Retried manually",
    "Expected during maintenance window",
)


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


@dataclass(frozen=True)
class _HistoryJob:
    """A scheduled job as history rows repeat it: the fixed leading values and its messages."""

    head: tuple[Any, ...]
    successes: tuple[str, ...]
    warnings: tuple[str, ...]
    failures: tuple[str, ...]


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
    with write_transaction(engine) as conn:
        job_type_ids, new_types, new_fields = _ensure_job_types(conn, rng)
        taken_names = set(conn.execute(select(agent.c.client_machine)).scalars())
        seeded_agents = _make_agents(rng, agents, now, taken_names)
        stores = [store for a in seeded_agents for store in _make_stores(rng, a)]
        jobs = _make_jobs(rng, seeded_agents, stores, now)
        capabilities = _insert_agents(conn, seeded_agents)
        _insert_stores(conn, stores)
        _insert_scheduled_jobs(conn, jobs, job_type_ids)
        history_rows = _history_rows(rng, _history_jobs(rng, jobs), now, history, days)
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


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _uuid(rng: random.Random) -> UUID:
    return UUID(int=rng.getrandbits(128), version=4)


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


# --- certificate stores and scheduled jobs --------------------------------------------------


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


def _make_jobs(rng: random.Random, agents: Sequence[_Agent], stores: Sequence[_Store], now: datetime) -> list[_Job]:
    jobs = [_inventory_job(rng, store, now) for store in stores]
    for store in stores:
        if rng.random() < 0.25:
            jobs.append(_once_job(rng, store.agent, "Management", "Management", store, now))
        if store.store_type in DISCOVERABLE_STORE_TYPES and rng.random() < 0.10:
            jobs.append(_once_job(rng, store.agent, "Reenrollment", "Reenrollment", store, now))
    working = [a for a in agents if a.status != AgentStatus.NEW]
    for owner in working:
        if rng.random() < 0.20:
            jobs.append(_discovery_job(rng, owner, now))
        jobs += [_custom_job(rng, owner, name, now) for name in CUSTOM_JOB_TYPES if name in owner.capabilities]
        if rng.random() < 0.05:
            jobs.append(_once_job(rng, owner, "FetchLogs", "Custom", None, now))
    return jobs + _missing_kinds(rng, jobs, working, stores, now)


def _missing_kinds(
    rng: random.Random,
    jobs: Sequence[_Job],
    working: Sequence[_Agent],
    stores: Sequence[_Store],
    now: datetime,
) -> list[_Job]:
    """One job of each kind the random draws left out, so history always covers every kind."""
    if not stores:
        return []
    kinds = {job.kind for job in jobs}
    extra = []
    if "Management" not in kinds:
        extra.append(_once_job(rng, stores[0].agent, "Management", "Management", stores[0], now))
    if "Reenrollment" not in kinds:
        extra.append(_once_job(rng, stores[0].agent, "Reenrollment", "Reenrollment", stores[0], now))
    if "Discovery" not in kinds:
        extra.append(_discovery_job(rng, working[0], now))
    if "Custom" not in kinds:
        extra.append(_custom_job(rng, working[0], next(iter(CUSTOM_JOB_TYPES)), now))
    return extra


def _inventory_job(rng: random.Random, store: _Store, now: datetime) -> _Job:
    if rng.random() < 0.7:
        minutes = rng.choice((60, 120, 240, 360, 720))
        next_run = now + timedelta(seconds=rng.randint(1, minutes * 60))
        schedule: dict[str, Any] = {"Interval": {"Minutes": minutes}}
    else:
        next_run = _next_daily(now, rng.randint(0, 23), rng.choice((0, 15, 30, 45)))
        schedule = {"Daily": {"Time": _iso(next_run)}}
    return _job(rng, store.agent, "Inventory", "Inventory", store, schedule, store.path, None, now, next_run)


def _once_job(
    rng: random.Random, owner: _Agent, type_name: str, kind: str, store: _Store | None, now: datetime
) -> _Job:
    """Management, re-enrollment and log jobs run once: immediately or at a set time."""
    if rng.random() < 0.5:
        schedule: dict[str, Any] | None = {"Immediate": True}
        next_run = now
    else:
        next_run = now + timedelta(minutes=rng.randint(10, 7 * 24 * 60))
        schedule = {"ExactlyOnce": {"Time": _iso(next_run)}}
    target = store.path if store else None
    return _job(rng, owner, type_name, kind, store, schedule, target, None, now, next_run)


def _discovery_job(rng: random.Random, owner: _Agent, now: datetime) -> _Job:
    days = sorted(rng.sample(range(7), rng.randint(1, 2)))
    next_run = _next_weekly(now, days, rng.randint(0, 5))
    schedule = {"Weekly": {"Days": days, "Time": _iso(next_run)}}
    target = "C:\\,D:\\" if owner.os == "windows" else "/etc,/opt,/usr/local"
    return _job(rng, owner, "Discovery", "Discovery", None, schedule, target, None, now, next_run)


def _custom_job(rng: random.Random, owner: _Agent, type_name: str, now: datetime) -> _Job:
    next_run = _next_monthly(now, rng.randint(1, 27), rng.randint(0, 23))
    schedule: dict[str, Any] = {"Monthly": {"Day": next_run.day, "Time": _iso(next_run)}}
    fields = {
        name: default if default is not None else f"partition-{rng.randint(1, 4)}"
        for name, _kind, default, _required in CUSTOM_JOB_TYPES[type_name][1]
    }
    return _job(rng, owner, type_name, "Custom", None, schedule, None, fields, now, next_run)


def _job(
    rng: random.Random,
    owner: _Agent,
    type_name: str,
    kind: str,
    store: _Store | None,
    schedule: dict[str, Any] | None,
    target_path: str | None,
    fields: dict[str, str] | None,
    now: datetime,
    next_run: datetime,
) -> _Job:
    # Requested before the history window opens, so every history row postdates its job.
    requested = now - timedelta(days=HISTORY_DAYS, seconds=rng.randint(3600, 300 * 86400))
    return _Job(_uuid(rng), owner, type_name, kind, store, schedule, target_path, fields, requested, next_run)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _next_daily(now: datetime, hour: int, minute: int) -> datetime:
    candidate = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return candidate if candidate > now else candidate + timedelta(days=1)


def _next_weekly(now: datetime, days: Sequence[int], hour: int) -> datetime:
    """The next run on one of `days` (System.DayOfWeek: 0 = Sunday) at `hour`:00."""
    start = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    for offset in range(8):
        candidate = start + timedelta(days=offset)
        if (candidate.weekday() + 1) % 7 in days and candidate > now:
            return candidate
    raise AssertionError("a weekly schedule runs within 8 days")


def _next_monthly(now: datetime, day: int, hour: int) -> datetime:
    candidate = now.replace(day=day, hour=hour, minute=0, second=0, microsecond=0)
    if candidate > now:
        return candidate
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return candidate.replace(year=year, month=month)


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
    rows = ((s.id, s.agent.id, s.store_type, s.path, s.display_name, s.properties) for s in stores)
    copy_rows(
        conn,
        certificate_store,
        ("id", "agent_id", "store_type", "store_path", "display_name", "properties"),
        rows,
    )


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
            schedule_type_code(job.schedule),
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


def _schedule_text(schedule: dict[str, Any] | None) -> str | None:
    return json.dumps(schedule) if schedule else None


# --- job history ----------------------------------------------------------------------------

HISTORY_COLUMNS = (
    "job_id",
    "agent_id",
    "client_machine",
    "job_type",
    "schedule",
    "schedule_type",
    "target_path",
    "operation_start",
    "operation_end",
    "message",
    "result",
    "status",
    "acknowledged_at",
    "acknowledged_by",
    "acknowledge_note",
    "status_before_ack",
)


def _history_jobs(rng: random.Random, jobs: Sequence[_Job]) -> list[tuple[_HistoryJob, ...]]:
    """The jobs history can pick from, grouped by kind so that every kind gets an equal share."""
    by_kind: dict[str, list[_HistoryJob]] = {}
    for job in jobs:
        head = (
            job.id,
            job.agent.id,
            job.agent.client_machine,
            job.job_type,
            _schedule_text(job.schedule),
            schedule_type_code(job.schedule),
            job.target_path,
        )
        by_kind.setdefault(job.kind, []).append(_HistoryJob(head, *_messages(rng, job)))
    return [tuple(by_kind[kind]) for kind in sorted(by_kind)]


def _history_rows(
    rng: random.Random, kinds: Sequence[Sequence[_HistoryJob]], now: datetime, count: int, days: int
) -> Iterator[tuple[Any, ...]]:
    """`count` history rows in operation_start order, spread evenly over the window before `now`.

    The hot loop of the seed: everything per job is precomputed, and each decision is one
    rng.random() against a threshold.
    """
    window_start = now - timedelta(days=days)
    # One slot per row with a random point inside it: sorted without sorting, uniform overall.
    slot_us = days * 86_400_000_000 / count if count else 0
    rand = rng.random
    kind_count = len(kinds)
    for index in range(count):
        start = window_start + timedelta(microseconds=int((index + rand()) * slot_us))
        pool = kinds[int(rand() * kind_count)]
        job = pool[int(rand() * len(pool))]
        outcome = rand()
        if outcome >= P_FAILURE:
            status = _IN_PROCESS if outcome < P_IN_PROCESS else _WAITING
            yield job.head + (start, None, "", _UNKNOWN, status, *_NOT_ACKNOWLEDGED)
            continue
        end = min(start + timedelta(seconds=1 + rand() * 599), now)
        if outcome < P_SUCCESS:
            message = job.successes[int(rand() * len(job.successes))]
            yield job.head + (start, end, message, _SUCCESS, _COMPLETED, *_NOT_ACKNOWLEDGED)
            continue
        if outcome < P_WARNING:
            result, messages, retry_share = _WARNING, job.warnings, P_WARNING_RETRY
        else:
            result, messages, retry_share = _FAILURE, job.failures, P_FAILURE_RETRY
        message = messages[int(rand() * len(messages))]
        follow_up = rand()
        if follow_up < retry_share:
            yield job.head + (start, end, message, result, _WILL_RETRY, *_NOT_ACKNOWLEDGED)
        elif follow_up < retry_share + P_ACKNOWLEDGED:
            yield job.head + (start, end, message, result, _ACKNOWLEDGED, *_acknowledgement(rand, end, now))
        else:
            yield job.head + (start, end, message, result, _COMPLETED, *_NOT_ACKNOWLEDGED)


# Plain ints for the hot loop (the drivers need no enum handling), and the empty ack columns.
_UNKNOWN, _SUCCESS, _WARNING, _FAILURE = (
    int(JobResult.UNKNOWN),
    int(JobResult.SUCCESS),
    int(JobResult.WARNING),
    int(JobResult.FAILURE),
)
_WAITING, _IN_PROCESS, _COMPLETED, _ACKNOWLEDGED, _WILL_RETRY = (
    int(JobStatus.WAITING),
    int(JobStatus.IN_PROCESS),
    int(JobStatus.COMPLETED),
    int(JobStatus.ACKNOWLEDGED),
    int(JobStatus.COMPLETED_WILL_RETRY),
)
_NOT_ACKNOWLEDGED = (None, None, None, None)


def _acknowledgement(rand: Callable[[], float], end: datetime, now: datetime) -> tuple[Any, ...]:
    """acknowledged_at (minutes to days after the run), by, note, and the status it replaced."""
    at = min(end + timedelta(seconds=60 + rand() * 3 * 86400), now)
    by = ACKNOWLEDGERS[int(rand() * len(ACKNOWLEDGERS))]
    note = ACKNOWLEDGE_NOTES[int(rand() * len(ACKNOWLEDGE_NOTES))]
    return at, by, note, _COMPLETED


def _messages(rng: random.Random, job: _Job) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """A job's success, warning and failure messages (a few variants each, numbers drawn once)."""
    host = job.agent.client_machine.split(".", 1)[0]
    path = job.target_path or host
    count = rng.randint(1, 250)
    successes = _success_messages(job, path, count, rng.randint(1, 120))
    warnings = (
        f"{rng.randint(2, 9)} certificates skipped: private key not exportable",
        f"Completed with warnings: {rng.randint(1, 5)} certificates in {path} could not be parsed",
        f"Certificate 'www.{host}.example.com' in {path} expires in {rng.randint(1, 29)} days",
    )
    failures = (
        f"Unable to connect to remote server {host}: connection timed out",
        f"Access is denied to {path}",
        f"The job did not complete within 600 seconds on {host}",
        f"SSL handshake with {host}:443 failed: certificate verify failed",
        _type_specific_failure(job, path),
    )
    return successes, warnings, failures


def _success_messages(job: _Job, path: str, count: int, seconds: int) -> tuple[str, ...]:
    detail = {
        "Inventory": f"Inventory completed: {count} certificates",
        "Management": f"Certificate 'www.example.com' added to {path}",
        "Reenrollment": f"Re-enrollment completed: new certificate issued for CN={path}",
        "Discovery": f"Discovery completed: {count % 12 + 1} certificate stores found in {path}",
        "FetchLogs": f"Log files uploaded ({count * 37} KB)",
    }.get(job.job_type, f"{job.job_type} completed in {seconds} s")
    # Most successful runs report nothing; an empty message three times in five.
    return ("", "", "", detail, detail)


def _type_specific_failure(job: _Job, path: str) -> str:
    store_type = job.store.store_type if job.store else ""
    if store_type == "JKS":
        return f"Keystore {path} was tampered with, or password was incorrect"
    if store_type in ("IIS", "WinCert"):
        return "WinRM error: The WS-Management service cannot process the request"
    if job.job_type == "Reenrollment":
        return "The certificate authority denied the request: template 'WebServer' not found"
    return f"The store file {path} was not found"
