"""Completion webhooks, the rules without the I/O: which event a closed run raises, what a webhook may be configured
with, what a delivery carries and how it is signed, and when a failed delivery is tried again (docs/webhooks.md).

The service stores events and deliveries and `orchjobs.outbound` sends them; both take their rules from here.
"""

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum
from typing import Any
from urllib.parse import urlsplit

import orjson

from orchjobs.domain.jobs import JobResult
from orchjobs.errors import InvalidRequestError

SIGNATURE_HEADER = "X-Orchjobs-Signature"
EVENT_HEADER = "X-Orchjobs-Event"
DELIVERY_HEADER = "X-Orchjobs-Delivery"
ATTEMPT_HEADER = "X-Orchjobs-Attempt"
TIMESTAMP_HEADER = "X-Orchjobs-Timestamp"
SIGNATURE_PREFIX = "sha256="

MAX_URL_LENGTH = 2048  # the webhook.url column
MIN_SECRET_LENGTH = 16
MAX_SECRET_LENGTH = 255  # the webhook.secret column
MAX_DESCRIPTION_LENGTH = 2000
# Room left in a bounded body for the DeliveryId, which is added when the delivery is sent.
_DELIVERY_ID_ROOM = 40
_JSON = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z


class WebhookEvent(StrEnum):
    """What a webhook can subscribe to. The names are the wire names; their order is the order they are listed in."""

    RUN_COMPLETED = "RunCompleted"
    RUN_FAILED = "RunFailed"
    FAILURES_ACKNOWLEDGED = "FailuresAcknowledged"


class DeliveryStatus(IntEnum):
    """Where a delivery is: waiting for its first or next attempt, delivered (a 2xx answer), or given up."""

    PENDING = 0
    DELIVERED = 1
    FAILED = 2


EVENT_NAMES = ", ".join(event.value for event in WebhookEvent)


def run_event(result: int) -> WebhookEvent | None:
    """The event a run closed with `result` raises: a success or a warning completes it, a failure (retried or not,
    reported or timed out) fails it; any other result raises none."""
    if result in (JobResult.SUCCESS, JobResult.WARNING):
        return WebhookEvent.RUN_COMPLETED
    if result == JobResult.FAILURE:
        return WebhookEvent.RUN_FAILED
    return None


def parse_events(values: object) -> tuple[WebhookEvent, ...]:
    """Event names from a request (a list of names, any case), in their canonical order; InvalidRequestError for an
    empty list, a name that is not an event, or anything but a list of strings."""
    if not isinstance(values, list) or not values:
        raise InvalidRequestError(f"Events must be a non-empty list of event names: {EVENT_NAMES}.")
    by_name = {event.value.lower(): event for event in WebhookEvent}
    unknown = [value for value in values if not isinstance(value, str) or value.strip().lower() not in by_name]
    if unknown:
        shown = ", ".join(orjson.dumps(value).decode() for value in unknown[:10])
        raise InvalidRequestError(f"Events holds names that are not events: {shown}; the events are {EVENT_NAMES}.")
    chosen = {by_name[value.strip().lower()] for value in values}
    return tuple(event for event in WebhookEvent if event in chosen)


def encode_events(events: Iterable[WebhookEvent]) -> str:
    """The stored form of a webhook's events: comma-separated names."""
    return ",".join(event.value for event in events)


def decode_events(text: str) -> tuple[WebhookEvent, ...]:
    """The events of a stored webhook, in canonical order; a name this version does not know is skipped."""
    names = {name.strip() for name in text.split(",")}
    return tuple(event for event in WebhookEvent if event.value in names)


