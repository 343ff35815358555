"""The webhook worker every server process runs (docs/webhooks.md): it fans events out into deliveries and sends
the deliveries that are due, signed, retrying failed ones with backoff until they succeed or give up.

Nothing is sent from a request and nothing is sent inside a transaction: a round claims due deliveries (a lease:
`next_attempt_at` moved past the end of the attempt, counted in `attempts`) and commits, sends them all at once
through the `Sender` it was given (`orchjobs.outbound`, which owns the HTTP client), then records each outcome. A
process that stops mid-round loses nothing: an event not fanned out stays pending, and a claimed delivery is due
again when its lease ends.
"""

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import orjson
from sqlalchemy import ColumnElement, Connection, Engine

from orchjobs import __version__
from orchjobs.domain.webhooks import (
    OutgoingRequest,
    RetrySchedule,
    RunRow,
    SendOutcome,
    WebhookEvent,
    decode_events,
    delivery_body,
    delivery_headers,
    delivery_payload,
)
from orchjobs.errors import QuerySyntaxError, StoreUnavailableError
from orchjobs.service.background import BackgroundContext, Periodic
from orchjobs.service.listing import condition
from orchjobs.service.webhook_events import refresh_subscriptions, subscriptions
from orchjobs.settings import Settings
from orchjobs.store import webhooks as store
from orchjobs.store.engine import single_read, write_transaction
from orchjobs.store.history import JOB_HISTORY
from orchjobs.store.rows import Record

log = logging.getLogger(__name__)

USER_AGENT = f"orchjobs/{__version__}"
# A claim outlasts its attempt by this much: committing, signing and recording take time too.
LEASE_MARGIN = timedelta(seconds=60)
# How often a worker deletes old events and deliveries (ORCHJOBS_WEBHOOK_RETENTION_DAYS).
PRUNE_SECONDS = 600.0


class Sender(Protocol):
    """Sends attempts, all at once, each within the timeout it was built with; never raises: an outcome per
    request, in order."""

    def __call__(self, requests: Sequence[OutgoingRequest]) -> Sequence[SendOutcome]: ...


@dataclass(frozen=True)
class WebhookConfig:
    """The ORCHJOBS_WEBHOOK_* settings, as the worker uses them."""

    batch: int
    timeout_seconds: float
    retry: RetrySchedule
    max_payload_bytes: int
    max_query_length: int
    subscription_seconds: float
    retention_days: float

    @classmethod
    def from_settings(cls, settings: Settings) -> "WebhookConfig":
        return cls(
            batch=settings.webhook_batch,
            timeout_seconds=settings.webhook_timeout_seconds,
            retry=RetrySchedule(
                max_attempts=settings.webhook_max_attempts,
                first_delay_seconds=settings.webhook_retry_seconds,
                max_delay_seconds=settings.webhook_max_retry_seconds,
            ),
            max_payload_bytes=settings.webhook_max_payload_bytes,
            max_query_length=settings.max_query_length,
            subscription_seconds=settings.webhook_subscription_seconds,
            retention_days=settings.webhook_retention_days,
        )

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.timeout_seconds) + LEASE_MARGIN


@dataclass
class WebhookRound:
    """What one round did."""

    events: int = 0
    deliveries_created: int = 0
    attempted: int = 0
    delivered: int = 0
    gave_up: int = 0
    busy: bool = False  # a full batch was taken: more may be waiting


def run_webhooks_once(
    engine: Engine,
    *,
    settings: Settings,
    sender: Sender,
    clock: Callable[[], datetime],
    fraction: Callable[[], float] = random.random,
) -> WebhookRound:
    """One round: re-read the subscribed events when due, fan out one batch of events, send one batch of due
    deliveries. `clock` is now (tests pass a fixed one); `fraction` draws the jitter of a retry (0 ≤ f < 1)."""
    config = WebhookConfig.from_settings(settings)
    snapshot = subscriptions(engine)
    snapshot.refresh_seconds = config.subscription_seconds
    if snapshot.due():
        refresh_subscriptions(engine)
    outcome = WebhookRound()
    outcome.events, outcome.deliveries_created = fan_out_events(engine, config=config, now=clock())
    _deliver_due(engine, config=config, sender=sender, clock=clock, fraction=fraction, outcome=outcome)
    outcome.busy = outcome.events == config.batch or outcome.attempted == config.batch
    return outcome


