"""Completion webhooks end to end, on both databases: runs completed through /KeyfactorAgents/Jobs/Complete (and
failed by the sweeper, acknowledged through the API) write events in their own transaction; the worker, driven
one round at a time with a fixed clock, fans them out and delivers them, signed, to a real HTTP receiver."""

import hashlib
import hmac
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, insert, select, update
from starlette.testclient import TestClient

from orchjobs.domain.jobs import JobResult
from orchjobs.domain.webhooks import run_closed_payload
from orchjobs.outbound.webhooks import HttpxSender
from orchjobs.service import job_calls
from orchjobs.service.job_calls import Completion, JobCall
from orchjobs.service.sweeper import fail_overdue_runs
from orchjobs.service.webhook_events import Subscriptions, refresh_subscriptions, subscriptions
from orchjobs.service.webhook_worker import (
    WebhookConfig,
    WebhookRound,
    fan_out_events,
    prune_webhook_events,
    run_webhooks_once,
)
from orchjobs.settings import Settings
from orchjobs.store.engine import make_engine
from orchjobs.store.tables import job_history, scheduled_job, webhook, webhook_delivery, webhook_event
from tests.conftest import api_client
from tests.factories import add_history
from tests.live import ADMIN
from tests.webhooks import NOW, InFlight, Receiver, clean_webhooks, run_in_flight

SECRET = "a shared secret, sixteen or more"
WEBHOOKS = "/KeyfactorAPI/Webhooks"


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Tiny timeouts and few attempts; the app's own worker never runs (the tests drive it)."""
    return Settings(
        database_url=database_url,
        bootstrap_admin=f"{ADMIN[0]}:{ADMIN[1]}",
        db_pool_size=2,
        webhook_poll_seconds=3600,
        webhook_timeout_seconds=1.0,
        webhook_max_attempts=3,
        webhook_retry_seconds=60,
        webhook_max_retry_seconds=600,
    )


@pytest.fixture(autouse=True)
def _clean(engine: Engine) -> Iterator[None]:
    with clean_webhooks(engine):
        yield


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture
def agents(settings: Settings) -> Iterator[TestClient]:
    """Orchestrators' view of the server: no credentials, no Command header, clock at NOW."""
    with api_client(settings, auth=None, headers=None, clock=lambda: NOW) as test_client:
        yield test_client


def add_webhook(client: TestClient, receiver: Receiver, events: list[str], **fields: Any) -> str:
    body = {"Url": receiver.url, "Events": events, "Secret": SECRET} | fields
    response = client.post(WEBHOOKS, json=body)
    assert response.status_code == 200, response.text
    webhook_id: str = response.json()["Id"]
    return webhook_id


def complete(agents: TestClient, run: InFlight, status: int, **extra: Any) -> None:
    response = agents.post("/KeyfactorAgents/Jobs/Complete", json=run.completion(status, **extra))
    assert response.json() == {"Result": {"Status": 1}}, response.text


def deliver(engine: Engine, settings: Settings, *, at: timedelta = timedelta()) -> WebhookRound:
    """One round of the worker at NOW + `at`, with no jitter."""
    sender = HttpxSender(timeout_seconds=settings.webhook_timeout_seconds)
    return run_webhooks_once(engine, settings=settings, sender=sender, clock=lambda: NOW + at, fraction=lambda: 0.0)


def rows(engine: Engine, table: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(table).order_by(table.c.id)))


def verified(request: Any) -> dict[str, Any]:
    """The body of a delivery, after checking its signature the way a receiver does."""
    expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["X-Orchjobs-Signature"], expected)
    assert request.headers["Content-Type"] == "application/json"
    body: dict[str, Any] = orjson.loads(request.body)
    assert request.headers["X-Orchjobs-Delivery"] == str(body["DeliveryId"])
    assert request.headers["X-Orchjobs-Event"] == body["Event"]
    return body


# --- what is delivered -----------------------------------------------------------------------


