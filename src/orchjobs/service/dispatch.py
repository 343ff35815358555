"""Dispatch and the job calls of the orchestrator protocol (docs/orchestrator-protocol.md "Dispatch", "Lifecycle").

`hand_out_due_jobs` turns due scheduled jobs into runs (history Status 1 Waiting); `Jobs/Configuration` makes a
run InProcess; `Jobs/Inventory` and `Jobs/Enroll` serve it; `Jobs/Complete` closes it with the retry rule the
sweeper shares (`close_runs`). A job call that names a run the caller does not have in flight, or that carries a
bad upload, raises `JobCallRefusedError` and leaves an `agent_event` behind; nothing else changes.
"""

import base64
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import Connection, Engine, Row

from orchjobs.domain.capabilities import capability_guid, normalize_capabilities
from orchjobs.domain.jobs import AgentStatus, JobResult, JobStatus
from orchjobs.domain.schedules import ScheduleError, agent_schedule, next_run_after
from orchjobs.errors import InvalidRequestError, StoreUnavailableError
from orchjobs.service.orchestrator_ca import CLIENT_CERT_DAYS, CLOCK_SKEW, OrchestratorCA, cached_ca
from orchjobs.store import dispatch as store
from orchjobs.store.agents import get_session_agent_status, record_agent_event
from orchjobs.store.app_settings import get_app_setting
from orchjobs.store.engine import read_transaction, write_transaction

log = logging.getLogger(__name__)

# Where the orchestrator fetches and reports a job, relative to /KeyfactorAgents (agent-protocol.md §4.8).
CONFIGURATION_ENDPOINT = "Jobs/Configuration"
COMPLETION_ENDPOINT = "Jobs/Complete"
INVENTORY_ENDPOINT = "Jobs/Inventory"
ENROLL_ENDPOINT = "Jobs/Enroll"

# CodeStrings of refused job calls.
SESSION_UNKNOWN = "A0100001"  # unknown or expired session, or an orchestrator that is not Approved
NOT_YOUR_RUN = "A0100004"  # unknown job, someone else's, no run in flight, wrong AuditId, completed already
BAD_UPLOAD = "A0100005"  # a malformed or oversized inventory, completion or CSR

DEFAULT_LOG_CHARACTERS = 4000
DEFAULT_CLAIM_RETRIES = 2
FINAL_STATUSES = {int(JobResult.SUCCESS), int(JobResult.WARNING), int(JobResult.FAILURE)}
# Defaults of the app settings, should a row be missing or unreadable (the migration installs them).
DEFAULT_SETTINGS = {"JobRetries": 3, "JobRetryDelay": 5, "JobInProcessTimeout": 60}


@dataclass(frozen=True)
class HandedOutJob:
    """One job for `Session.Jobs[]`: the capability GUID, the scheduled job's id, the agent's schedule form."""

    job_type_id: uuid.UUID
    job_id: uuid.UUID
    schedule: str | None
    priority: int


class JobCallRefusedError(Exception):
    """A job call that is refused with a protocol CodeString; nothing was changed but the recorded event."""

    def __init__(self, code_string: str, message: str) -> None:
        super().__init__(message)
        self.code_string = code_string
        self.message = message


class SessionRefusedError(JobCallRefusedError):
    """A job call whose SessionToken is unknown or expired, or whose orchestrator is not Approved. Nothing is
    recorded: there is no orchestrator to record it for."""

    def __init__(self) -> None:
        super().__init__(SESSION_UNKNOWN, "The session is unknown or has expired; register again.")


@dataclass(frozen=True)
class StoreEntry:
    alias: str
    private_key_entry: bool


