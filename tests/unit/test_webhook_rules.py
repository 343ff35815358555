"""The webhook rules of orchjobs.domain.webhooks: events, addresses, the signature, retries and the body."""

import hashlib
import hmac
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from orchjobs.domain.webhooks import (
    RetrySchedule,
    RunRow,
    SendOutcome,
    WebhookEvent,
    acknowledgement_payload,
    checked_url,
    decode_events,
    delivery_body,
    delivery_payload,
    encode_events,
    parse_events,
    run_closed_payload,
    run_event,
    signature,
    signature_matches,
)
from orchjobs.errors import InvalidRequestError
from orchjobs.query import JOB_HISTORY_FIELDS, compile_where, parse
from orchjobs.store.tables import job_history

AT = datetime(2026, 11, 29, 12, 0, 0, 123456, tzinfo=UTC)
RUN = RunRow(
    agent_id=uuid.UUID(int=1),
    client_machine="web01",
    job_type="Inventory",
    operation_start=AT,
    operation_end=AT,
    message="Store not found",
    target_path=None,
)


def test_results_raise_their_events() -> None:
    assert [run_event(result) for result in (0, 1, 2, 3, 4)] == [
        None,
        None,
        WebhookEvent.RUN_COMPLETED,
        WebhookEvent.RUN_COMPLETED,
        WebhookEvent.RUN_FAILED,
    ]


def test_events_are_read_in_any_case_and_listed_in_one_order() -> None:
    events = parse_events([" runfailed", "FailuresAcknowledged", "RUNFAILED", "RunCompleted"])
    assert encode_events(events) == "RunCompleted,RunFailed,FailuresAcknowledged"
    assert decode_events("RunFailed, Retired,RunCompleted") == (WebhookEvent.RUN_COMPLETED, WebhookEvent.RUN_FAILED)
    for bad in ([], "RunFailed", ["RunFailed", None], ["Deleted"]):
        with pytest.raises(InvalidRequestError):
            parse_events(bad)


@pytest.mark.parametrize(
    "url", ["https://hooks.example.com", "HTTP://10.0.0.1:8080/a?b=c", "https://[::1]:8443/x", " http://h/ "]
)
def test_http_and_https_addresses_are_accepted(url: str) -> None:
    assert checked_url(url) == url.strip()


@pytest.mark.parametrize(
    "url", ["", "hooks.example.com", "file:///etc/passwd", "https://", "http://[::1/", "http://h:0x/", "http://h/\x00"]
)
def test_other_addresses_are_refused(url: str) -> None:
    with pytest.raises(InvalidRequestError):
        checked_url(url)


def test_the_signature_is_the_hex_hmac_sha256_of_the_exact_body() -> None:
    body = b'{"Event":"RunFailed","DeliveryId":7}'
    expected = hmac.new(b"k" * 16, body, hashlib.sha256).hexdigest()

    assert signature(secret="k" * 16, body=body) == f"sha256={expected}"
    assert signature_matches(secret="k" * 16, body=body, header=f"sha256={expected}")
    assert not signature_matches(secret="k" * 16, body=body + b" ", header=f"sha256={expected}")
    assert not signature_matches(secret="j" * 16, body=body, header=f"sha256={expected}")
    assert not signature_matches(secret="k" * 16, body=body, header=None)


def test_retries_back_off_exponentially_with_jitter_up_to_a_cap() -> None:
    schedule = RetrySchedule(max_attempts=6, first_delay_seconds=30, max_delay_seconds=200)

    low = [schedule.delay(attempts=n, fraction=0.0).total_seconds() for n in range(1, 6)]
    high = [schedule.delay(attempts=n, fraction=0.999999).total_seconds() for n in range(1, 6)]

    assert low == [15, 30, 60, 100, 100]
    assert [round(value) for value in high] == [30, 60, 120, 200, 200]
    assert schedule.next_attempt(attempts=5, now=AT, fraction=0.5) == AT + timedelta(seconds=150)
    assert schedule.next_attempt(attempts=6, now=AT, fraction=0.5) is None
    assert schedule.delay(attempts=10_000, fraction=0.0) == timedelta(seconds=100)


def test_outcomes() -> None:
    assert SendOutcome(status=204).delivered and SendOutcome(status=204).describe() is None
    assert SendOutcome(status=302).describe() == "The receiver answered HTTP 302."
    assert SendOutcome(error="ConnectError: refused").describe() == "ConnectError: refused"


def test_the_body_carries_its_delivery_id_after_the_event_and_never_changes() -> None:
    stored = run_closed_payload(history_id=9, job_id=uuid.UUID(int=2), result=4, status=5)
    payload = delivery_payload(
        kind="RunFailed", event_id=3, webhook_id=uuid.UUID(int=4), at=AT, event_payload=stored, run=RUN, max_bytes=4096
    )

    body = delivery_body(payload, delivery_id=11)

    assert body == delivery_body(payload, delivery_id=11)
    assert list(orjson.loads(body))[:3] == ["Event", "DeliveryId", "EventId"]
    assert orjson.loads(body)["Time"] == "2026-11-29T12:00:00.123456Z"
    assert orjson.loads(body)["Run"]["Message"] == "Store not found"


def test_an_over_long_note_is_cut_to_fit() -> None:
    stored = acknowledgement_payload(count=3, acknowledged_by="admin", at=AT, note="x" * 10_000)

    payload = delivery_payload(
        kind="FailuresAcknowledged",
        event_id=1,
        webhook_id=uuid.UUID(int=4),
        at=AT,
        event_payload=stored,
        run=None,
        max_bytes=4096,
    )

    body = delivery_body(payload, delivery_id=2**63 - 1)
    assert 4000 < len(body) <= 4096
    acknowledgement = orjson.loads(body)["Acknowledgement"]
    assert acknowledgement["NoteTruncated"] is True
    assert acknowledgement["Count"] == 3


def test_the_acknowledged_runs_query_is_a_valid_job_history_query() -> None:
    stored = orjson.loads(acknowledgement_payload(count=1, acknowledged_by='o"brien', at=AT, note=None))

    query = stored["JobHistoryQuery"]

    assert query == 'AcknowledgedAt -eq "2026-11-29T12:00:00.123456Z" AND AcknowledgedBy -eq "o""brien"'
    assert "Note" not in stored
    condition = compile_where(parse(query), JOB_HISTORY_FIELDS, job_history.c, now=AT)
    assert AT in condition.compile().params.values()
    assert 'o"brien' in condition.compile().params.values()