def test_a_failed_run_is_delivered_signed_to_the_webhook_whose_filter_selects_it(
    client: TestClient, agents: TestClient, engine: Engine, settings: Settings, receiver: Receiver
) -> None:
    webhook_id = add_webhook(client, receiver, ["RunFailed"], Query='Agent -eq "web01.example.com"')
    selected = run_in_flight(engine, name="web01.example.com")
    other = run_in_flight(engine, name="db01.example.com")

    complete(agents, selected, 4, Message="Store not found")
    complete(agents, other, 4, Message="Store not found")

    assert [(event.kind, event.job_history_id) for event in rows(engine, webhook_event)] == [
        ("RunFailed", selected.audit_id),
        ("RunFailed", other.audit_id),
    ]
    done = deliver(engine, settings)
    assert (done.events, done.deliveries_created, done.attempted, done.delivered) == (2, 1, 1, 1)

    (request,) = receiver.requests
    body = verified(request)
    assert request.path == "/hooks/orchjobs"
    assert request.headers["X-Orchjobs-Attempt"] == "1"
    assert request.headers["X-Orchjobs-Timestamp"] == str(int(NOW.timestamp()))
    assert request.headers["User-Agent"].startswith("orchjobs/")
    (delivery,) = rows(engine, webhook_delivery)
    assert body == {
        "Event": "RunFailed",
        "DeliveryId": delivery.id,
        "EventId": delivery.event_id,
        "WebhookId": webhook_id,
        "Time": "2026-11-29T12:00:00Z",
        "Run": {
            "JobHistoryId": selected.audit_id,
            "JobId": str(selected.job_id),
            "AgentId": str(selected.agent_id),
            "ClientMachine": "web01.example.com",
            "JobType": "Inventory",
            "Result": 4,
            "Status": 5,  # CompletedWillRetry: a failure with retries left
            "Message": "Store not found",
            "OperationStart": "2026-11-29T12:00:00Z",
            "OperationEnd": "2026-11-29T12:00:00Z",
            "StorePath": "/etc/ssl/app.pem",
        },
    }
    (logged,) = client.get(f"{WEBHOOKS}/{webhook_id}/Deliveries").json()
    assert logged == {
        "Id": delivery.id,
        "WebhookId": webhook_id,
        "EventId": delivery.event_id,
        "Event": "RunFailed",
        "Status": 1,
        "Attempts": 1,
        "CreatedAt": "2026-11-29T12:00:00Z",
        "LastAttemptAt": "2026-11-29T12:00:00Z",
        "LastStatusCode": 200,
        "DeliveredAt": "2026-11-29T12:00:00Z",
    }
    assert deliver(engine, settings, at=timedelta(hours=1)) == WebhookRound()
    assert len(receiver.requests) == 1


def test_a_success_or_warning_is_run_completed(
    client: TestClient, agents: TestClient, engine: Engine, settings: Settings, receiver: Receiver
) -> None:
    add_webhook(client, receiver, ["RunCompleted"])
    success, warning, failure = (run_in_flight(engine, name=f"web0{n}") for n in range(3))

    complete(agents, success, 2, Message="Inventory: 3 certificates")
    complete(agents, warning, 3)
    complete(agents, failure, 4)  # nobody subscribes to RunFailed: no event at all

    assert [event.job_history_id for event in rows(engine, webhook_event)] == [success.audit_id, warning.audit_id]
    assert deliver(engine, settings).delivered == 2
    runs = [verified(request)["Run"] for request in receiver.requests]
    assert {(run["JobHistoryId"], run["Result"], run["Status"]) for run in runs} == {
        (success.audit_id, 2, 3),
        (warning.audit_id, 3, 3),
    }
    assert "Message" not in next(run for run in runs if run["Result"] == 3)