@dataclass(frozen=True)
class RunConfiguration:
    """What `Jobs/Configuration` tells the orchestrator about its run; api renders it per job kind."""

    audit_id: int
    kind: str  # Inventory, Management, Reenrollment, FetchLogs or Custom
    client_machine: str
    store_path: str | None
    store_type: str | None
    store_properties: str | None
    fields: dict[str, Any]
    inventory: tuple[StoreEntry, ...] = ()

    def field(self, name: str, default: Any = None) -> Any:
        """A job field by name, case-insensitively."""
        return _lookup(self.fields, name, default)

    @property
    def subject(self) -> str:
        """The subject a Reenrollment asks the orchestrator to request."""
        return _subject(self.fields, self.client_machine)


@dataclass(frozen=True)
class RetryPolicy:
    """The app settings JobRetries and JobRetryDelay (minutes)."""

    retries: int
    delay_minutes: int

    @classmethod
    def read(cls, conn: Connection) -> "RetryPolicy":
        return cls(retries=int_setting(conn, "JobRetries"), delay_minutes=int_setting(conn, "JobRetryDelay"))


NO_RETRIES = RetryPolicy(retries=0, delay_minutes=0)


# --- dispatch -------------------------------------------------------------------------------


def hand_out_due_jobs(
    engine: Engine,
    *,
    agent_id: uuid.UUID,
    capabilities: Sequence[str],
    now: datetime,
    retries: int | None = None,
) -> list[HandedOutJob]:
    """Start a run of every due job of the agent that it has the capability for, in one transaction.

    Each job gets a history row (Waiting) as its run in flight and moves on to its next occurrence, so no
    other call hands it out until that run is closed. `retries`: how often to try again when PostgreSQL
    rolls the transaction back on a conflict (deadlock, serialization); None is the default, 2.
    """
    wanted = {name.lower() for name in normalize_capabilities(list(capabilities))}
    if not wanted:
        return []
    attempts = 1 + (DEFAULT_CLAIM_RETRIES if retries is None else max(0, retries))
    for attempt in range(1, attempts + 1):
        try:
            return _hand_out(engine, agent_id=agent_id, capabilities=wanted, now=now)
        except StoreUnavailableError as exc:
            if attempt == attempts or not _rolled_back_on_conflict(exc):
                raise
            log.warning("dispatch for agent %s rolled back on a conflict; trying again", agent_id)
            time.sleep(0.01 * attempt)
    raise AssertionError("unreachable")


def _hand_out(engine: Engine, *, agent_id: uuid.UUID, capabilities: set[str], now: datetime) -> list[HandedOutJob]:
    with write_transaction(engine) as conn:
        jobs = store.claim_due_jobs(conn, agent_id=agent_id, capabilities=capabilities, now=now)
        if not jobs:
            return []
        plans = [_schedule_plan(job, now) for job in jobs]
        runs = [
            {
                "job_id": job.id,
                "agent_id": agent_id,
                "client_machine": job.client_machine,
                "job_type": job.job_type,
                "schedule": job.schedule,
                "schedule_type": job.schedule_type,
                "target_path": job.target_path,
                "operation_start": now,
                "status": int(JobStatus.WAITING),
                "result": int(JobResult.UNKNOWN),
            }
            for job in jobs
        ]
        history_ids = store.insert_runs(conn, runs=runs)
        store.mark_handed_out(
            conn,
            jobs=[(job.id, run, next_run) for job, run, (next_run, _) in zip(jobs, history_ids, plans, strict=True)],
        )
    return [
        HandedOutJob(job_type_id=capability_guid(job.capability), job_id=job.id, schedule=form, priority=job.priority)
        for job, (_, form) in zip(jobs, plans, strict=True)
    ]


def _schedule_plan(job: Row[Any], now: datetime) -> tuple[datetime | None, str | None]:
    """(next run, agent schedule form) of a job being handed out. A schedule that cannot be read runs this
    once and no more: dispatch must not fail for every job of the agent because of one bad row."""
    try:
        schedule = json.loads(job.schedule) if job.schedule else None
        return next_run_after(schedule, now), agent_schedule(schedule)
    except (ValueError, ScheduleError) as exc:
        log.warning("scheduled job %s has an unreadable schedule (%s); it runs once", job.id, exc)
        return None, None


