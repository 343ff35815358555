"""The job calls of the orchestrator protocol (docs/orchestrator-protocol.md "Lifecycle"): what an orchestrator does
with a run it was handed. `Jobs/Configuration` makes the run InProcess, `Jobs/Inventory`, `Jobs/Enroll` and
`Jobs/Discovery` serve it,
`Jobs/Complete` closes it with the retry rule the sweeper shares (`runs.close_runs`).

Every call is authenticated by its session token, as the first statement of its own transaction. A refused call
raises a ProtocolRefusalError and leaves an `agent_event` behind; nothing else changes.
"""

import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID
from sqlalchemy import Connection, Engine

from orchjobs.domain import discovery
from orchjobs.domain.app_settings import ServiceSettings
from orchjobs.domain.audit import SYSTEM_ACTOR
from orchjobs.domain.certificates import CertificateFacts, read_certificate
from orchjobs.domain.failure_groups import message_group
from orchjobs.domain.jobs import (
    ACKNOWLEDGEABLE_RESULTS,
    IN_FLIGHT_STATUSES,
    NO_RETRIES,
    AgentStatus,
    JobKind,
    JobResult,
    JobStatus,
    job_kind,
    with_run_note,
)
from orchjobs.domain.numbers import lenient_int
from orchjobs.domain.scheduled_jobs import can_reschedule_job
from orchjobs.domain.store_types import PropertyDefinition, checked_properties, definitions_from_json, with_defaults
from orchjobs.errors import (
    InvalidRequestError,
    ProtocolRefusalError,
    RunNotInFlightError,
    SessionRefusedError,
    UploadRefusedError,
)
from orchjobs.service import events
from orchjobs.service.history import auto_acknowledgement_note, record_auto_acknowledgement
from orchjobs.service.orchestrator_ca import cached_ca
from orchjobs.service.webhook_events import record_runs_closed
from orchjobs.settings import Settings
from orchjobs.store import discovery as discovery_store
from orchjobs.store import inventory
from orchjobs.store import job_calls as calls
from orchjobs.store import runs as store
from orchjobs.store.agents import get_session_agent_status, record_agent_event
from orchjobs.store.engine import read_transaction, write_transaction
from orchjobs.store.rows import Record


@dataclass(frozen=True)
class JobCall:
    """Who calls, for which job: what every job call starts with. `name` (Configuration, Inventory, Enroll,
    Complete) names the call in the record of a refusal."""

    name: str
    token: str
    job_id: uuid.UUID


@dataclass(frozen=True)
class Completion:
    """A `Jobs/Complete` report: the run (AuditId; None when it sent none), its result, message and uploaded data."""

    audit_id: int | None
    result: JobResult
    message: str | None
    data: str | None


@dataclass(frozen=True)
class InventoryDelta:
    """A `Jobs/Inventory` upload: entries to add or replace as (alias, certificate, private key entry), aliases to
    remove."""

    upserts: tuple[tuple[str, str, bool], ...]
    removals: tuple[str, ...]


@dataclass(frozen=True)
class StoreEntry:
    alias: str
    private_key_entry: bool


@dataclass(frozen=True)
class RunConfiguration:
    """What `Jobs/Configuration` tells the orchestrator about its run; the api renders it per job kind."""

    audit_id: int
    kind: JobKind
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


def start_run(engine: Engine, call: JobCall, *, now: datetime) -> RunConfiguration:
    """`Jobs/Configuration`: the caller's run in flight for the job becomes InProcess; what it must do. One statement
    on PostgreSQL (store.job_calls.start_run)."""
    with _recorded(engine, call, now=now) as caller, write_transaction(engine, brief=True, one_statement=True) as conn:
        job = caller.checked(calls.start_run(conn, token=call.token, job_id=call.job_id, now=now))
        kind = job_kind(job.job_type)
        entries: Sequence[Record] = []
        if kind is JobKind.INVENTORY and job.certificate_store_id is not None:
            entries = inventory.list_entries(conn, store_id=job.certificate_store_id)
    return RunConfiguration(
        audit_id=job.running_history_id,
        kind=kind,
        client_machine=job.client_machine,
        store_path=job.store_path or job.target_path,
        store_type=job.store_type,
        store_properties=_store_properties(job),
        fields=_fields(job.fields),
        inventory=tuple(StoreEntry(row.alias, bool(row.private_key_entry)) for row in entries),
    )


