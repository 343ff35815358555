"""Job history: the rows scheduled jobs leave over the `HISTORY_DAYS` before `now`, with their outcomes, messages
and acknowledgements, generated lazily for the bulk loader."""

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from orchjobs.domain.failure_groups import message_group
from orchjobs.domain.jobs import JobResult, JobStatus
from orchjobs.domain.schedules import schedule_type
from orchjobs.service.seeding.fleet import _Job, _schedule_text
from orchjobs.service.seeding.vocabulary import ACKNOWLEDGE_NOTES, ACKNOWLEDGERS

HISTORY_DAYS = 90

# Outcome thresholds for one history row, drawn with a single rng.random() (cumulative).
# Finished rows: 60 % success, 15 % warning, 15 % failure; the last 10 % are still running or
# waiting (result Unknown). Together with the retry/acknowledge split below this gives
# status ≈ 77 % Completed, 10 % CompletedWillRetry, 3 % Acknowledged, 10 % InProcess/Waiting,
# and ≈ 27 % of rows eligible for acknowledgement, like the benchmark data set.
P_SUCCESS = 0.60
P_WARNING = P_SUCCESS + 0.15
P_FAILURE = P_WARNING + 0.15
P_IN_PROCESS = P_FAILURE + 0.06  # the rest are Waiting
# Of warnings and failures (second draw): share that will be retried, then share acknowledged.
P_FAILURE_RETRY = 0.42
P_WARNING_RETRY = 0.25
P_ACKNOWLEDGED = 0.10

HISTORY_COLUMNS = (
    "job_id",
    "agent_id",
    "client_machine",
    "job_type",
    "schedule",
    "schedule_type",
    "target_path",
    "operation_start",
    "operation_end",
    "message",
    "result",
    "status",
    "acknowledged_at",
    "acknowledged_by",
    "acknowledge_note",
    "status_before_ack",
    "message_group",
)


@dataclass(frozen=True)
class _HistoryJob:
    """A scheduled job as history rows repeat it: the fixed leading values and its messages."""

    head: tuple[Any, ...]
    successes: tuple[str, ...]
    warnings: tuple[str, ...]
    failures: tuple[str, ...]


def _history_jobs(rng: random.Random, jobs: Sequence[_Job]) -> list[tuple[_HistoryJob, ...]]:
    """The jobs history can pick from, grouped by kind so that every kind gets an equal share."""
    by_kind: dict[str, list[_HistoryJob]] = {}
    for job in jobs:
        head = (
            job.id,
            job.agent.id,
            job.agent.client_machine,
            job.job_type,
            _schedule_text(job.schedule),
            schedule_type(job.schedule),
            job.target_path,
        )
        by_kind.setdefault(job.kind, []).append(_HistoryJob(head, *_messages(rng, job)))
    return [tuple(by_kind[kind]) for kind in sorted(by_kind)]


def _history_rows(
    rng: random.Random, kinds: Sequence[Sequence[_HistoryJob]], now: datetime, count: int, days: int
) -> Iterator[tuple[Any, ...]]:
    """`count` history rows in operation_start order, spread evenly over the window before `now`.

    The hot loop of the seed: everything per job is precomputed, and each decision is one
    rng.random() against a threshold.
    """
    window_start = now - timedelta(days=days)
    # One slot per row with a random point inside it: sorted without sorting, uniform overall.
    slot_us = days * 86_400_000_000 / count if count else 0
    rand = rng.random
    kind_count = len(kinds)
    for index in range(count):
        start = window_start + timedelta(microseconds=int((index + rand()) * slot_us))
        pool = kinds[int(rand() * kind_count)]
        job = pool[int(rand() * len(pool))]
        outcome = rand()
        if outcome >= P_FAILURE:
            status = _IN_PROCESS if outcome < P_IN_PROCESS else _WAITING
            yield job.head + (start, None, "", _UNKNOWN, status, *_NOT_ACKNOWLEDGED, None)
            continue
        end = min(start + timedelta(seconds=1 + rand() * 599), now)
        if outcome < P_SUCCESS:
            message = job.successes[int(rand() * len(job.successes))]
            yield job.head + (start, end, message, _SUCCESS, _COMPLETED, *_NOT_ACKNOWLEDGED, None)
            continue
        if outcome < P_WARNING:
            result, messages, retry_share = _WARNING, job.warnings, P_WARNING_RETRY
        else:
            result, messages, retry_share = _FAILURE, job.failures, P_FAILURE_RETRY
        message = messages[int(rand() * len(messages))]
        group = _group(message)
        follow_up = rand()
        if follow_up < retry_share:
            yield job.head + (start, end, message, result, _WILL_RETRY, *_NOT_ACKNOWLEDGED, group)
        elif follow_up < retry_share + P_ACKNOWLEDGED:
            yield job.head + (start, end, message, result, _ACKNOWLEDGED, *_acknowledgement(rand, end, now), group)
        else:
            yield job.head + (start, end, message, result, _COMPLETED, *_NOT_ACKNOWLEDGED, group)