def fan_out_events(engine: Engine, *, config: WebhookConfig, now: datetime) -> tuple[int, int]:
    """Turn up to one batch of pending events into deliveries, one per enabled webhook that subscribes to the event
    and whose Query selects its run (for FailuresAcknowledged: some run of that request), and mark them fanned out,
    in one transaction. Returns (events, deliveries created)."""
    with single_read(engine) as conn:
        if not store.has_pending_events(conn):
            return 0, 0
    with write_transaction(engine) as conn:
        events = store.lock_pending_events(conn, limit=config.batch)
        if not events:
            return 0, 0
        hooks = [
            _Hook.of(row, now=now, max_query_length=config.max_query_length) for row in store.enabled_webhooks(conn)
        ]
        runs = store.run_rows(conn, ids=[e.job_history_id for e in events if e.job_history_id is not None])
        matched = {hook.id: hook.matching(conn, events=events, runs=runs) for hook in hooks}
        rows = [
            _delivery_row(event, hook, runs=runs, config=config, now=now)
            for event in events
            for hook in hooks
            if event.id in matched[hook.id]
        ]
        if rows:
            store.insert_deliveries(conn, rows=rows)
        store.mark_fanned_out(conn, event_ids=[event.id for event in events], at=now)
    return len(events), len(rows)


def prune_webhook_events(engine: Engine, *, now: datetime, retention_days: float, batch: int) -> int:
    """Delete events, with their deliveries, fanned out more than `retention_days` ago whose deliveries are all over;
    batch by batch. 0 days keeps everything. Returns how many events went."""
    if retention_days <= 0:
        return 0
    total = 0
    while True:
        with write_transaction(engine) as conn:
            pruned = store.prune_events(conn, before=now - timedelta(days=retention_days), limit=batch)
        total += pruned
        if pruned < batch:
            return total


# -- fan-out ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Hook:
    """An enabled webhook as fan-out reads it; `where` None matches every run, `broken` a stored Query that no
    longer compiles (it matches nothing, and says so in the log)."""

    id: Any
    kinds: frozenset[WebhookEvent]
    where: ColumnElement[bool] | None
    broken: bool = False

    @classmethod
    def of(cls, row: Record, *, now: datetime, max_query_length: int) -> "_Hook":
        kinds = frozenset(decode_events(row.events))
        try:
            # A Query stored under a higher limit still applies.
            longest = max(max_query_length, len(row.query.encode()))
            where = condition(JOB_HISTORY, row.query, now=now, max_length=longest)
        except QuerySyntaxError as exc:
            log.warning("webhook %s: its Query no longer compiles (%s); it matches nothing", row.id, exc.message)
            return cls(row.id, kinds, None, broken=True)
        return cls(row.id, kinds, where)

    def matching(self, conn: Connection, *, events: Sequence[Record], runs: dict[int, Record]) -> set[int]:
        """The ids of the events this webhook gets: a kind it subscribes to, and a run its Query selects."""
        if self.broken:
            return set()
        wanted = [event for event in events if event.kind in self.kinds]
        run_events = [event for event in wanted if event.job_history_id is not None]
        acknowledgements = [event for event in wanted if event.job_history_id is None]
        present = [event for event in run_events if event.job_history_id in runs]
        if self.where is None:
            return {event.id for event in present + acknowledgements}
        selected = store.matching_history_ids(conn, ids=[event.job_history_id for event in present], where=self.where)
        matched = {event.id for event in present if event.job_history_id in selected}
        for event in acknowledgements:
            by = orjson.loads(event.payload)["AcknowledgedBy"]
            if store.acknowledgement_matches(conn, at=event.at, acknowledged_by=by, where=self.where):
                matched.add(event.id)
        return matched


def _delivery_row(
    event: Record, hook: _Hook, *, runs: dict[int, Record], config: WebhookConfig, now: datetime
) -> dict[str, Any]:
    run = runs.get(event.job_history_id) if event.job_history_id is not None else None
    payload = delivery_payload(
        kind=event.kind,
        event_id=event.id,
        webhook_id=hook.id,
        at=event.at,
        event_payload=event.payload,
        run=None if run is None else _run_row(run),
        max_bytes=config.max_payload_bytes,
    )
    return {
        "webhook_id": hook.id,
        "event_id": event.id,
        "kind": event.kind,
        "payload": payload,
        "created_at": now,
        "attempts": 0,
        "next_attempt_at": now,
    }


def _run_row(row: Record) -> RunRow:
    return RunRow(
        agent_id=row.agent_id,
        client_machine=row.client_machine,
        job_type=row.job_type,
        operation_start=row.operation_start,
        operation_end=row.operation_end,
        message=row.message,
        target_path=row.target_path,
    )


# -- delivery --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Attempt:
    delivery_id: int
    attempt: int
    request: OutgoingRequest