def _rolled_back_on_conflict(exc: StoreUnavailableError) -> bool:
    # SQLSTATE class 40: PostgreSQL rolled the transaction back (deadlock, serialization failure).
    sqlstate = getattr(getattr(exc.__cause__, "orig", None), "sqlstate", None) or ""
    return sqlstate.startswith("40")


# --- job calls ------------------------------------------------------------------------------


def start_run(engine: Engine, *, token: str, job_id: object, now: datetime) -> RunConfiguration:
    """`Jobs/Configuration`: the caller's run in flight for the job becomes InProcess; what it must do.

    Like every job call it is authenticated by its session `token`, as the first statement of its own
    transaction; an unknown or expired session, or an orchestrator that is not Approved, raises
    SessionRefusedError."""
    with (
        _recorded(engine, call="Configuration", job_id=job_id, now=now) as caller,
        write_transaction(engine) as conn,
    ):
        agent_id = caller.authenticate(conn, token=token)
        job = _run_in_flight(conn, agent_id=agent_id, job_id=_job_uuid(job_id))
        if job.run_status == JobStatus.WAITING:
            store.set_run_status(conn, history_id=job.running_history_id, status=int(JobStatus.IN_PROCESS))
        kind = _kind(job.job_type)
        entries: Sequence[Row[Any]] = []
        if kind == "Inventory" and job.certificate_store_id is not None:
            entries = store.store_entries(conn, store_id=job.certificate_store_id)
    return RunConfiguration(
        audit_id=job.running_history_id,
        kind=kind,
        client_machine=job.client_machine,
        store_path=job.store_path or job.target_path,
        store_type=job.store_type,
        store_properties=job.store_properties,
        fields=_fields(job.fields),
        inventory=tuple(StoreEntry(row.alias, bool(row.private_key_entry)) for row in entries),
    )


def apply_inventory(engine: Engine, *, token: str, job_id: object, items: object, now: datetime, max_items: int) -> int:
    """`Jobs/Inventory`: apply the orchestrator's delta to its store's entries (1 Add and 2 Modified replace an
    entry, 3 Remove deletes it, 4 Unchanged keeps it), all or nothing. Returns the number of items."""
    with (
        _recorded(engine, call="Inventory", job_id=job_id, now=now) as caller,
        write_transaction(engine) as conn,
    ):
        agent_id = caller.authenticate(conn, token=token)
        job_uuid = _job_uuid(job_id)
        upserts, removals, count = _inventory_delta(items, max_items=max_items)
        job = _run_in_flight(conn, agent_id=agent_id, job_id=job_uuid)
        if _kind(job.job_type) != "Inventory" or job.certificate_store_id is None:
            raise JobCallRefusedError(BAD_UPLOAD, f"Job {job_uuid} is not the inventory of a certificate store.")
        store.upsert_entries(conn, store_id=job.certificate_store_id, entries=upserts)
        store.delete_entries(conn, store_id=job.certificate_store_id, aliases=removals)
    return count


def enroll(
    engine: Engine, *, token: str, job_id: object, csr_text: object, now: datetime, ca_passphrase: str | None
) -> str:
    """`Jobs/Enroll`: the certificate (base64 DER) the orchestrator CA issues for a Reenrollment's CSR, whose
    common name must be the one the job asked for."""
    with _recorded(engine, call="Enroll", job_id=job_id, now=now) as caller:
        with read_transaction(engine) as conn:
            agent_id = caller.authenticate(conn, token=token)
            job_uuid = _job_uuid(job_id)
            if not isinstance(csr_text, str) or not csr_text.strip():
                raise JobCallRefusedError(BAD_UPLOAD, "CSRText must be a base64 DER PKCS#10 certificate request.")
            job = _run_in_flight(conn, agent_id=agent_id, job_id=job_uuid)
        if _kind(job.job_type) != "Reenrollment":
            raise JobCallRefusedError(BAD_UPLOAD, f"Job {job_uuid} is not a reenrollment; it takes no CSR.")
        common_name = _common_name(_subject(_fields(job.fields), job.client_machine))
        ca = cached_ca(engine, passphrase=ca_passphrase, now=now)
        try:
            return _issue_store_certificate(ca, csr_text, common_name=common_name, now=now)
        except InvalidRequestError as exc:
            raise JobCallRefusedError(BAD_UPLOAD, exc.message) from None


