"""Whether this process can serve (/readyz), the gauges /metrics reads from the database at each scrape, and the
bookkeeping of prometheus-client's multiprocess mode (`orchjobs serve --workers N`)."""

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import Gauge
from sqlalchemy import Engine, event
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
    # With several processes each has its own pool: their gauges are the live ones `watch_pool` keeps, summed.
    if isinstance(pool, QueuePool) and shared_metrics_directory() is None:
        return Gauges(failures, orchestrators, pool.size(), pool.checkedout())
    return Gauges(failures, orchestrators, None, None)


# Where prometheus-client keeps each process's series in multiprocess mode; read by prometheus-client at import.
MULTIPROCESS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"


def shared_metrics_directory() -> str | None:
    """The directory the server's processes share their series through, None when this process counts alone."""
    return os.environ.get(MULTIPROCESS_DIRECTORY) or None


_pool_gauges: tuple[Gauge, Gauge] | None = None


def watch_pool(engine: Engine) -> None:
    """In multiprocess mode, keep this process's pool size and connections in use in live gauges that a scrape sums
    over the processes alive: whichever process answers the scrape cannot read the others' pools. Two counter
    updates per checkout; nothing in single-process mode, where a scrape reads its own pool."""
    global _pool_gauges
    pool = engine.pool
    if not isinstance(pool, QueuePool) or shared_metrics_directory() is None:
        return
    if _pool_gauges is None:
        # Not in the default registry: the multiprocess collector reads them from their files.
        _pool_gauges = (
            Gauge(
                "orchjobs_db_pool_size",
                "Connections the database pools keep (PostgreSQL), over the server's processes.",
                multiprocess_mode="livesum",
                registry=None,
            ),
            Gauge(
                "orchjobs_db_pool_checked_out",
                "Pool connections in use by requests right now (PostgreSQL), over the server's processes.",
                multiprocess_mode="livesum",
                registry=None,
            ),
        )
    size, checked_out = _pool_gauges
    size.set(pool.size())

    def on_checkout(*_args: Any) -> None:
        checked_out.inc()

    def on_checkin(*_args: Any) -> None:
        checked_out.dec()

    # On the engine rather than its pool: the listeners follow the engine to the new pool `dispose` makes.
    event.listen(engine, "checkout", on_checkout)
    event.listen(engine, "checkin", on_checkin)


def process_exiting() -> None:
    """A server process that stops drops its live gauges from the shared directory; its counters stay, so that
    totals never go down."""
    directory = shared_metrics_directory()
    if directory is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid(), directory)  # type: ignore[no-untyped-call]


def _status_name(status: int) -> str:
    try:
        return AgentStatus(status).name.lower()
    except ValueError:
        return str(status)


def _age(now: datetime, seen: datetime | None) -> float:
    return max(0.0, (now - seen).total_seconds()) if seen is not None else 0.0