def apply_inventory(engine: Engine, call: JobCall, delta: InventoryDelta, *, now: datetime) -> None:
    """`Jobs/Inventory`: apply the orchestrator's delta to its store's entries, all or nothing."""
    with _recorded(engine, call, now=now) as caller, write_transaction(engine, brief=True) as conn:
        job = caller.run_in_flight(conn)
        if job_kind(job.job_type) is not JobKind.INVENTORY or job.certificate_store_id is None:
            raise UploadRefusedError(f"Job {call.job_id} is not the inventory of a certificate store.")
        entries = [(alias, _certificate(alias, text), key) for alias, text, key in delta.upserts]
        inventory.upsert_entries(conn, store_id=job.certificate_store_id, entries=entries, now=now)
        inventory.delete_entries(conn, store_id=job.certificate_store_id, aliases=delta.removals)


def record_discovery(engine: Engine, call: JobCall, locations: discovery.Locations, *, now: datetime) -> None:
    """`Jobs/Discovery`: each path the orchestrator found becomes an unapproved store of the job's StoreType, on the
    job's ClientMachine (else the orchestrator's), its properties the type's defaults; a path that is already a
    store of the orchestrator and type is skipped. Entries refused one by one are noted on the run, for its
    completion's message, and in the orchestrator's events. All in the call's transaction."""
    with _recorded(engine, call, now=now) as caller, write_transaction(engine, brief=True) as conn:
        job = caller.run_in_flight(conn)
        if job_kind(job.job_type) is not JobKind.DISCOVERY:
            raise UploadRefusedError(f"Job {call.job_id} is not a discovery; it takes no Locations.")
        fields = _fields(job.fields)
        store_type_id = lenient_int(_lookup(fields, "StoreType"))
        store_type = None
        if store_type_id is not None and 0 <= store_type_id < 2**31:  # an integer column
            store_type = discovery_store.get_store_type(conn, store_type_id=store_type_id)
        if store_type_id is None or store_type is None:
            raise UploadRefusedError(
                f"Job {call.job_id} names no certificate store type that exists "
                f"(StoreType {_lookup(fields, 'StoreType')!r}); nothing was recorded."
            )
        discovery_store.insert_discovered_stores(
            conn,
            agent_id=caller.authenticated_agent_id,
            store_type_id=store_type_id,
            client_machine=discovery.client_machine(_lookup(fields, "ClientMachine"), job.client_machine),
            paths=locations.paths,
            properties=json.dumps(_default_properties(definitions_from_json(store_type.properties))),
        )
        if not locations.refused:
            return
        note = discovery.refusal_note(locations)
        store.set_run_note(conn, history_id=job.running_history_id, note=discovery.add_note(job.run_note, note))
        refusal = UploadRefusedError(f"{note} The other {len(locations.paths)} were recorded.")
        agent_id = caller.authenticated_agent_id
        _record(conn, name=call.name, agent_id=agent_id, job_id=call.job_id, refusal=refusal, now=now)
    events.refused(call.name, agent_id=agent_id, job_id=call.job_id, code=refusal.code, reason=refusal.message)


def enroll(engine: Engine, call: JobCall, csr: str, *, now: datetime, settings: Settings) -> str:
    """`Jobs/Enroll`: the certificate (base64 DER) the orchestrator CA issues for a Reenrollment's CSR, whose
    common name must be the one the job asked for."""
    with _recorded(engine, call, now=now) as caller:
        with read_transaction(engine) as conn:
            job = caller.run_in_flight(conn)
        if job_kind(job.job_type) is not JobKind.REENROLLMENT:
            raise UploadRefusedError(f"Job {call.job_id} is not a reenrollment; it takes no CSR.")
        common_name = _common_name(_subject(_fields(job.fields), job.client_machine))
        ca = cached_ca(engine, settings=settings, now=now)
        try:
            return ca.sign_store_csr(csr, common_name=common_name, now=now)
        except InvalidRequestError as exc:
            raise UploadRefusedError(exc.message) from None