def complete_run(
    engine: Engine,
    *,
    token: str,
    job_id: object,
    audit_id: object,
    status: object,
    message: object,
    log_text: object = None,
    data: object = None,
    now: datetime,
    max_data_bytes: int,
) -> None:
    """`Jobs/Complete`: close the caller's run in flight with Result = Status (2 Success, 3 Warning, 4 Failure),
    keep its Log or Data, and apply the retry rule (see `close_runs`)."""
    with (
        _recorded(engine, call="Complete", job_id=job_id, now=now) as caller,
        write_transaction(engine) as conn,
    ):
        agent_id = caller.authenticate(conn, token=token)
        job_uuid = _job_uuid(job_id)
        result = _final_status(status)
        run_id = _int_value(audit_id)
        payload = _result_data(log_text, data, max_bytes=max_data_bytes)
        text = message if isinstance(message, str) else (None if message is None else str(message))
        job = _run_in_flight(conn, agent_id=agent_id, job_id=job_uuid, lock=store.lock_run)
        if run_id != job.running_history_id:
            raise JobCallRefusedError(
                NOT_YOUR_RUN,
                f"AuditId {audit_id!r} is not the run of job {job_uuid} in flight; nothing was changed.",
            )
        run = OpenRun(job.id, job.running_history_id, job.retry_count, has_next_run=job.next_run_at is not None)
        # Only a failure can be retried: a success or warning needs no settings read.
        policy = RetryPolicy.read(conn) if result == JobResult.FAILURE else NO_RETRIES
        close_runs(conn, runs=[run], result=result, message=text or None, now=now, policy=policy)
        if payload is not None:
            store.insert_result_data(conn, history_id=job.running_history_id, data=payload)


@dataclass(frozen=True)
class OpenRun:
    """A run in flight, as closing it needs it."""

    job_id: uuid.UUID
    history_id: int
    retry_count: int
    # Whether the job has a next run, when the caller read it under the job's lock (None: not known).
    has_next_run: bool | None = None


def close_runs(
    conn: Connection, *, runs: Sequence[OpenRun], result: int, message: str | None, now: datetime, policy: RetryPolicy
) -> None:
    """Close runs in flight with one result. A failed run with retries left is CompletedWillRetry and its job is
    due again after the retry delay (a one-shot job too); every other run is Completed, its job's retry budget is
    renewed, and a job with no next run (Immediate, ExactlyOnce) is deleted. Set-based: a few statements."""
    failed = result == JobResult.FAILURE
    retrying = [run for run in runs if failed and run.retry_count < policy.retries]
    final = [run for run in runs if not (failed and run.retry_count < policy.retries)]
    for group, status in ((retrying, JobStatus.COMPLETED_WILL_RETRY), (final, JobStatus.COMPLETED)):
        if group:
            store.close_runs(
                conn,
                history_ids=[run.history_id for run in group],
                status=int(status),
                result=result,
                message=message,
                end=now,
            )
    if retrying:
        retry_at = now + timedelta(minutes=policy.delay_minutes)
        store.requeue_jobs(conn, job_ids=[run.job_id for run in retrying], next_run_at=retry_at)
    if final:
        # A job whose next run is known needs only the statement that applies to it.
        ending = [run.job_id for run in final if run.has_next_run is False]
        going_on = [run.job_id for run in final if run.has_next_run is True]
        unknown = [run.job_id for run in final if run.has_next_run is None]
        if ending:
            store.delete_finished_jobs(conn, job_ids=ending)
        if going_on:
            store.reset_jobs(conn, job_ids=going_on)
        if unknown:
            store.release_jobs(conn, job_ids=unknown)


