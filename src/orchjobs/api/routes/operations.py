"""/healthz, /readyz and /metrics: for load balancers, orchestration platforms and Prometheus (docs/operations.md).
Outside /KeyfactorAPI: no Keyfactor client calls them, and they need no x-keyfactor-requested-with."""

from typing import Any

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from orchjobs.api import wire
from orchjobs.api.auth import current_principal
from orchjobs.api.context import context_of
from orchjobs.domain.permissions import READ_AGENTS
from orchjobs.errors import NotFoundError, PermissionDeniedError
from orchjobs.service import health

router = APIRouter(tags=["Operations"])


@router.get("/healthz")
async def healthz() -> Response:
    """The process is alive and answering; asks the database nothing."""
    return wire.json_response({"status": "ok"})


@router.get("/readyz")
async def readyz(request: Request) -> Response:
    """200 when the database answers and its schema is at the newest migration, else 503."""
    ready = await run_in_threadpool(health.readiness, context_of(request).engine)
    body = {
        "status": "ok" if ready.ready else "unavailable",
        "database": ready.database,
        "revision": ready.revision,
        "head": ready.head,
    }
    return wire.json_response(body, status_code=200 if ready.ready else 503)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """Prometheus' text format: the request and job counters (this process's, or with several processes the sum
    over all of them), and gauges read from the database now (once, by the process that answers)."""
    context = context_of(request)
    access = context.settings.metrics
    if access == "off":
        raise NotFoundError("Metrics are turned off (ORCHJOBS_METRICS=off).")
    if access == "authenticated":
        principal = await current_principal(request)
        if not principal.may((READ_AGENTS,)):
            raise PermissionDeniedError(f"{principal.name!r} may not read metrics: that needs {READ_AGENTS}.")
    gauges = await run_in_threadpool(health.gauges, context.engine, now=context.clock())
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(_GaugeCollector(gauges))
    return Response(generate_latest(_counters()) + generate_latest(scrape), media_type=CONTENT_TYPE_LATEST)


def _counters() -> CollectorRegistry:
    """This process's registry; with several processes, their shared files merged (counters and histograms summed,
    live gauges summed over the processes alive). Per-process series (`process_*`, `python_*`) are then left out:
    they would describe only the process that happened to answer."""
    directory = health.shared_metrics_directory()
    if directory is None:
        return REGISTRY
    merged = CollectorRegistry()
    multiprocess.MultiProcessCollector(merged, path=directory)  # type: ignore[no-untyped-call]
    return merged


class _GaugeCollector(Collector):
    """The gauges of one scrape, already read."""

    def __init__(self, gauges: health.Gauges) -> None:
        self.gauges = gauges

    def collect(self) -> Any:
        gauges = self.gauges
        yield GaugeMetricFamily(
            "orchjobs_open_failures",
            "Failed and warning runs not acknowledged, within the age-out window (the FailureCount).",
            value=gauges.open_failures,
        )
        count = GaugeMetricFamily("orchjobs_orchestrators", "Orchestrators by approval status.", labels=["status"])
        oldest = GaugeMetricFamily(
            "orchjobs_orchestrator_last_seen_oldest_age_seconds",
            "Seconds since the least recently seen orchestrator of each status called.",
            labels=["status"],
        )
        newest = GaugeMetricFamily(
            "orchjobs_orchestrator_last_seen_newest_age_seconds",
            "Seconds since the most recently seen orchestrator of each status called.",
            labels=["status"],
        )
        for group in gauges.orchestrators:
            count.add_metric([group.status], group.count)
            oldest.add_metric([group.status], group.oldest_seen_age_seconds)
            newest.add_metric([group.status], group.newest_seen_age_seconds)
        yield from (count, oldest, newest)
        if gauges.pool_size is not None and gauges.pool_checked_out is not None:
            yield GaugeMetricFamily(
                "orchjobs_db_pool_size", "Connections the database pool keeps (PostgreSQL).", value=gauges.pool_size
            )
            yield GaugeMetricFamily(
                "orchjobs_db_pool_checked_out",
                "Pool connections in use by requests right now (PostgreSQL).",
                value=gauges.pool_checked_out,
            )
