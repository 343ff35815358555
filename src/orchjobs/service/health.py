"""Whether this process can serve (/readyz), and the gauges /metrics reads from the database at each scrape."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.pool import QueuePool

from orchjobs.domain.jobs import AgentStatus
from orchjobs.service.history import failure_count
from orchjobs.store import health as store
from orchjobs.store.engine import read_transaction
from orchjobs.store.migrate import current_revision, head_revision


@dataclass(frozen=True)
class Readiness:
    ready: bool
    database: str  # "ok", or why not
    revision: str | None
    head: str | None
    # The driver's own words when the database did not answer: for the operator's terminal, not for /readyz.
    cause: str | None = None


def readiness(engine: Engine) -> Readiness:
    """Ready when the database answers and is at the newest migration: a server on an older schema (a deploy
    whose `orchjobs migrate` has not run yet) must not take traffic."""
    head = head_revision()
    try:
        with read_transaction(engine) as conn:
            revision = current_revision(conn)
    except Exception as exc:  # noqa: BLE001 - whatever keeps the database from answering means not ready
        root = getattr(exc.__cause__, "orig", None) or exc.__cause__ or exc
        return Readiness(False, f"unreachable: {type(exc).__name__}", None, head, cause=str(root).strip())
    if revision != head:
        return Readiness(False, "migrations behind: run `orchjobs migrate`", revision, head)
    return Readiness(True, "ok", revision, head)


@dataclass(frozen=True)
class OrchestratorGauge:
    status: str
    count: int
    oldest_seen_age_seconds: float
    newest_seen_age_seconds: float


@dataclass(frozen=True)
class Gauges:
    open_failures: int
    orchestrators: list[OrchestratorGauge]
    pool_size: int | None
    pool_checked_out: int | None


def gauges(engine: Engine, *, now: datetime) -> Gauges:
    """The database-backed gauges: the FailureCount, orchestrators by status with how long ago the least and the
    most recently seen one called, and the connection pool's use."""
    failures = failure_count(engine, now=now).count
    with read_transaction(engine) as conn:
        groups = store.agents_by_status(conn)
    orchestrators = [
        OrchestratorGauge(
            status=_status_name(group.status),
            count=group.count,
            oldest_seen_age_seconds=_age(now, group.oldest_seen),
            newest_seen_age_seconds=_age(now, group.newest_seen),
        )
        for group in groups
    ]
    pool = engine.pool
    if isinstance(pool, QueuePool):
        return Gauges(failures, orchestrators, pool.size(), pool.checkedout())
    return Gauges(failures, orchestrators, None, None)


def _status_name(status: int) -> str:
    try:
        return AgentStatus(status).name.lower()
    except ValueError:
        return str(status)


def _age(now: datetime, seen: datetime | None) -> float:
    return max(0.0, (now - seen).total_seconds()) if seen is not None else 0.0