# --- helpers --------------------------------------------------------------------------------


class _Caller:
    """The orchestrator a job call is made for, once its session is authenticated."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.agent_id: uuid.UUID | None = None

    def authenticate(self, conn: Connection, *, token: str) -> uuid.UUID:
        """The Approved orchestrator of a live session, else SessionRefusedError. The first statement of the
        call's transaction: one connection and one transaction per call."""
        row = get_session_agent_status(conn, token=token, now=self.now)
        if row is None or row.status != AgentStatus.APPROVED:
            raise SessionRefusedError()
        self.agent_id = row.agent_id
        return row.agent_id


@contextmanager
def _recorded(engine: Engine, *, call: str, job_id: object, now: datetime) -> Iterator[_Caller]:
    """Keep a refused call as an agent_event, after its own transaction has rolled back. A refused session
    leaves none: it names no orchestrator."""
    caller = _Caller(now)
    try:
        yield caller
    except JobCallRefusedError as exc:
        if caller.agent_id is None:  # the session was refused (or never checked): no orchestrator to record
            raise
        try:
            job_uuid: uuid.UUID | None = _job_uuid(job_id)
        except JobCallRefusedError:
            job_uuid = None
        with write_transaction(engine) as conn:
            record_agent_event(
                conn,
                at=now,
                kind=f"{call}Refused",
                agent_id=caller.agent_id,
                job_id=job_uuid,
                message=f"Jobs/{call} refused ({exc.code_string}): {exc.message}",
            )
        raise


def _run_in_flight(
    conn: Connection, *, agent_id: uuid.UUID, job_id: uuid.UUID, lock: Callable[..., Row[Any] | None] = store.lock_job
) -> Row[Any]:
    job = lock(conn, agent_id=agent_id, job_id=job_id)
    if job is None:
        raise JobCallRefusedError(NOT_YOUR_RUN, f"Job {job_id} is not a job of this orchestrator.")
    if job.running_history_id is None or job.run_status not in (JobStatus.WAITING, JobStatus.IN_PROCESS):
        raise JobCallRefusedError(
            NOT_YOUR_RUN, f"Job {job_id} has no run in flight; it was completed or never handed out."
        )
    return job


def _job_uuid(value: object) -> uuid.UUID:
    if isinstance(value, str):
        try:
            return uuid.UUID(value.strip())
        except ValueError:
            pass
    raise JobCallRefusedError(NOT_YOUR_RUN, f"JobId {str(value)[:64]!r} is not the GUID of a job of this orchestrator.")


def _final_status(status: object) -> int:
    if isinstance(status, int) and not isinstance(status, bool) and status in FINAL_STATUSES:
        return status
    what = "not a final status" if status in (0, 1) and not isinstance(status, bool) else "not a valid status"
    raise JobCallRefusedError(BAD_UPLOAD, f"Status {status!r} is {what}; a completion reports 2, 3 or 4.")


