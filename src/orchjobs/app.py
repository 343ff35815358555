"""create_app(settings): builds the engine, the services' context and the HTTP app. Nothing at import time."""

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from anyio import to_thread
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from orchjobs import __version__
from orchjobs.api.api_docs import install_api_docs
from orchjobs.api.browser_policy import install_browser_policy
from orchjobs.api.console import STATIC, STATIC_PATH
from orchjobs.api.context import AppContext, utc_now
from orchjobs.api.disconnect import CancelOnDisconnect
from orchjobs.api.errors import install_error_handlers
from orchjobs.api.limits import RequestLimits, body_limits
from orchjobs.api.live import HistoryBroadcaster
from orchjobs.api.middleware import KeyfactorTransport
from orchjobs.api.openapi import install_openapi
from orchjobs.api.request_log import RequestLog
from orchjobs.api.routes import (
    agent_jobs,
    agent_pools,
    agent_session,
    agents,
    app_settings,
    audit,
    certificate_store_inventory,
    certificate_stores,
    certificates,
    console,
    containers,
    custom_jobs,
    job_history_export,
    job_types,
    operations,
    orchestrator_jobs,
    query,
    scheduled_jobs,
    security_identities,
    security_roles,
    status,
    store_types,
    webhooks,
)
from orchjobs.outbound.oidc import HttpxJsonFetcher
from orchjobs.outbound.webhooks import HttpxSender
from orchjobs.service import health
from orchjobs.service.bearer import TokenVerifier
from orchjobs.service.database import open_engine
from orchjobs.service.login_throttle import LoginLimits, LoginThrottle
from orchjobs.service.partitions import start_partition_roller
from orchjobs.service.password_pool import PasswordPool
from orchjobs.service.retention import start_pruner
from orchjobs.service.sweeper import start_sweeper
from orchjobs.service.users import Authenticator, ensure_bootstrap_admin
from orchjobs.service.webhook_worker import start_webhook_worker
from orchjobs.settings import Settings

log = logging.getLogger(__name__)

ROUTERS = (
    orchestrator_jobs.router,
    scheduled_jobs.router,
    agents.router,
    status.router,
    app_settings.router,
    agent_session.router,
    agent_jobs.router,
    job_types.router,
    custom_jobs.router,
    webhooks.router,
    certificate_stores.router,
    store_types.router,
    certificates.router,
    certificate_store_inventory.router,
    containers.router,
    agent_pools.router,
    security_roles.router,
    security_identities.router,
    query.router,
    job_history_export.router,
    audit.router,
)


def create_app(settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> FastAPI:
    """The whole service as an ASGI app. The database must already be migrated (`orchjobs migrate`). `clock` is
    what every request and the sweeper take as now (tests pass a fixed or stepping one)."""
    engine = open_engine(settings)
    health.watch_pool(engine)
    password_pool = PasswordPool(workers=settings.password_hash_workers, queue=settings.password_hash_queue)
    context = AppContext(
        settings=settings,
        engine=engine,
        authenticator=Authenticator(
            engine,
            cache_seconds=settings.auth_cache_seconds,
            throttle=_login_throttle(settings, clock),
            pool=password_pool,
        ),
        clock=clock,
        token_verifier=TokenVerifier(
            settings.oauth_issuers,
            HttpxJsonFetcher(timeout_seconds=settings.oauth_fetch_timeout_seconds),
            clock_skew_seconds=settings.oauth_clock_skew_seconds,
            refetch_seconds=settings.oauth_jwks_refetch_seconds,
            max_age_seconds=settings.oauth_jwks_max_age_seconds,
        ),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.bootstrap_admin and ensure_bootstrap_admin(engine, settings.bootstrap_admin, now=clock()):
            log.info("created the bootstrap administrator")
        # One worker thread per pooled connection: more threads only queue for connections while they
        # contend for the interpreter lock (measured with bench/protocol.py).
        to_thread.current_default_thread_limiter().total_tokens = settings.db_pool_size
        # Fails runs whose orchestrator did not report back, every settings.sweep_seconds.
        sweeper = start_sweeper(context)
        # Fans webhook events out and sends the deliveries that are due, every settings.webhook_poll_seconds.
        webhook_worker = start_webhook_worker(
            context, sender=HttpxSender(timeout_seconds=settings.webhook_timeout_seconds)
        )
        # Deletes job history past its retention, once a day in one of the processes (docs/retention.md).
        pruner = start_pruner(context)
        # Makes job history's partitions of the coming months (PostgreSQL), soon after start and every few hours.
        roller = start_partition_roller(context)
        try:
            yield
        finally:
            live.close()
            live.stop_watching()
            if roller is not None:
                roller.stop()
            if pruner is not None:
                pruner.stop()
            webhook_worker.stop()
            sweeper.stop()
            password_pool.close()
            engine.dispose()
            health.process_exiting()

    app = FastAPI(
        title="orchjobs",
        version=__version__,
        description="A Keyfactor Command-compatible orchestrator-job service.",
        lifespan=lifespan,
        # Ours instead (api.api_docs): FastAPI's pages load Swagger UI and ReDoc from a CDN.
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.context = context
    # The console's live updates: one database watcher for the process, shared by its open pages.
    live = HistoryBroadcaster(context)
    app.state.live = live
    # The orchestrator protocol's routers first: FastAPI matches a request against the included routers in order, and
    # an orchestrator's calls are most of the requests (their paths overlap no other).
    protocol = (agent_session.router, agent_jobs.router)
    for router in (*protocol, *(router for router in ROUTERS if router not in protocol)):
        app.include_router(router)
    # Not in ROUTERS: no Keyfactor client calls them, and Status/Endpoints does not list them.
    app.include_router(operations.router)
    # The operator's console (docs/console.md): HTML pages and their assets, outside /KeyfactorAPI.
    app.include_router(console.router)
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC), name="console-static")
    install_error_handlers(app)
    routes = [route for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)]
    install_openapi(app, settings, routes=[*routes, *operations.router.routes])
    install_api_docs(app)
    context.endpoints = sorted((method, route.path) for route in routes for method in route.methods or ())
    # Inside the transport, so it sees the canonical path and its refusals carry the product version.
    app.add_middleware(RequestLimits, limits=body_limits(settings))
    app.add_middleware(
        KeyfactorTransport,
        product_version=settings.product_version,
        known_paths=[route.path for route in routes],
    )
    # Outside the transport: a refused request (no x-keyfactor-requested-with) carries the headers too.
    install_browser_policy(app, cors_origins=settings.cors_origins)
    # The disconnect watcher must own `receive` before anything inside reads it (the request log only wraps `send`).
    app.add_middleware(CancelOnDisconnect)
    # Outermost: times and logs every answer, refusals of the middleware inside included.
    app.add_middleware(RequestLog, count=settings.metrics != "off")
    return app


def _login_throttle(settings: Settings, clock: Callable[[], datetime]) -> LoginThrottle:
    """Counts in the app's clock, so that a test's stepping clock moves the login limits too."""
    limits = LoginLimits(
        per_address=settings.login_failures_per_address,
        per_user=settings.login_failures_per_user,
        window_seconds=settings.login_failure_window_seconds,
        trust_seconds=settings.login_trust_hours * 3600,
    )
    return LoginThrottle(limits, clock=lambda: clock().timestamp())