def test_the_sweepers_timeout_is_a_run_failed(
    client: TestClient, engine: Engine, settings: Settings, receiver: Receiver
) -> None:
    add_webhook(client, receiver, ["RunFailed"])
    run = run_in_flight(engine)

    assert fail_overdue_runs(engine, now=NOW + timedelta(minutes=61)) == 1
    assert deliver(engine, settings, at=timedelta(minutes=61)).delivered == 1

    body = verified(receiver.requests[0])
    assert (body["Time"], body["Run"]["JobHistoryId"], body["Run"]["Status"]) == (
        "2026-11-29T13:01:00Z",
        run.audit_id,
        5,
    )
    assert body["Run"]["Message"] == "The orchestrator did not report back within 60 minutes."


def test_a_reset_fails_the_runs_in_flight(
    client: TestClient, engine: Engine, settings: Settings, receiver: Receiver
) -> None:
    add_webhook(client, receiver, ["RunFailed"])
    run = run_in_flight(engine)

    assert client.post(f"/KeyfactorAPI/Agents/{run.agent_id}/Reset").status_code == 204
    assert deliver(engine, settings).delivered == 1

    item = verified(receiver.requests[0])["Run"]
    assert (item["JobHistoryId"], item["Result"], item["Status"]) == (run.audit_id, 4, 3)
    assert item["Message"] == "The orchestrator was reset while the job was in flight."


def test_unscheduling_a_job_fails_its_run_in_flight(
    client: TestClient, engine: Engine, settings: Settings, receiver: Receiver
) -> None:
    add_webhook(client, receiver, ["RunFailed"])
    run = run_in_flight(engine, type_name="Management")  # Inventory jobs cannot be unscheduled

    unschedule = client.post("/KeyfactorAPI/OrchestratorJobs/Unschedule", json={"JobIds": [str(run.job_id)]})
    assert unschedule.status_code == 204, unschedule.text
    assert deliver(engine, settings).delivered == 1

    item = verified(receiver.requests[0])["Run"]
    assert (item["JobHistoryId"], item["Result"], item["Status"]) == (run.audit_id, 4, 3)
    assert item["Message"] == "The job was unscheduled while it was in flight."


def test_an_acknowledge_is_one_failures_acknowledged_when_its_runs_match(
    client: TestClient, engine: Engine, settings: Settings, receiver: Receiver
) -> None:
    webhook_id = add_webhook(client, receiver, ["FailuresAcknowledged"], Query='Agent -startswith "web"')
    web = [add_history(engine, result=4, status=3, client_machine=f"web0{n}") for n in range(2)]
    db = add_history(engine, result=3, status=5, client_machine="db01")

    acknowledge = "/KeyfactorAPI/OrchestratorJobs/Acknowledge"
    assert client.post(acknowledge, json={"Query": 'Agent -eq "db01"'}).status_code == 204
    assert client.post(acknowledge, json={"JobAuditIds": web, "Note": 'seen, "known" outage'}).status_code == 204
    assert client.post(acknowledge, json={"JobAuditIds": web}).status_code == 204  # changes nothing: no event

    events = rows(engine, webhook_event)
    assert [(event.kind, event.job_history_id) for event in events] == [("FailuresAcknowledged", None)] * 2
    done = deliver(engine, settings)
    assert (done.events, done.deliveries_created, done.delivered) == (2, 1, 1)  # db01's matches no filter

    body = verified(receiver.requests[0])
    acknowledgement = body.pop("Acknowledgement")
    assert body == {
        "Event": "FailuresAcknowledged",
        "DeliveryId": rows(engine, webhook_delivery)[0].id,
        "EventId": events[1].id,
        "WebhookId": webhook_id,
        "Time": acknowledgement["AcknowledgedAt"],
    }
    query = acknowledgement.pop("JobHistoryQuery")
    assert acknowledgement == {
        "Count": 2,
        "AcknowledgedBy": "admin",
        "AcknowledgedAt": acknowledgement["AcknowledgedAt"],
        "Note": 'seen, "known" outage',
    }
    listed = client.get("/KeyfactorAPI/OrchestratorJobs/JobHistory", params={"QueryString": query})
    assert sorted(item["JobHistoryId"] for item in listed.json()) == sorted(web)
    assert db not in {item["JobHistoryId"] for item in listed.json()}


# --- when events are written -----------------------------------------------------------------


