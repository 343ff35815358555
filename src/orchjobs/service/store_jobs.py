"""Jobs on certificate stores: inventory schedules, Management add and remove, Reenrollment and Discovery
(/KeyfactorAPI/CertificateStores/Schedule, /Certificates/Add, /Certificates/Remove, /Reenrollment, /DiscoveryJob).

They become scheduled jobs of the built-in job types, on the store's orchestrator, with the capability
`CertStores.<Capability>.<Operation>` of the store's type and its JobTypeId; their runs land in job history like
every other job's. Each request is one transaction, and all of its jobs or none are scheduled.
"""

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from orchjobs.domain.audit import AuditAction, AuditResource
from orchjobs.domain.capabilities import capability_guid
from orchjobs.domain.jobs import AgentStatus
from orchjobs.domain.schedules import first_run_at, schedule_type
from orchjobs.domain.store_types import KeyRule
from orchjobs.errors import BulkOperationError, FailedOperation, InvalidRequestError
from orchjobs.service import audit
from orchjobs.service.stores import bounded, checked_schedule
from orchjobs.store import stores as store
from orchjobs.store.custom_jobs import JobSpec
from orchjobs.store.engine import write_transaction
from orchjobs.store.rows import Record
from orchjobs.store.store_schedules import set_inventory_schedules

MAX_ALIAS_LENGTH = 255
MAX_FIELD_TEXT = 4096
_JOBS = AuditResource.SCHEDULED_JOBS


@dataclass(frozen=True)
class AddEntry:
    store_id: uuid.UUID
    alias: str | None = None
    overwrite: bool = False
    entry_password: str | None = None
    pfx_password: str | None = None
    include_private_key: bool = False
    job_fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RemoveEntry:
    store_id: uuid.UUID
    alias: str
    job_fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DiscoveryRequest:
    store_type_id: int
    agent_id: uuid.UUID | None
    client_machine: str | None
    schedule: dict[str, Any]
    fields: dict[str, Any]


@dataclass(frozen=True)
class ReenrollmentRequest:
    store_id: uuid.UUID
    agent_id: uuid.UUID | None
    subject: str
    alias: str | None
    job_properties: Mapping[str, Any]


def schedule_inventory(
    engine: Engine, *, store_ids: Sequence[uuid.UUID], schedule: object, actor: str, now: datetime
) -> None:
    """POST /CertificateStores/Schedule: set (or, with `Off`, remove) the inventory schedule of stores."""
    ids = list(dict.fromkeys(store_ids))
    if not ids:
        raise InvalidRequestError("StoreIds must name at least one certificate store.")
    bounded(ids)
    canonical = checked_schedule(schedule, now=now, allow_off=True)
    with write_transaction(engine, brief=True) as conn:
        _refuse_unknown(ids, store.lock_stores(conn, ids))
        set_inventory_schedules(conn, store_ids=ids, schedule=canonical or None, now=now)
        details = {"Schedule": canonical or "Off"}
        audit.note(conn, AuditAction.SCHEDULE, _JOBS, actor=actor, at=now, ids=ids, details=details)