def _int_value(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _kind(job_type: str) -> str:
    for kind in ("Inventory", "Management", "Reenrollment", "FetchLogs"):
        if job_type.lower() == kind.lower():
            return kind
    return "Custom"


def _fields(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _lookup(mapping: dict[str, Any], name: str, default: Any = None) -> Any:
    for key, value in mapping.items():
        if key.lower() == name.lower():
            return value
    return default


def _inventory_delta(items: object, *, max_items: int) -> tuple[list[tuple[str, str, bool]], list[str], int]:
    """(entries to write, aliases to delete, item count) of an upload, or a refusal naming the bad item."""
    if not isinstance(items, list):
        raise JobCallRefusedError(BAD_UPLOAD, "Inventory must be a list of items.")
    if len(items) > max_items:
        raise JobCallRefusedError(
            BAD_UPLOAD, f"The inventory holds {len(items)} items; at most {max_items} are accepted in one upload."
        )
    upserts: dict[str, tuple[str, str, bool]] = {}
    removals: dict[str, None] = {}
    for index, raw in enumerate(items):
        item = {str(key).lower(): value for key, value in raw.items()} if isinstance(raw, dict) else {}
        alias, status = item.get("alias"), item.get("itemstatus")
        if not isinstance(alias, str) or not alias.strip() or len(alias) > 255:
            raise JobCallRefusedError(BAD_UPLOAD, f"Inventory item {index} needs an Alias of 1 to 255 characters.")
        if isinstance(status, bool) or status not in (1, 2, 3, 4):
            raise JobCallRefusedError(
                BAD_UPLOAD, f"Inventory item {index} ({alias}) has ItemStatus {status!r}; expected 1, 2, 3 or 4."
            )
        if status in (1, 2):  # Add, Modified
            certificates = item.get("certificates")
            if not isinstance(certificates, list) or not certificates or not isinstance(certificates[0], str):
                raise JobCallRefusedError(
                    BAD_UPLOAD, f"Inventory item {index} ({alias}) has no certificate in Certificates."
                )
            upserts[alias] = (alias, certificates[0], item.get("privatekeyentry") is True)
            removals.pop(alias, None)
        elif status == 3:  # Remove; 4 Unchanged keeps the entry as it is
            removals[alias] = None
            upserts.pop(alias, None)
    return list(upserts.values()), list(removals), len(items)


def _result_data(log_text: object, data: object, *, max_bytes: int) -> str | None:
    """The Log (FetchLogs) or Data (custom jobs, text or JSON) to keep, within the size limit."""
    value = log_text if log_text is not None else data
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value)
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        name = "Log" if log_text is not None else "Data"
        raise JobCallRefusedError(BAD_UPLOAD, f"The {name} is {size} bytes; at most {max_bytes} bytes are accepted.")
    return text


def int_setting(conn: Connection, short_name: str) -> int:
    """An integer app setting (JobRetries, JobRetryDelay, JobInProcessTimeout), its default if unreadable."""
    row = get_app_setting(conn, short_name=short_name)
    try:
        return int(row.value) if row is not None else DEFAULT_SETTINGS[short_name]
    except ValueError:
        return DEFAULT_SETTINGS[short_name]


def _subject(fields: dict[str, Any], client_machine: str) -> str:
    return str(_lookup(fields, "Subject") or f"CN={client_machine}")


def _common_name(subject: str) -> str:
    try:
        names = x509.Name.from_rfc4514_string(subject).get_attributes_for_oid(NameOID.COMMON_NAME)
    except ValueError:
        return subject
    return str(names[0].value) if names else subject


def _issue_store_certificate(ca: OrchestratorCA, csr_text: str, *, common_name: str, now: datetime) -> str:
    """A server certificate for a store's new key. Unlike an orchestrator's client certificate it has no
    client-auth usage and no AgentId, so it cannot stand in for the orchestrator."""
    csr = ca.check_csr(csr_text, client_machine=common_name)
    key = csr.public_key()
    assert isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey)  # check_csr
    builder = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(ca.certificate.subject)
        .public_key(key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(min(now + timedelta(days=CLIENT_CERT_DAYS), ca.certificate.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.private_key.public_key()), critical=False)
    )
    if common_name and " " not in common_name:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False)
    key_usage = x509.KeyUsage(
        digital_signature=True,
        key_encipherment=isinstance(key, rsa.RSAPublicKey),
        content_commitment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    builder = builder.add_extension(key_usage, critical=True)
    certificate = builder.sign(ca.private_key, hashes.SHA256())
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()