def test_nothing_is_written_when_no_enabled_webhook_subscribes(
    client: TestClient, agents: TestClient, engine: Engine, receiver: Receiver
) -> None:
    complete(agents, run_in_flight(engine, name="a"), 4)
    webhook_id = add_webhook(client, receiver, ["RunFailed", "RunCompleted"], Enabled=False)
    complete(agents, run_in_flight(engine, name="b"), 4)
    assert rows(engine, webhook_event) == []

    assert client.put(f"{WEBHOOKS}/{webhook_id}", json={"Enabled": True}).status_code == 200
    complete(agents, run_in_flight(engine, name="c"), 2)
    assert client.delete(f"{WEBHOOKS}/{webhook_id}").status_code == 204
    complete(agents, run_in_flight(engine, name="d"), 2)

    assert [event.kind for event in rows(engine, webhook_event)] == ["RunCompleted"]


def test_an_event_is_written_in_the_completions_own_transaction(
    client: TestClient, agents: TestClient, engine: Engine, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_webhook(client, receiver, ["RunFailed", "RunCompleted"])
    run = run_in_flight(engine)

    refused = agents.post("/KeyfactorAgents/Jobs/Complete", json=run.completion(2) | {"AuditId": run.audit_id + 1})
    assert refused.json()["Result"]["Status"] == 3
    assert rows(engine, webhook_event) == []

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("the event could not be written")

    monkeypatch.setattr("orchjobs.store.webhooks.insert_events", broken)
    call = JobCall(name="Complete", token=run.token, job_id=run.job_id)
    with pytest.raises(RuntimeError):
        job_calls.complete_run(engine, call, Completion(run.audit_id, JobResult.FAILURE, "boom", None), now=NOW)
    (history,) = rows(engine, job_history)
    assert (history.status, history.operation_end) == (1, None)  # still in flight: the close rolled back too
    monkeypatch.undo()

    complete(agents, run, 4)
    assert [event.job_history_id for event in rows(engine, webhook_event)] == [run.audit_id]
    complete_again = agents.post("/KeyfactorAgents/Jobs/Complete", json=run.completion(2))
    assert complete_again.json()["Result"]["Status"] == 3
    assert len(rows(engine, webhook_event)) == 1


def test_another_processs_change_is_seen_at_the_next_refresh(
    agents: TestClient, engine: Engine, receiver: Receiver
) -> None:
    with engine.begin() as conn:  # as another server process would
        conn.execute(
            insert(webhook).values(
                id=uuid.uuid4(), url=receiver.url, secret=SECRET, query="", events="RunFailed", created_at=NOW
            )
        )
    complete(agents, run_in_flight(engine, name="before"), 4)
    assert rows(engine, webhook_event) == []

    refresh_subscriptions(engine)  # what the worker does every ORCHJOBS_WEBHOOK_SUBSCRIPTION_SECONDS
    complete(agents, run_in_flight(engine, name="after"), 4)
    assert len(rows(engine, webhook_event)) == 1


def test_a_snapshot_nobody_refreshes_is_reloaded_by_the_next_event(engine: Engine) -> None:
    clock = [100.0]
    snapshot = Subscriptions(refresh_seconds=5, monotonic=lambda: clock[0])
    with engine.connect() as conn:
        assert snapshot.current(conn) == frozenset() and not snapshot.due()
        conn.execute(
            insert(webhook).values(
                id=uuid.uuid4(), url="http://x", secret=SECRET, query="", events="RunFailed", created_at=NOW
            )
        )
        clock[0] += 5
        assert snapshot.due() and snapshot.current(conn) == frozenset()  # the worker's to refresh
        clock[0] += 15.1
        assert [event.value for event in snapshot.current(conn)] == ["RunFailed"]
        conn.rollback()
    assert subscriptions(engine) is subscriptions(make_engine(str(engine.url)))  # one per database


# --- retries, timeouts, concurrency ----------------------------------------------------------


def test_a_failing_receiver_is_retried_with_backoff_then_given_up(
    client: TestClient, agents: TestClient, engine: Engine, settings: Settings, receiver: Receiver
) -> None:
    webhook_id = add_webhook(client, receiver, ["RunFailed"])
    run = run_in_flight(engine)
    complete(agents, run, 4)
    receiver.status = 500

    first = deliver(engine, settings)
    (delivery,) = rows(engine, webhook_delivery)
    assert (first.attempted, first.delivered, first.gave_up) == (1, 0, 0)
    assert (delivery.attempts, delivery.last_status, delivery.last_attempt_at) == (1, 500, NOW)
    assert delivery.last_error == "The receiver answered HTTP 500."
    assert delivery.next_attempt_at == NOW + timedelta(seconds=30)  # half of 60 s, no jitter
    (job,) = rows(engine, scheduled_job)
    assert (job.retry_count, job.running_history_id) == (1, None)  # the job went on as it would have

    assert deliver(engine, settings, at=timedelta(seconds=29)).attempted == 0
    assert deliver(engine, settings, at=timedelta(seconds=30)).attempted == 1
    assert rows(engine, webhook_delivery)[0].next_attempt_at == NOW + timedelta(seconds=90)  # then 60 s
    last = deliver(engine, settings, at=timedelta(seconds=90))
    assert (last.attempted, last.gave_up) == (1, 1)

    (given_up,) = client.get(f"{WEBHOOKS}/{webhook_id}/Deliveries").json()
    assert (given_up["Status"], given_up["Attempts"], given_up["LastStatusCode"]) == (2, 3, 500)
    assert "NextAttemptAt" not in given_up
    assert [request.headers["X-Orchjobs-Attempt"] for request in receiver.requests] == ["1", "2", "3"]
    assert len(set(receiver.bodies())) == 1  # every attempt sends the same bytes
    assert deliver(engine, settings, at=timedelta(days=1)) == WebhookRound()


def test_a_receiver_that_never_answers_times_out_while_job_calls_go_on(
    client: TestClient, agents: TestClient, engine: Engine, settings: Settings, receiver: Receiver
) -> None:
    add_webhook(client, receiver, ["RunFailed", "RunCompleted"])
    first, second = run_in_flight(engine, name="first"), run_in_flight(engine, name="second")
    complete(agents, first, 4)
    receiver.hang = True
    rounds: list[WebhookRound] = []
    worker = threading.Thread(target=lambda: rounds.append(deliver(engine, settings)))

    worker.start()
    assert receiver.arrived.wait(10)
    complete(agents, second, 2)  # while the delivery hangs
    assert worker.is_alive()
    worker.join(10)

    (done,) = rounds
    assert (done.attempted, done.delivered) == (1, 0)
    delivery = rows(engine, webhook_delivery)[0]
    assert (delivery.attempts, delivery.last_status, delivery.last_error) == (1, None, "No answer within 1 s.")
    assert delivery.next_attempt_at == NOW + timedelta(seconds=30)
    assert [event.job_history_id for event in rows(engine, webhook_event)] == [first.audit_id, second.audit_id]


def test_a_disabled_webhook_holds_its_deliveries_and_a_deleted_one_drops_them(
    client: TestClient, agents: TestClient, engine: Engine, settings: Settings, receiver: Receiver
) -> None:
    kept = add_webhook(client, receiver, ["RunFailed"])
    dropped = add_webhook(client, receiver, ["RunFailed"], Description="dropped")
    complete(agents, run_in_flight(engine), 4)
    assert fan_out_events(engine, config=WebhookConfig.from_settings(settings), now=NOW) == (1, 2)

    client.put(f"{WEBHOOKS}/{kept}", json={"Enabled": False})
    client.delete(f"{WEBHOOKS}/{dropped}")
    assert deliver(engine, settings).attempted == 0
    client.put(f"{WEBHOOKS}/{kept}", json={"Enabled": True})
    assert deliver(engine, settings).delivered == 1
    assert verified(receiver.requests[0])["WebhookId"] == kept


def test_two_workers_never_send_one_delivery_twice(
    client: TestClient, engine: Engine, settings: Settings, receiver: Receiver
) -> None:
    add_webhook(client, receiver, ["RunFailed"])
    add_webhook(client, receiver, ["RunFailed"], Query="Result -eq Failure")
    history_ids = [add_history(engine, result=4, status=3) for _ in range(30)]
    with engine.begin() as conn:
        conn.execute(
            insert(webhook_event),
            [
                {
                    "kind": "RunFailed",
                    "at": NOW,
                    "job_history_id": history_id,
                    "payload": run_closed_payload(history_id=history_id, job_id=uuid.uuid4(), result=4, status=3),
                }
                for history_id in history_ids
            ],
        )
    small = settings.model_copy(update={"webhook_batch": 7})
    start = threading.Barrier(2)

    def work() -> None:
        own = make_engine(str(engine.url.render_as_string(hide_password=False)), pool_size=2)
        start.wait()
        try:
            while deliver(own, small).busy:
                pass
        finally:
            own.dispose()

    workers = [threading.Thread(target=work) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    while deliver(engine, small).busy:  # whatever the two left when their last rounds overlapped
        pass

    sent = Counter(verified(request)["DeliveryId"] for request in receiver.requests)
    deliveries = rows(engine, webhook_delivery)
    assert len(deliveries) == 60  # each event fanned out once, to each webhook
    assert sorted(sent) == [delivery.id for delivery in deliveries]
    assert set(sent.values()) == {1}
    assert {(delivery.attempts, delivery.delivered_at is not None) for delivery in deliveries} == {(1, True)}
    assert all(event.fanned_out_at is not None for event in rows(engine, webhook_event))


def test_the_app_delivers_on_its_own(engine: Engine, settings: Settings, receiver: Receiver) -> None:
    running = settings.model_copy(update={"webhook_poll_seconds": 0.05})
    with api_client(running) as client, api_client(running, auth=None, headers=None, clock=lambda: NOW) as agents:
        add_webhook(client, receiver, ["RunCompleted"])
        complete(agents, run_in_flight(engine), 2)
        assert receiver.arrived.wait(10)
    assert verified(receiver.requests[0])["Event"] == "RunCompleted"


def test_old_finished_events_are_pruned_with_their_deliveries(
    client: TestClient, agents: TestClient, engine: Engine, settings: Settings, receiver: Receiver
) -> None:
    add_webhook(client, receiver, ["RunFailed"])
    delivered, pending = run_in_flight(engine, name="a"), run_in_flight(engine, name="b")
    complete(agents, delivered, 4)
    deliver(engine, settings)
    complete(agents, pending, 4)
    receiver.status = 503
    deliver(engine, settings)

    assert prune_webhook_events(engine, now=NOW + timedelta(days=29), retention_days=30, batch=1) == 0
    assert prune_webhook_events(engine, now=NOW + timedelta(days=31), retention_days=0, batch=1) == 0
    assert prune_webhook_events(engine, now=NOW + timedelta(days=31), retention_days=30, batch=1) == 1

    assert [event.job_history_id for event in rows(engine, webhook_event)] == [pending.audit_id]
    assert [delivery.last_status for delivery in rows(engine, webhook_delivery)] == [503]


def test_a_long_message_is_cut_to_the_payload_limit(
    client: TestClient, agents: TestClient, engine: Engine, settings: Settings, receiver: Receiver
) -> None:
    add_webhook(client, receiver, ["RunFailed"])
    run = run_in_flight(engine)
    complete(agents, run, 4, Message="é" * 10_000)
    with engine.begin() as conn:
        conn.execute(update(job_history).values(target_path=None))

    deliver(engine, settings.model_copy(update={"webhook_max_payload_bytes": 4096}))

    (request,) = receiver.requests
    assert 4000 < len(request.body) <= 4096
    run_item = verified(request)["Run"]
    assert run_item["MessageTruncated"] is True
    assert "é" * 1000 in run_item["Message"]
    assert "StorePath" not in run_item
