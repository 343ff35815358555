"""Webhook test helpers: a real HTTP receiver on a free local port, runs in flight to complete, and webhook rows
arranged straight in the database."""

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import Engine, delete, insert, select

from orchjobs.service.dispatch import hand_out_due_jobs
from orchjobs.service.webhook_events import refresh_subscriptions
from orchjobs.store.tables import (
    agent,
    agent_capability,
    scheduled_job,
    webhook,
    webhook_delivery,
    webhook_event,
)
from tests import factories

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
CAPABILITY = "CertStores.PEM.Inventory"
HANG_SECONDS = 30.0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Two workers send a batch each at once: the default backlog of 5 would refuse some connections.
    request_queue_size = 128


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """A webhook receiver: records every POST it gets and answers `status`, or, while `hang` is set, holds the
    request unanswered until `release()` (or HANG_SECONDS)."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.status = 200
        self.hang = False
        self.arrived = threading.Event()
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, name="receiver", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/orchjobs"

    def bodies(self) -> list[bytes]:
        with self._lock:
            return [request.body for request in self.requests]

    def release(self) -> None:
        self._released.set()

    def _record(self, received: Received) -> None:
        with self._lock:
            self.requests.append(received)
        self.arrived.set()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver._record(Received(self.path, dict(self.headers.items()), body))
                if receiver.hang:
                    receiver._released.wait(HANG_SECONDS)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                pass

        return Handler

    def __enter__(self) -> "Receiver":
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def clean_webhooks(engine: Engine) -> Iterator[None]:
    """This process's subscription snapshot read fresh before a test, and no webhook left after it: a PostgreSQL
    test database is reused, and the snapshot outlives the test."""
    refresh_subscriptions(engine)
    yield
    with engine.begin() as conn:
        for table in (webhook_delivery, webhook_event, webhook):
            conn.execute(delete(table))
    refresh_subscriptions(engine)


def add_agent(engine: Engine, *, name: str = "web01.example.com") -> uuid.UUID:
    agent_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(
            insert(agent).values(id=agent_id, client_machine=name, username="orchestrator", status=2, last_seen=NOW)
        )
        conn.execute(insert(agent_capability).values(agent_id=agent_id, capability=CAPABILITY))
    return agent_id


def open_session(engine: Engine, agent_id: uuid.UUID) -> str:
    return factories.add_session(engine, agent_id, created_at=NOW, expires_at=NOW + timedelta(hours=1))


@dataclass(frozen=True)
class InFlight:
    """A run handed out and not yet completed, and the session to complete it with."""

    agent_id: uuid.UUID
    job_id: uuid.UUID
    audit_id: int
    token: str

    def completion(self, status: int, **extra: Any) -> dict[str, Any]:
        """A Jobs/Complete body for this run."""
        return {
            "SessionToken": self.token,
            "JobId": str(self.job_id),
            "AuditId": self.audit_id,
            "Status": status,
        } | extra


def run_in_flight(engine: Engine, *, name: str = "web01.example.com", **job: Any) -> InFlight:
    """A recurring Inventory job of a new approved orchestrator, handed out at NOW."""
    agent_id = add_agent(engine, name=name)
    job_id = factories.add_job(
        engine,
        agent_id,
        next_run_at=NOW,
        requested_at=NOW - timedelta(days=1),
        schedule={"Interval": {"Minutes": 60}},
        **job,
    )
    (handed,) = hand_out_due_jobs(engine, agent_id=agent_id, capabilities=(CAPABILITY,), now=NOW)
    assert handed.job_id == job_id
    with engine.connect() as conn:
        audit_id = conn.execute(
            select(scheduled_job.c.running_history_id).where(scheduled_job.c.id == job_id)
        ).scalar_one()
    return InFlight(agent_id, job_id, audit_id, open_session(engine, agent_id))


def add_webhook_rows(engine: Engine) -> dict[str, str]:
    """A webhook whose every optional field is set, with a delivery whose every optional field is set (a shape no
    real delivery has: NextAttemptAt and DeliveredAt together) and one whose every optional field is empty; and a
    bare webhook. For tests/api/test_response_models.py."""
    full, bare = uuid.uuid4(), uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(
            insert(webhook),
            [
                {
                    "id": full,
                    "url": "https://hooks.example.com/orchjobs",
                    "secret": "s" * 32,
                    "query": 'Agent -eq "web01"',
                    "events": "RunCompleted,RunFailed",
                    "enabled": True,
                    "description": "to the pager",
                    "created_at": NOW,
                },
                {
                    "id": bare,
                    "url": "http://127.0.0.1:9/",
                    "secret": "t" * 32,
                    "query": "",
                    "events": "FailuresAcknowledged",
                    "enabled": False,
                    "description": None,
                    "created_at": NOW,
                },
            ],
        )
        event_id = conn.execute(
            insert(webhook_event).values(kind="RunFailed", at=NOW, job_history_id=1, payload="{}", fanned_out_at=NOW)
        ).inserted_primary_key[0]
        base = {"webhook_id": full, "event_id": event_id, "kind": "RunFailed", "payload": "{}", "created_at": NOW}
        empty = dict.fromkeys(("last_attempt_at", "next_attempt_at", "last_status", "last_error", "delivered_at"))
        full_row = {
            "last_attempt_at": NOW,
            "next_attempt_at": NOW,
            "last_status": 500,
            "last_error": "The receiver answered HTTP 500.",
            "delivered_at": NOW,
        }
        # One INSERT per row: an executemany takes its columns from the first row.
        conn.execute(insert(webhook_delivery).values(base | empty | {"attempts": 0}))
        conn.execute(insert(webhook_delivery).values(base | full_row | {"attempts": 2}))
    return {"webhook_id": str(full)}