def add_certificate(
    engine: Engine, *, certificate_id: int, entries: Sequence[AddEntry], schedule: object, actor: str, now: datetime
) -> list[uuid.UUID]:
    """POST /CertificateStores/Certificates/Add: a Management add job per store; their ids."""
    if not entries:
        raise InvalidRequestError("CertificateStores must name at least one certificate store.")
    bounded([entry.store_id for entry in entries])
    canonical = checked_schedule(schedule, now=now)
    with write_transaction(engine, brief=True) as conn:
        certificate = store.certificate_by_id(conn, certificate_id=certificate_id)
        if certificate is None:
            raise InvalidRequestError(f"Certificate {certificate_id} was not found.")
        stores = store.lock_stores(conn, [entry.store_id for entry in entries])
        failed: list[FailedOperation] = []
        jobs: list[tuple[uuid.UUID, Record, str]] = []
        for entry in entries:
            found = stores.get(entry.store_id)
            reason = _refusal(conn, found, entry.store_id, "Management", supported="supports_add", what="add")
            alias = (entry.alias or "").strip()
            if reason is None and found is not None:
                reason = _alias_refusal(found, alias, certificate.thumbprint) or _key_refusal(
                    found, entry.include_private_key
                )
            if reason is not None or found is None:
                failed.append(FailedOperation(str(entry.store_id), reason or ""))
                continue
            fields = {
                **_job_fields(entry.job_fields),
                "OperationType": 2,
                "Alias": alias or certificate.thumbprint.lower(),
                "Thumbprint": certificate.thumbprint,
                "EntryContents": certificate.content,
                "Overwrite": entry.overwrite,
                "PrivateKeyEntry": False,
            }
            if entry.entry_password is not None:
                fields["EntryPassword"] = entry.entry_password
            if entry.pfx_password is not None:
                fields["PfxPassword"] = entry.pfx_password
            jobs.append((uuid.uuid4(), found, json.dumps(fields)))
        _refuse(failed, len(entries), "add the certificate to")
        _insert(conn, jobs, canonical, job_type="Management", now=now)
        job_ids = [job_id for job_id, _store, _fields in jobs]
        details = {"CertificateId": certificate_id, "StoreIds": [str(found.id) for _job, found, _fields in jobs]}
        audit.note(conn, AuditAction.ADD_CERTIFICATE, _JOBS, actor=actor, at=now, ids=job_ids, details=details)
        return job_ids


def remove_certificate(
    engine: Engine, *, entries: Sequence[RemoveEntry], schedule: object, actor: str, now: datetime
) -> list[uuid.UUID]:
    """POST /CertificateStores/Certificates/Remove: a Management remove job per (store, alias); their ids. An alias
    the store's last inventory did not find is refused."""
    if not entries:
        raise InvalidRequestError("CertificateStores must name at least one certificate store.")
    bounded([entry.store_id for entry in entries])
    canonical = checked_schedule(schedule, now=now)
    with write_transaction(engine, brief=True) as conn:
        stores = store.lock_stores(conn, [entry.store_id for entry in entries])
        present = store.present_aliases(conn, pairs=[(entry.store_id, entry.alias) for entry in entries])
        failed: list[FailedOperation] = []
        jobs: list[tuple[uuid.UUID, Record, str]] = []
        for entry in entries:
            found = stores.get(entry.store_id)
            reason = _refusal(conn, found, entry.store_id, "Management", supported="supports_remove", what="remove")
            if reason is None and not entry.alias.strip():
                reason = "Alias is required: the entry to remove."
            if reason is None and (entry.store_id, entry.alias) not in present:
                reason = (
                    f"Alias {json.dumps(entry.alias)} is not in store {entry.store_id} as its last inventory found it."
                )
            if reason is not None or found is None:
                failed.append(FailedOperation(str(entry.store_id), reason or ""))
                continue
            fields = {**_job_fields(entry.job_fields), "OperationType": 3, "Alias": entry.alias}
            jobs.append((uuid.uuid4(), found, json.dumps(fields)))
        _refuse(failed, len(entries), "remove the certificate from")
        _insert(conn, jobs, canonical, job_type="Management", now=now)
        job_ids = [job_id for job_id, _store, _fields in jobs]
        details = {"Entries": [{"StoreId": str(entry.store_id), "Alias": entry.alias} for entry in entries]}
        audit.note(conn, AuditAction.REMOVE_CERTIFICATE, _JOBS, actor=actor, at=now, ids=job_ids, details=details)
        return job_ids