def checked_url(value: object) -> str:
    """A receiver's address: http or https, with a host, at most MAX_URL_LENGTH characters; InvalidRequestError
    otherwise. Redirects are not followed, so this is the address that is called."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequestError("Url is required: an http:// or https:// address.")
    url = value.strip()
    if len(url) > MAX_URL_LENGTH:
        raise InvalidRequestError(f"Url is {len(url)} characters long; at most {MAX_URL_LENGTH} are allowed.")
    if any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in url):
        raise InvalidRequestError("Url must not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        host, _port = parts.hostname, parts.port
    except ValueError as exc:
        raise InvalidRequestError(f"Url is not a valid address: {exc}.") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidRequestError(f"Url must be an http:// or https:// address, not {parts.scheme or 'one'}.")
    if not host:
        raise InvalidRequestError("Url must name a host, e.g. https://hooks.example.com/orchjobs.")
    return url


def checked_secret(value: object) -> str:
    """A secret a caller chose: text of MIN_SECRET_LENGTH to MAX_SECRET_LENGTH characters."""
    if not isinstance(value, str):
        raise InvalidRequestError("Secret must be a string.")
    if not MIN_SECRET_LENGTH <= len(value) <= MAX_SECRET_LENGTH:
        raise InvalidRequestError(
            f"Secret must be {MIN_SECRET_LENGTH} to {MAX_SECRET_LENGTH} characters long; "
            "leave it out to have one generated."
        )
    return value


def new_secret() -> str:
    """A generated secret: 256 random bits as hex."""
    return secrets.token_hex(32)


def checked_description(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequestError("Description must be a string.")
    if len(value) > MAX_DESCRIPTION_LENGTH:
        raise InvalidRequestError(f"Description may be at most {MAX_DESCRIPTION_LENGTH} characters long.")
    return value


# -- the signature ---------------------------------------------------------------------------


def signature(*, secret: str, body: bytes) -> str:
    """The `X-Orchjobs-Signature` of a body: `sha256=` and the hex HMAC-SHA256 of the exact body bytes, keyed with
    the webhook's secret (UTF-8)."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(*, secret: str, body: bytes, header: str | None) -> bool:
    """What a receiver checks, in constant time."""
    return header is not None and hmac.compare_digest(signature(secret=secret, body=body), header.strip())


# -- retries ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetrySchedule:
    """How often a delivery is attempted, and how long it waits between attempts: `first_delay_seconds` after the
    first failure, doubling each time up to `max_delay_seconds`, with jitter so that receivers coming back from an
    outage are not hit by every delivery at once."""

    max_attempts: int
    first_delay_seconds: float
    max_delay_seconds: float

    def delay(self, *, attempts: int, fraction: float) -> timedelta:
        """The wait after `attempts` failed attempts: half of the exponential delay, plus `fraction` (0 ≤ f < 1,
        random) of the other half ("equal jitter")."""
        exponent = min(max(attempts - 1, 0), 62)
        full = min(self.max_delay_seconds, self.first_delay_seconds * 2.0**exponent)
        return timedelta(seconds=full / 2 + full / 2 * fraction)

    def next_attempt(self, *, attempts: int, now: datetime, fraction: float) -> datetime | None:
        """When a delivery that failed its `attempts`-th attempt is tried again, or None: it gives up."""
        if attempts >= self.max_attempts:
            return None
        return now + self.delay(attempts=attempts, fraction=fraction)


def delivery_status(*, delivered_at: datetime | None, next_attempt_at: datetime | None) -> DeliveryStatus:
    if delivered_at is not None:
        return DeliveryStatus.DELIVERED
    return DeliveryStatus.PENDING if next_attempt_at is not None else DeliveryStatus.FAILED


# -- what is sent ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRow:
    """What a run's history row adds to its event: the parts of a run that never change once it exists."""

    agent_id: uuid.UUID
    client_machine: str
    job_type: str
    operation_start: datetime
    operation_end: datetime | None
    message: str | None
    target_path: str | None


def run_closed_payload(*, history_id: int, job_id: uuid.UUID, result: int, status: int) -> str:
    """The stored payload of a run event: the run as it closed. Its status can change afterwards (an Acknowledge),
    so the event keeps the one it closed with; the rest is read from the history row when the event fans out."""
    return orjson.dumps({"JobHistoryId": history_id, "JobId": job_id, "Result": result, "Status": status}).decode()


def acknowledgement_payload(*, count: int, acknowledged_by: str, at: datetime, note: str | None) -> str:
    """The stored payload of a FailuresAcknowledged event, with the query that lists exactly the runs it
    acknowledged through GET /OrchestratorJobs/JobHistory."""
    document: dict[str, Any] = {"Count": count, "AcknowledgedBy": acknowledged_by, "AcknowledgedAt": at}
    if note is not None:
        document["Note"] = note
    document["JobHistoryQuery"] = acknowledged_runs_query(acknowledged_by=acknowledged_by, at=at)
    return orjson.dumps(document, option=_JSON).decode()