def _deliver_due(
    engine: Engine,
    *,
    config: WebhookConfig,
    sender: Sender,
    clock: Callable[[], datetime],
    fraction: Callable[[], float],
    outcome: WebhookRound,
) -> None:
    """Claim up to one batch of due deliveries, send them outside any transaction, record what came of each."""
    attempts = _claim(engine, config=config, now=clock(), outcome=outcome)
    if not attempts:
        return
    results = sender([attempt.request for attempt in attempts])
    now = clock()
    with write_transaction(engine) as conn:
        for attempt, result in zip(attempts, results, strict=True):
            values = _outcome(result, attempt=attempt.attempt, retry=config.retry, now=now, fraction=fraction())
            store.record_attempt(conn, delivery_id=attempt.delivery_id, attempts=attempt.attempt, values=values)
            outcome.delivered += result.delivered
            outcome.gave_up += not result.delivered and values["next_attempt_at"] is None


def _claim(engine: Engine, *, config: WebhookConfig, now: datetime, outcome: WebhookRound) -> list[_Attempt]:
    with single_read(engine) as conn:
        if not store.has_due_deliveries(conn, now=now):
            return []
    with write_transaction(engine) as conn:
        outcome.gave_up += store.give_up_spent(conn, now=now, max_attempts=config.retry.max_attempts)
        due = store.lock_due_deliveries(conn, now=now, limit=config.batch)
        store.claim_deliveries(conn, ids=[row.id for row in due], now=now, until=now + config.lease)
    outcome.attempted = len(due)
    return [_attempt(row, now=now) for row in due]


def _attempt(row: Record, *, now: datetime) -> _Attempt:
    body = delivery_body(row.payload, delivery_id=row.id)
    headers = delivery_headers(
        kind=row.kind,
        delivery_id=row.id,
        attempt=row.attempts + 1,
        secret=row.secret,
        body=body,
        now=now,
        user_agent=USER_AGENT,
    )
    return _Attempt(row.id, row.attempts + 1, OutgoingRequest(url=row.url, body=body, headers=headers))


def _outcome(
    result: SendOutcome, *, attempt: int, retry: RetrySchedule, now: datetime, fraction: float
) -> dict[str, Any]:
    """The columns an attempt's outcome sets: delivered, due again after a backoff, or given up (no next attempt)."""
    if result.delivered:
        return {"delivered_at": now, "next_attempt_at": None, "last_status": result.status, "last_error": None}
    return {
        "next_attempt_at": retry.next_attempt(attempts=attempt, now=now, fraction=fraction),
        "last_status": result.status,
        "last_error": result.describe(),
    }


# -- the thread ------------------------------------------------------------------------------


class WebhookWorker:
    """Runs `run_webhooks_once` every `ORCHJOBS_WEBHOOK_POLL_SECONDS` (at once again while there is more), and
    prunes old events now and then; failures are logged, never raised."""

    def __init__(self, *, engine: Engine, settings: Settings, sender: Sender, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.settings = settings
        self.sender = sender
        self.clock = clock
        self._pruned_at: float | None = None
        self._runner = Periodic(name="orchjobs-webhooks", interval=settings.webhook_poll_seconds, task=self.run_once)

    def start(self) -> "WebhookWorker":
        """Read the subscribed events before the first request needs them, then start the thread."""
        subscriptions(self.engine).refresh_seconds = self.settings.webhook_subscription_seconds
        try:
            refresh_subscriptions(self.engine)
        except StoreUnavailableError as exc:
            log.warning("webhooks: %s", exc.message)
        self._runner.start()
        return self

    def stop(self, *, timeout: float = 10.0) -> None:
        self._runner.stop(timeout=timeout)

    def run_once(self) -> bool:
        """One round (and a prune when one is due); True when more work is waiting."""
        try:
            self._prune_when_due()
            return run_webhooks_once(self.engine, settings=self.settings, sender=self.sender, clock=self.clock).busy
        except StoreUnavailableError as exc:
            log.warning("webhooks: %s", exc.message)
        except Exception:
            log.exception("webhooks: a round went wrong; trying again in %s s", self.settings.webhook_poll_seconds)
        return False

    def _prune_when_due(self) -> None:
        if self._pruned_at is not None and time.monotonic() - self._pruned_at < PRUNE_SECONDS:
            return
        self._pruned_at = time.monotonic()
        pruned = prune_webhook_events(
            self.engine,
            now=self.clock(),
            retention_days=self.settings.webhook_retention_days,
            batch=self.settings.webhook_batch,
        )
        if pruned:
            log.info("webhooks: deleted %d old events and their deliveries", pruned)


def start_webhook_worker(context: BackgroundContext, *, sender: Sender) -> WebhookWorker:
    """Start delivering; call `stop()` on the result at shutdown."""
    return WebhookWorker(engine=context.engine, settings=context.settings, sender=sender, clock=context.clock).start()