def complete_run(engine: Engine, call: JobCall, completion: Completion, *, now: datetime) -> None:
    """`Jobs/Complete`: close the caller's run in flight with its result, keep its Log or Data, and apply the retry
    rule of `runs.close_runs`: a failure with retries left is retried, a one-shot job whose run is over is deleted
    (but a failed one that can be rescheduled), and a success acknowledges the job's earlier failures when
    AutoAcknowledgeFailures is on. Two statements on PostgreSQL (store.job_calls)."""
    with _recorded(engine, call, now=now) as caller, write_transaction(engine, brief=True) as conn:
        if completion.result == JobResult.SUCCESS:
            job = caller.checked(_close_succeeded(conn, call, completion, now=now))
            _check_audit_id(call, completion, job, closed=bool(job.closed))
            status, acknowledged = int(JobStatus.COMPLETED), job.acknowledged
        else:
            job = caller.checked(calls.completing_job(conn, token=call.token, job_id=call.job_id, now=now))
            _check_audit_id(call, completion, job, closed=True)
            closing = _closing(job, completion, now=now)
            calls.close_run(conn, job, closing, now=now)
            status, acknowledged = closing.status, 0
        record_runs_closed(
            conn, runs=[(job.running_history_id, job.id)], status=status, result=completion.result, at=now
        )
        if acknowledged:
            record_auto_acknowledgement(
                conn, count=acknowledged, job_id=job.id, succeeded_run=job.running_history_id, now=now
            )
        if completion.data is not None:
            store.insert_result_data(conn, history_id=job.running_history_id, data=completion.data)
    events.completed(
        caller.authenticated_agent_id,
        job_id=call.job_id,
        job_type=job.job_type,
        result=JobResult(completion.result).name.lower(),
        audit_id=job.running_history_id,
    )


def _close_succeeded(conn: Connection, call: JobCall, completion: Completion, *, now: datetime) -> Any | None:
    """Close the run of a success: one statement on PostgreSQL, which also acknowledges the job's earlier failures
    when AutoAcknowledgeFailures is on (store.job_calls.close_succeeded_run)."""
    return calls.close_succeeded_run(
        conn,
        token=call.token,
        job_id=call.job_id,
        audit_id=completion.audit_id,
        message=completion.message,
        acknowledged_by=SYSTEM_ACTOR,
        note=auto_acknowledgement_note(completion.audit_id or 0),
        now=now,
    )


def _check_audit_id(call: JobCall, completion: Completion, job: Any, *, closed: bool) -> None:
    """The AuditId must name the job's run in flight; a success statement that `closed` nothing means the same."""
    if completion.audit_id != job.running_history_id or not closed:
        raise RunNotInFlightError(
            f"AuditId {completion.audit_id!r} is not the run of job {call.job_id} in flight; nothing was changed."
        )


def _closing(job: Any, completion: Completion, *, now: datetime) -> calls.Closing:
    """How a warning or failure closes its run, by the rules of `runs.close_runs` for one run whose job's next run is
    known."""
    settings: ServiceSettings = job.settings
    result = completion.result
    message = with_run_note(completion.message, job.run_note)
    group = message_group(message) if result in ACKNOWLEDGEABLE_RESULTS else None
    policy = settings.retry_policy if result == JobResult.FAILURE else NO_RETRIES
    if policy.retries_after(result=result, retry_count=job.retry_count):
        retry_at = now + timedelta(minutes=policy.delay_minutes)
        status = JobStatus.COMPLETED_WILL_RETRY
        return calls.Closing(int(status), result, message, group, job_action="retry", retry_at=retry_at)
    # A failed one-shot Management, Reenrollment or Discovery job stays, to be rescheduled or unscheduled.
    stays = result == JobResult.FAILURE and can_reschedule_job(
        job_type=job.job_type, is_custom=bool(job.is_custom), schedule_type=job.schedule_type
    )
    action = "delete" if job.next_run_at is None and not stays else "renew"
    return calls.Closing(int(JobStatus.COMPLETED), result, message, group, job_action=action)


def record_refusal(
    engine: Engine, *, name: str, token: str, job_id: uuid.UUID | None, refusal: ProtocolRefusalError, now: datetime
) -> None:
    """Record a call refused for what it carries, before it reached its run (a JobId that is no GUID, a malformed
    upload), against the session's orchestrator. SessionRefusedError when the session is unknown: that refusal
    comes first, as for any call."""
    with write_transaction(engine, brief=True) as conn:
        agent_id = _authenticate(conn, token, now=now)
        _record(conn, name=name, agent_id=agent_id, job_id=job_id, refusal=refusal, now=now)
    events.refused(name, agent_id=agent_id, job_id=job_id, code=refusal.code, reason=refusal.message)