# Seeded messages come from a few hundred texts: each is folded once.
_group = lru_cache(maxsize=4096)(message_group)

# Plain ints for the hot loop (the drivers need no enum handling), and the empty ack columns.
_UNKNOWN, _SUCCESS, _WARNING, _FAILURE = (
    int(JobResult.UNKNOWN),
    int(JobResult.SUCCESS),
    int(JobResult.WARNING),
    int(JobResult.FAILURE),
)
_WAITING, _IN_PROCESS, _COMPLETED, _ACKNOWLEDGED, _WILL_RETRY = (
    int(JobStatus.WAITING),
    int(JobStatus.IN_PROCESS),
    int(JobStatus.COMPLETED),
    int(JobStatus.ACKNOWLEDGED),
    int(JobStatus.COMPLETED_WILL_RETRY),
)
_NOT_ACKNOWLEDGED = (None, None, None, None)


def _acknowledgement(rand: Callable[[], float], end: datetime, now: datetime) -> tuple[Any, ...]:
    """acknowledged_at (minutes to days after the run), by, note, and the status it replaced."""
    at = min(end + timedelta(seconds=60 + rand() * 3 * 86400), now)
    by = ACKNOWLEDGERS[int(rand() * len(ACKNOWLEDGERS))]
    note = ACKNOWLEDGE_NOTES[int(rand() * len(ACKNOWLEDGE_NOTES))]
    return at, by, note, _COMPLETED


def _messages(rng: random.Random, job: _Job) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """A job's success, warning and failure messages (a few variants each, numbers drawn once)."""
    host = job.agent.client_machine.split(".", 1)[0]
    path = job.target_path or host
    count = rng.randint(1, 250)
    successes = _success_messages(job, path, count, rng.randint(1, 120))
    warnings = (
        f"{rng.randint(2, 9)} certificates skipped: private key not exportable",
        f"Completed with warnings: {rng.randint(1, 5)} certificates in {path} could not be parsed",
        f"Certificate 'www.{host}.example.com' in {path} expires in {rng.randint(1, 29)} days",
    )
    failures = (
        f"Unable to connect to remote server {host}: connection timed out",
        f"Access is denied to {path}",
        f"The job did not complete within 600 seconds on {host}",
        f"SSL handshake with {host}:443 failed: certificate verify failed",
        _type_specific_failure(job, path),
    )
    return successes, warnings, failures


def _success_messages(job: _Job, path: str, count: int, seconds: int) -> tuple[str, ...]:
    detail = {
        "Inventory": f"Inventory completed: {count} certificates",
        "Management": f"Certificate 'www.example.com' added to {path}",
        "Reenrollment": f"Re-enrollment completed: new certificate issued for CN={path}",
        "Discovery": f"Discovery completed: {count % 12 + 1} certificate stores found in {path}",
        "FetchLogs": f"Log files uploaded ({count * 37} KB)",
    }.get(job.job_type, f"{job.job_type} completed in {seconds} s")
    # Most successful runs report nothing; an empty message three times in five.
    return ("", "", "", detail, detail)


def _type_specific_failure(job: _Job, path: str) -> str:
    store_type = job.store.store_type if job.store else ""
    if store_type == "JKS":
        return f"Keystore {path} was tampered with, or password was incorrect"
    if store_type in ("IIS", "WinCert"):
        return "WinRM error: The WS-Management service cannot process the request"
    if job.job_type == "Reenrollment":
        return "The certificate authority denied the request: template 'WebServer' not found"
    return f"The store file {path} was not found"