def schedule_reenrollment(engine: Engine, request: ReenrollmentRequest, *, actor: str, now: datetime) -> uuid.UUID:
    """POST /CertificateStores/Reenrollment: the store's orchestrator makes a new key and certificate in place."""
    if not request.subject.strip():
        raise InvalidRequestError("SubjectName is required, e.g. CN=web01.example.com.")
    with write_transaction(engine, brief=True) as conn:
        found = store.lock_stores(conn, [request.store_id]).get(request.store_id)
        reason = _refusal(
            conn, found, request.store_id, "Reenrollment", supported="supports_enrollment", what="reenroll"
        )
        if reason is None and found is not None and request.agent_id not in (None, found.agent_id):
            reason = f"AgentGuid {request.agent_id} is not the orchestrator of store {request.store_id}."
        if reason is not None or found is None:
            raise InvalidRequestError(reason or "")
        fields = {**_job_fields(request.job_properties), "Subject": request.subject.strip()}
        if request.alias:
            fields["Alias"] = request.alias
        job_id = uuid.uuid4()
        _insert(conn, [(job_id, found, json.dumps(fields))], {"Immediate": True}, job_type="Reenrollment", now=now)
        details = {"StoreId": str(request.store_id), "Subject": fields["Subject"]}
        audit.note(conn, AuditAction.SCHEDULE_REENROLLMENT, _JOBS, actor=actor, at=now, ids=[job_id], details=details)
        return job_id


def schedule_discovery(engine: Engine, request: DiscoveryRequest, *, actor: str, now: datetime) -> uuid.UUID:
    """PUT /CertificateStores/DiscoveryJob: an orchestrator looks for stores of a type; what it finds becomes
    stores awaiting approval."""
    with write_transaction(engine, brief=True) as conn:
        store_type = store.store_type_row(conn, store_type_id=request.store_type_id)
        if store_type is None:
            raise InvalidRequestError(f"Type {request.store_type_id} is not a certificate store type.")
        if not store_type.supports_discovery:
            raise InvalidRequestError(f"Store type {store_type.short_name} does not support discovery.")
        agent = _discovery_agent(conn, request)
        capability = f"CertStores.{store_type.capability}.Discovery"
        if not store.has_capability(conn, agent_id=agent.id, capability=capability):
            raise InvalidRequestError(
                f"Orchestrator {agent.id} cannot discover {store_type.short_name} stores: "
                f"it did not report the capability {capability}."
            )
        fields = {
            **request.fields,
            "StoreType": store_type.id,
            "ClientMachine": request.client_machine or agent.client_machine,
        }
        spec = _spec(
            conn, request.schedule, job_type="Discovery", capability=capability, fields=json.dumps(fields), now=now
        )
        guid = store_type.discovery_job_type
        job_id = uuid.uuid4()
        store.insert_agent_job(
            conn,
            job_id=job_id,
            agent_id=agent.id,
            spec=spec,
            job_type_guid=None if guid == capability_guid(capability) else guid,
        )
        details = {"AgentId": str(agent.id), "StoreType": store_type.short_name}
        audit.note(conn, AuditAction.SCHEDULE_DISCOVERY, _JOBS, actor=actor, at=now, ids=[job_id], details=details)
        return job_id


def _discovery_agent(conn: Connection, request: DiscoveryRequest) -> Record:
    if request.agent_id is not None:
        agent = store.agent_row(conn, agent_id=request.agent_id)
        if agent is None:
            raise InvalidRequestError(f"Orchestrator {request.agent_id} was not found.")
    else:
        if not request.client_machine:
            raise InvalidRequestError("Give AgentId or ClientMachine: the orchestrator that runs the discovery.")
        found = store.agents_by_machine(conn, client_machine=request.client_machine)
        if len(found) != 1:
            raise InvalidRequestError(
                f"{'No' if not found else 'More than one'} orchestrator has the ClientMachine "
                f"{json.dumps(request.client_machine)}; give AgentId."
            )
        agent = found[0]
    if agent.status != AgentStatus.APPROVED:
        raise InvalidRequestError(f"Orchestrator {agent.id} is not approved.")
    return agent


