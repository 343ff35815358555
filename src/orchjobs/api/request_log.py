"""One log line (logger `orchjobs.access`) and the request metrics per HTTP request, and its request id.

The id is the client's `X-Request-Id` when it sent a sane one (up to 128 letters, digits and `-_.:`), else a new
one; the answer echoes it in `X-Request-Id`, and the log line carries it, so one request can be followed from the
client through a proxy to here. The line names the route's template (`/KeyfactorAPI/Agents/{id}`), not the path, so
lines and metric series group by route; who called is the user of valid credentials or the orchestrator of a valid
session, as the code that authenticated noted it (service.events). Pure ASGI, outermost: it times and logs every
answer, refusals included, and costs the protocol's hot path a clock read, a context variable and a log call."""

import logging
import os
import re
import time

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orchjobs.service import events

log = logging.getLogger("orchjobs.access")

REQUESTS = Counter(
    "orchjobs_http_requests", "HTTP requests answered, by route template and status.", ["method", "route", "status"]
)
LATENCY = Histogram(
    "orchjobs_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by route template.",
    ["route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
# What a path no route matched is counted as: raw paths would make a series per probe.
UNMATCHED = "(unmatched)"
_SANE_ID = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")


class RequestLog:
    """With `count` false (ORCHJOBS_METRICS=off), no request metrics are kept: no one can read them."""

    def __init__(self, app: ASGIApp, *, count: bool = True) -> None:
        self.app = app
        self.count = count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        status = 500
        caller, token = events.open_caller()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            events.close_caller(token)
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED
            if self.count:
                _series(scope["method"], template, status).observe(elapsed)
            if log.isEnabledFor(logging.INFO):
                _log_line(scope, template, status, elapsed, request_id.decode(), caller)


class _Series:
    """The request counter and the latency histogram of one method, route and status, looked up once: prometheus-
    client's `labels()` takes a lock and builds its key on every call."""

    def __init__(self, method: str, template: str, status: int) -> None:
        self.count = REQUESTS.labels(method, template, str(status))
        self.latency = LATENCY.labels(template)

    def observe(self, elapsed: float) -> None:
        self.count.inc()
        self.latency.observe(elapsed)


# Bounded by the routes × their methods × the statuses they answer; (unmatched) gathers every other path.
_SERIES: dict[tuple[str, str, int], _Series] = {}


def _series(method: str, template: str, status: int) -> _Series:
    key = (method, template, status)
    series = _SERIES.get(key)
    if series is None:
        series = _SERIES[key] = _Series(method, template, status)
    return series


def _request_id(scope: Scope) -> bytes:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            if _SANE_ID.fullmatch(value):
                sent: bytes = value
                return sent
            break
    # 128 random bits in hex, as a uuid4's hex would be, for a quarter of its cost.
    return os.urandom(16).hex().encode()


def _log_line(scope: Scope, template: str, status: int, elapsed: float, request_id: str, caller: events.Caller) -> None:
    duration_ms = round(elapsed * 1000, 2)
    fields = {
        "method": scope["method"],
        "route": template,
        "status": status,
        "duration_ms": duration_ms,
        "user": caller.user,
        "agent_id": str(caller.agent_id) if caller.agent_id else None,
        "request_id": request_id,
    }
    if template == UNMATCHED:
        fields["path"] = scope["path"][:200]
    who = f" user={caller.user!r}" if caller.user else ""
    who += f" agent={caller.agent_id}" if caller.agent_id else ""
    where = f" path={fields['path']!r}" if template == UNMATCHED else ""
    log.info(
        "%s %s %s %.2fms%s%s request_id=%s",
        scope["method"],
        template,
        status,
        duration_ms,
        who,
        where,
        request_id,
        extra=fields,
    )
