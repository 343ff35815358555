"""Webhook events, written in the same transaction as their cause (a run closed, failures acknowledged), so that a
crash loses none and a refused call writes none; the webhook worker fans them out into deliveries.

An event is written only when some enabled webhook subscribes to its kind. A job call learns that from a snapshot
this process keeps in memory (`Subscriptions`): no query per call, and nothing but a set lookup when no webhook
exists. The webhook worker re-reads it every `ORCHJOBS_WEBHOOK_SUBSCRIPTION_SECONDS`, and the process that changes a
webhook re-reads it at once, so another process starts or stops writing events within that many seconds.
"""

import threading
import time
import uuid
import weakref
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL

from orchjobs.domain.webhooks import (
    WebhookEvent,
    acknowledgement_payload,
    decode_events,
    run_closed_payload,
    run_event,
)
from orchjobs.store import webhooks as store
from orchjobs.store.engine import single_read

DEFAULT_REFRESH_SECONDS = 5.0
# A snapshot this many refresh intervals old has no worker keeping it fresh (a process without one, such as a test
# or a command): the next event's transaction reloads it.
STALE_AFTER_INTERVALS = 4


class Subscriptions:
    """The event kinds some enabled webhook subscribes to, as this process last read them."""

    def __init__(
        self, *, refresh_seconds: float = DEFAULT_REFRESH_SECONDS, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.refresh_seconds = refresh_seconds
        self.kinds: frozenset[WebhookEvent] = frozenset()
        self._loaded_at: float | None = None
        self._monotonic = monotonic

    def current(self, conn: Connection) -> frozenset[WebhookEvent]:
        """What a job call asks: the snapshot as it is, reloaded on `conn` only when nothing kept it fresh."""
        loaded_at = self._loaded_at
        if loaded_at is None or self._monotonic() - loaded_at > self.refresh_seconds * STALE_AFTER_INTERVALS:
            return self.reload(conn)
        return self.kinds

    def due(self) -> bool:
        """Whether the worker should re-read it now."""
        return self._loaded_at is None or self._monotonic() - self._loaded_at >= self.refresh_seconds

    def reload(self, conn: Connection) -> frozenset[WebhookEvent]:
        kinds = frozenset(event for events in store.subscribed_events(conn) for event in decode_events(events))
        self.kinds, self._loaded_at = kinds, self._monotonic()
        return kinds


# One snapshot per database this process uses (tests hold several engines on one database): by engine first, which
# is the cheap lookup on the hot path, then by URL.
_by_engine: "weakref.WeakKeyDictionary[Engine, Subscriptions]" = weakref.WeakKeyDictionary()
_by_url: dict[URL, Subscriptions] = {}
_lock = threading.Lock()


def subscriptions(engine: Engine) -> Subscriptions:
    """This process's snapshot for the engine's database."""
    found = _by_engine.get(engine)
    if found is None:
        with _lock:
            found = _by_engine[engine] = _by_url.setdefault(engine.url, Subscriptions())
    return found


def refresh_subscriptions(engine: Engine) -> frozenset[WebhookEvent]:
    """Re-read the subscribed kinds now (after a webhook changed, or when the worker finds the snapshot due)."""
    with single_read(engine) as conn:
        return subscriptions(engine).reload(conn)


def record_runs_closed(
    conn: Connection, *, runs: Sequence[tuple[int, uuid.UUID]], status: int, result: int, at: datetime
) -> None:
    """RunCompleted or RunFailed for runs (history id, job id) just closed with `status` and `result`, when some
    webhook subscribes to it: one INSERT in the closing transaction."""
    kind = run_event(result)
    if kind is None or not runs or kind not in subscriptions(conn.engine).current(conn):
        return
    rows = [
        {
            "kind": kind.value,
            "at": at,
            "job_history_id": history_id,
            "payload": run_closed_payload(history_id=history_id, job_id=job_id, result=result, status=status),
        }
        for history_id, job_id in runs
    ]
    store.insert_events(conn, rows=rows)


def record_acknowledgement(
    conn: Connection, *, count: int, acknowledged_by: str, note: str | None, at: datetime
) -> None:
    """One FailuresAcknowledged for an Acknowledge request that changed `count` runs, when some webhook subscribes."""
    kind = WebhookEvent.FAILURES_ACKNOWLEDGED
    if count <= 0 or kind not in subscriptions(conn.engine).current(conn):
        return
    payload = acknowledgement_payload(count=count, acknowledged_by=acknowledged_by, at=at, note=note)
    store.insert_events(conn, rows=[{"kind": kind.value, "at": at, "job_history_id": None, "payload": payload}])