class _Caller:
    """The orchestrator a job call is made for, once its session is authenticated."""

    def __init__(self, call: JobCall, now: datetime) -> None:
        self.call = call
        self.now = now
        self.agent_id: uuid.UUID | None = None

    def run_in_flight(self, conn: Connection) -> Any:
        """The caller's job and its run in flight, locked, after the session is authenticated (in the same
        statement); SessionRefusedError or RunNotInFlightError."""
        return self.checked(calls.caller_job(conn, token=self.call.token, job_id=self.call.job_id, now=self.now))

    def checked(self, job: Any | None) -> Any:
        """A row of store.job_calls for this call, once it shows the caller Approved and its run in flight."""
        if job is None or job.agent_status != AgentStatus.APPROVED:
            raise SessionRefusedError()
        self.agent_id = job.agent_id
        events.note_agent(job.agent_id)
        if job.id is None:
            raise RunNotInFlightError(f"Job {self.call.job_id} is not a job of this orchestrator.")
        if job.running_history_id is None or job.run_status not in IN_FLIGHT_STATUSES:
            raise RunNotInFlightError(
                f"Job {self.call.job_id} has no run in flight; it was completed or never handed out."
            )
        return job

    @property
    def authenticated_agent_id(self) -> uuid.UUID:
        """The caller, once `run_in_flight` has authenticated its session."""
        if self.agent_id is None:
            raise SessionRefusedError()
        return self.agent_id


@contextmanager
def _recorded(engine: Engine, call: JobCall, *, now: datetime) -> Iterator[_Caller]:
    """Keep a refused call as an agent_event, after its own transaction has rolled back. A refused session leaves
    none: it names no orchestrator."""
    caller = _Caller(call, now)
    try:
        yield caller
    except ProtocolRefusalError as refusal:
        events.refused(
            call.name, agent_id=caller.agent_id, job_id=call.job_id, code=refusal.code, reason=refusal.message
        )
        if caller.agent_id is None:
            raise
        with write_transaction(engine, brief=True) as conn:
            _record(conn, name=call.name, agent_id=caller.agent_id, job_id=call.job_id, refusal=refusal, now=now)
        raise


def _authenticate(conn: Connection, token: str, *, now: datetime) -> uuid.UUID:
    """The Approved orchestrator of a live session, else SessionRefusedError."""
    row = get_session_agent_status(conn, token=token, now=now)
    if row is None or row.status != AgentStatus.APPROVED:
        raise SessionRefusedError()
    agent_id: uuid.UUID = row.agent_id
    events.note_agent(agent_id)
    return agent_id


def _record(
    conn: Connection,
    *,
    name: str,
    agent_id: uuid.UUID,
    job_id: uuid.UUID | None,
    refusal: ProtocolRefusalError,
    now: datetime,
) -> None:
    record_agent_event(
        conn,
        at=now,
        kind=f"{name}Refused",
        agent_id=agent_id,
        job_id=job_id,
        message=f"Jobs/{name} refused ({refusal.code.removeprefix('0x')}): {refusal.message}",
    )


def _store_properties(job: Any) -> str | None:
    """The store's properties with every property its type declares, defaults filled in (the C orchestrator reads
    some without checking that they are there)."""
    if job.certificate_store_id is None:
        return None
    return json.dumps(with_defaults(definitions_from_json(job.store_type_properties), job.store_properties))


def _default_properties(definitions: tuple[PropertyDefinition, ...]) -> dict[str, str]:
    """A discovered store's properties: every property of its type with its default. A type with a required
    property that has no default gets it empty: the operator fills it in when approving the store."""
    try:
        return checked_properties(definitions, {})
    except InvalidRequestError:
        return {str(key): str(value) for key, value in with_defaults(definitions, None).items()}


def _certificate(alias: str, text: str) -> CertificateFacts:
    try:
        return read_certificate(text)
    except InvalidRequestError as exc:
        raise UploadRefusedError(f"Inventory entry {alias!r}: {exc.message}") from None


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


def _subject(fields: dict[str, Any], client_machine: str) -> str:
    return str(_lookup(fields, "Subject") or f"CN={client_machine}")


def _common_name(subject: str) -> str:
    try:
        names = x509.Name.from_rfc4514_string(subject).get_attributes_for_oid(NameOID.COMMON_NAME)
    except ValueError:
        return subject
    return str(names[0].value) if names else subject