def _refusal(
    conn: Connection, found: Record | None, store_id: uuid.UUID, operation: str, *, supported: str, what: str
) -> str | None:
    """Why a job of `operation` cannot be scheduled on the store, or None."""
    if found is None:
        return f"Certificate store {store_id} was not found."
    if not found.approved:
        return f"Certificate store {store_id} awaits approval (POST /CertificateStores/Approve)."
    if not getattr(found, supported):
        return f"Store type {found.short_name} does not support jobs that {what} certificates."
    if found.agent_status != AgentStatus.APPROVED:
        return f"The orchestrator of store {store_id} is not approved."
    return None


def _alias_refusal(found: Record, alias: str, thumbprint: str) -> str | None:
    rule = KeyRule(found.custom_alias_allowed)
    if rule is KeyRule.FORBIDDEN and alias and alias.lower() != thumbprint.lower():
        return (
            f"Store type {found.short_name} does not allow custom aliases (the alias is the certificate's thumbprint)."
        )
    if rule is KeyRule.REQUIRED and not alias:
        return f"Store type {found.short_name} requires an Alias."
    if len(alias) > MAX_ALIAS_LENGTH:
        return f"Alias may be at most {MAX_ALIAS_LENGTH} characters long."
    return None


def _key_refusal(found: Record, include_private_key: bool) -> str | None:
    rule = KeyRule(found.private_key_allowed)
    if include_private_key or rule is KeyRule.REQUIRED:
        return (
            f"orchjobs keeps no private keys, so it cannot deploy one (store type {found.short_name} "
            f"{'requires' if rule is KeyRule.REQUIRED else 'was asked for'} a private key)."
        )
    return None


def _job_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """Entry parameters and job properties as the job carries them: JSON scalars, bounded."""
    checked: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict | list) or (isinstance(value, str) and len(value) > MAX_FIELD_TEXT):
            raise InvalidRequestError(
                f"Job field {json.dumps(key)} must be a single value of at most {MAX_FIELD_TEXT} characters."
            )
        checked[key] = value
    return checked


def _insert(
    conn: Connection,
    jobs: list[tuple[uuid.UUID, Record, str]],
    schedule: dict[str, Any],
    *,
    job_type: str,
    now: datetime,
) -> None:
    spec = _spec(conn, schedule, job_type=job_type, capability=job_type, fields="", now=now)
    guid_column = "enrollment_job_type" if job_type == "Reenrollment" else "management_job_type"

    def job_type_guid(found: Record) -> uuid.UUID | None:
        guid: uuid.UUID = getattr(found, guid_column)
        return None if guid == capability_guid(f"CertStores.{found.capability}.{job_type}") else guid

    store.insert_store_jobs(conn, jobs=jobs, spec=spec, job_type_guid=job_type_guid)


def _spec(
    conn: Connection, schedule: dict[str, Any], *, job_type: str, capability: str, fields: str, now: datetime
) -> JobSpec:
    return JobSpec(
        job_type_id=store.job_type_id(conn, name=job_type),
        capability=capability,
        schedule=json.dumps(schedule),
        schedule_type=schedule_type(schedule),
        fields=fields,
        requested_at=now,
        next_run_at=first_run_at(schedule, now),
    )


def _refuse_unknown(ids: Sequence[uuid.UUID], found: Mapping[uuid.UUID, Record]) -> None:
    failed = [
        FailedOperation(str(store_id), f"Certificate store {store_id} was not found.")
        for store_id in ids
        if store_id not in found
    ]
    _refuse(failed, len(ids), "schedule")


def _refuse(failed: list[FailedOperation], total: int, action: str) -> None:
    if failed:
        raise BulkOperationError(
            f"Cannot {action} {len(failed)} of the {total} certificate stores; nothing was scheduled.", failed
        )