def acknowledged_runs_query(*, acknowledged_by: str, at: datetime) -> str:
    """The query-language filter of the runs one Acknowledge request changed: its instant and its user."""
    instant = orjson.dumps(at, option=_JSON).decode().strip('"')
    user = acknowledged_by.replace('"', '""')
    return f'AcknowledgedAt -eq "{instant}" AND AcknowledgedBy -eq "{user}"'


def delivery_payload(
    *,
    kind: str,
    event_id: int,
    webhook_id: uuid.UUID,
    at: datetime,
    event_payload: str,
    run: RunRow | None,
    max_bytes: int,
) -> str:
    """A delivery's body without its DeliveryId (added when it is sent), at most `max_bytes` long once it is: an
    over-long Message or Note is cut, and `MessageTruncated` or `NoteTruncated` says so."""
    stored: dict[str, Any] = orjson.loads(event_payload)
    document: dict[str, Any] = {"Event": kind, "EventId": event_id, "WebhookId": webhook_id, "Time": at}
    if run is None:
        document["Acknowledgement"] = stored
        return _bounded(document, stored, "Note", max_bytes=max_bytes)
    document["Run"] = item = _run_item(stored, run)
    return _bounded(document, item, "Message", max_bytes=max_bytes)


def delivery_body(payload: str, *, delivery_id: int) -> bytes:
    """The exact bytes a delivery sends, every attempt the same: its payload with the DeliveryId after the Event."""
    stored: dict[str, Any] = orjson.loads(payload)
    event = stored.pop("Event")
    return orjson.dumps({"Event": event, "DeliveryId": delivery_id, **stored})


def delivery_headers(
    *, kind: str, delivery_id: int, attempt: int, secret: str, body: bytes, now: datetime, user_agent: str
) -> dict[str, str]:
    """The headers of one attempt. Only the body is signed; it carries the event, the DeliveryId and the time too."""
    return {
        "Content-Type": "application/json",
        "User-Agent": user_agent,
        EVENT_HEADER: kind,
        DELIVERY_HEADER: str(delivery_id),
        ATTEMPT_HEADER: str(attempt),
        TIMESTAMP_HEADER: str(int(now.timestamp())),
        SIGNATURE_HEADER: signature(secret=secret, body=body),
    }


@dataclass(frozen=True)
class OutgoingRequest:
    """One delivery attempt as the sender sees it: a POST of `body` to `url`."""

    url: str
    body: bytes
    headers: Mapping[str, str]


@dataclass(frozen=True)
class SendOutcome:
    """What came of an attempt: the receiver's HTTP status, or why there was none."""

    status: int | None = None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str | None:
        """The delivery log's LastError: None for a delivered attempt."""
        if self.delivered:
            return None
        if self.status is not None:
            return f"The receiver answered HTTP {self.status}."
        return self.error or "The request failed."


def _run_item(stored: Mapping[str, Any], run: RunRow) -> dict[str, Any]:
    item: dict[str, Any] = {
        "JobHistoryId": stored["JobHistoryId"],
        "JobId": stored["JobId"],
        "AgentId": run.agent_id,
        "ClientMachine": run.client_machine,
        "JobType": run.job_type,
        "Result": stored["Result"],
        "Status": stored["Status"],
    }
    if run.message is not None:
        item["Message"] = run.message
    item["OperationStart"] = run.operation_start
    if run.operation_end is not None:
        item["OperationEnd"] = run.operation_end
    if run.target_path is not None:
        item["StorePath"] = run.target_path
    return item


def _bounded(document: dict[str, Any], inner: dict[str, Any], key: str, *, max_bytes: int) -> str:
    """`document` as JSON text; when it would be too long, `inner[key]` cut to the longest prefix that fits."""
    limit = max_bytes - _DELIVERY_ID_ROOM
    encoded = orjson.dumps(document, option=_JSON)
    text = inner.get(key)
    if len(encoded) <= limit or not isinstance(text, str):
        return encoded.decode()
    inner[f"{key}Truncated"] = True
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits: a few dozen encodings at most
        middle = (low + high + 1) // 2
        inner[key] = text[:middle]
        if len(orjson.dumps(document, option=_JSON)) <= limit:
            low = middle
        else:
            high = middle - 1
    inner[key] = text[:low]
    return orjson.dumps(document, option=_JSON).decode()
