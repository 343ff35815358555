"""Orchestrator sessions: registration (identity, approval, enrolment) and the heartbeat. The rules are
docs/orchestrator-protocol.md "Sessions", "Approval" and "Identity"."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine

from orchjobs.domain.app_settings import ServiceSettings
from orchjobs.domain.capabilities import normalize_capabilities, with_fetch_logs_names
from orchjobs.domain.jobs import AgentPlatform, AgentStatus
from orchjobs.errors import (
    CertificateRenewalRequestedError,
    CertificateRenewalRequiredError,
    IdentityTakenError,
    OrchestratorDisapprovedError,
    ProtocolRefusalError,
)
from orchjobs.service import events
from orchjobs.service.app_settings import read_service_settings
from orchjobs.service.dispatch import HandedOutJob, hand_out_due_jobs
from orchjobs.service.orchestrator_ca import OrchestratorCA, agent_id_of, cached_ca, thumbprint
from orchjobs.settings import Settings
from orchjobs.store import agents as store
from orchjobs.store import job_calls as calls
from orchjobs.store.engine import write_transaction
from orchjobs.store.rows import Record


@dataclass(frozen=True)
class Identity:
    """Who is registering: a Basic user name, or a client certificate our CA issued (its thumbprint, and the
    AgentId it was issued for)."""

    username: str | None = None
    thumbprint: str | None = None
    agent_id: uuid.UUID | None = None

    def owns(self, row: Record) -> bool:
        if self.thumbprint is not None:
            # A reset orchestrator's certificates are forgotten; one we issued for its AgentId claims it again
            # (it is New after a reset, so it gets no jobs until it is approved again).
            forgotten = row.thumbprint is None and row.legacy_thumbprint is None and row.id == self.agent_id
            return forgotten or self.thumbprint in (row.thumbprint, row.legacy_thumbprint)
        return self.username is not None and row.username.casefold() == self.username.casefold()

    def __str__(self) -> str:
        return f"certificate {self.thumbprint}" if self.thumbprint else f"user {self.username!r}"


@dataclass(frozen=True)
class Registration:
    """A `Session/Register` call: who the orchestrator says it is, what it can do, and a CSR to enrol with."""

    client_machine: str
    agent_id: uuid.UUID | None = None
    capabilities: tuple[str, ...] = ()
    platform: int = AgentPlatform.UNKNOWN
    version: str = ""
    csr: str | None = None


@dataclass(frozen=True)
class OpenedSession:
    """A new session: its token, the orchestrator, when to call again, maybe a new certificate, and the jobs due."""

    agent_id: uuid.UUID
    token: str
    status: int
    client_machine: str
    heartbeat_interval: int
    capabilities: tuple[str, ...]
    certificate: str | None = None
    jobs: tuple[HandedOutJob, ...] = ()


@dataclass(frozen=True)
class Heartbeat:
    """Whether the session is still valid (else the orchestrator registers again), and the jobs now due."""

    valid: bool
    heartbeat_interval: int
    jobs: tuple[HandedOutJob, ...] = ()


@dataclass(frozen=True)
class _Enrolled:
    """The orchestrator a registration is for, once found or created."""

    agent_id: uuid.UUID
    status: int
    thumbprint: str | None
    renewal: int


def register(
    engine: Engine, registration: Registration, *, identity: Identity, settings: Settings, now: datetime
) -> OpenedSession:
    """Find or create the orchestrator, open a session, sign its CSR if it sent one, and hand out the jobs that are
    due when it is Approved. A bad CSR raises InvalidRequestError before anything is written; a refusal keeps what
    it recorded (the attempt, the orchestrator's last error)."""
    ca = None
    if registration.csr:
        ca = cached_ca(engine, settings=settings, now=now)
        ca.check_csr(registration.csr, client_machine=registration.client_machine)
    try:
        with write_transaction(engine, commit_on=(ProtocolRefusalError,), brief=True) as conn:
            session = _register(conn, registration, identity=identity, ca=ca, settings=settings, now=now)
    except ProtocolRefusalError as refusal:
        events.registration_refused(registration.client_machine, identity=str(identity), reason=refusal.message)
        raise
    events.registered(
        session.agent_id, session.client_machine, status=AgentStatus(session.status).name, identity=str(identity)
    )
    if session.certificate or session.status != AgentStatus.APPROVED:
        # The agent discards jobs in the answer that carries its new certificate (agent-protocol.md §9).
        return session
    return replace(session, jobs=_hand_out(engine, session.agent_id, session.capabilities, now=now))


_INTERVAL = "AgentHeartbeatInterval"


def heartbeat(engine: Engine, *, token: str, now: datetime) -> Heartbeat:
    """Whether the session is still valid, and the jobs now due; a Disapproved orchestrator is refused. One
    statement on PostgreSQL when no job is due (store.job_calls.beat)."""
    with write_transaction(engine, brief=True, one_statement=True) as conn:
        found = calls.beat(conn, token=token, interval_name=_INTERVAL, now=now)
        if found is None:
            return Heartbeat(valid=False, heartbeat_interval=read_service_settings(conn).heartbeat_minutes)
    interval = ServiceSettings.from_values({_INTERVAL: found.heartbeat_interval or ""}).heartbeat_minutes
    events.note_agent(found.agent_id)
    if found.status == AgentStatus.DISAPPROVED:
        events.refused("Heartbeat", agent_id=found.agent_id, job_id=None, code="-", reason="disapproved")
        raise OrchestratorDisapprovedError(
            f"The orchestrator {found.client_machine!r} is disapproved.", heartbeat_interval=interval
        )
    jobs: tuple[HandedOutJob, ...] = ()
    if found.status == AgentStatus.APPROVED and found.due:
        jobs = _hand_out(engine, found.agent_id, found.capabilities, now=now)
    return Heartbeat(valid=True, heartbeat_interval=interval, jobs=jobs)


def certificate_identity(engine: Engine, *, certificate: bytes, settings: Settings, now: datetime) -> Identity | None:
    """The identity a client certificate proves: only a currently valid one issued by our CA counts."""
    ca = cached_ca(engine, settings=settings, now=now)
    found = ca.verified_certificate(certificate, now=now)
    return Identity(thumbprint=thumbprint(found), agent_id=agent_id_of(found)) if found is not None else None


def _register(
    conn: Connection,
    registration: Registration,
    *,
    identity: Identity,
    ca: OrchestratorCA | None,
    settings: Settings,
    now: datetime,
) -> OpenedSession:
    store.lock_client_machine(conn, client_machine=registration.client_machine)
    row = _owned_orchestrator(conn, registration, identity=identity, now=now)
    capabilities = with_fetch_logs_names(normalize_capabilities(list(registration.capabilities)))
    if row is None:
        enrolled = _enrol(conn, registration, identity=identity, capabilities=capabilities, settings=settings, now=now)
    else:
        enrolled = _update(conn, row, registration, identity=identity, capabilities=capabilities, now=now)
    certificate = None
    if ca is not None and registration.csr:
        certificate = _issue_certificate(conn, ca, registration, enrolled=enrolled, now=now)
    elif enrolled.renewal and identity.thumbprint:
        # An administrator asked this certificate-authenticated orchestrator for a new certificate
        # (AuthCertificateReenrollment 1 Requested, 2 Required).
        renewal = CertificateRenewalRequiredError if enrolled.renewal == 2 else CertificateRenewalRequestedError
        raise renewal("Send a new CSR: the orchestrator's certificate must be renewed.")
    # A registration ends the orchestrator's older sessions: a token handed out before (to this orchestrator or to
    # whoever copied it) stops working now, in the transaction that opens the new one.
    store.end_sessions(conn, agent_id=enrolled.agent_id)
    token = str(uuid.uuid4())
    expires_at = now + timedelta(hours=settings.session_hours)
    store.insert_session(conn, token=token, agent_id=enrolled.agent_id, created_at=now, expires_at=expires_at)
    return OpenedSession(
        agent_id=enrolled.agent_id,
        token=token,
        status=enrolled.status,
        client_machine=registration.client_machine,
        heartbeat_interval=read_service_settings(conn).heartbeat_minutes,
        capabilities=tuple(capabilities),
        certificate=certificate,
    )


def _owned_orchestrator(
    conn: Connection, registration: Registration, *, identity: Identity, now: datetime
) -> Record | None:
    """The orchestrator the registration is for: by AgentId, else by name and identity together; None for a new
    one. IdentityTakenError, recorded, when the AgentId or the name belongs to another identity."""
    row = store.get_agent(conn, agent_id=registration.agent_id) if registration.agent_id else None
    named = store.find_agents_by_client_machine(conn, client_machine=registration.client_machine)
    if row is None:
        row = next((candidate for candidate in named if identity.owns(candidate)), None)
    taken = [other for other in named if (row is None or other.id != row.id) and not identity.owns(other)]
    if row is not None and not identity.owns(row):
        taken.insert(0, row)
    if not taken:
        return row
    name = registration.client_machine
    store.record_agent_event(
        conn,
        at=now,
        kind="RegistrationRefused",
        agent_id=taken[0].id,
        message=f"{identity} tried to register as {name!r} (AgentId {registration.agent_id}), "
        f"which belongs to another identity.",
    )
    raise IdentityTakenError(f"The orchestrator {name!r} is registered to another identity.")


def _enrol(
    conn: Connection,
    registration: Registration,
    *,
    identity: Identity,
    capabilities: list[str],
    settings: Settings,
    now: datetime,
) -> _Enrolled:
    """A new orchestrator: New, or Approved at once with ORCHJOBS_AUTO_APPROVE."""
    agent_id = uuid.uuid4()
    status = AgentStatus.APPROVED if settings.auto_approve else AgentStatus.NEW
    store.insert_agent(
        conn,
        agent_id=agent_id,
        client_machine=registration.client_machine,
        username=identity.username or "",
        platform=registration.platform,
        version=registration.version,
        status=status,
        last_seen=now,
        thumbprint=identity.thumbprint,
    )
    store.replace_capabilities(conn, agent_id=agent_id, capabilities=capabilities)
    return _Enrolled(agent_id=agent_id, status=status, thumbprint=identity.thumbprint, renewal=0)


def _update(
    conn: Connection,
    row: Record,
    registration: Registration,
    *,
    identity: Identity,
    capabilities: list[str],
    now: datetime,
) -> _Enrolled:
    """A known orchestrator registering again: what it reports now replaces what it reported before. A Disapproved
    one is refused, and the refusal kept as its last error."""
    if row.status == AgentStatus.DISAPPROVED:
        refusal = OrchestratorDisapprovedError(
            f"The orchestrator {row.client_machine!r} is disapproved; an administrator must approve it."
        )
        store.update_agent(
            conn,
            agent_id=row.id,
            last_seen=now,
            last_error_code=int(refusal.code, 16),
            last_error_message=refusal.message,
        )
        raise refusal
    store.update_agent(
        conn,
        agent_id=row.id,
        client_machine=registration.client_machine,
        platform=registration.platform,
        version=registration.version,
        last_seen=now,
        last_error_code=None,
        last_error_message=None,
    )
    current = row.thumbprint
    if current is None and identity.thumbprint:
        store.update_agent(conn, agent_id=row.id, thumbprint=identity.thumbprint)
        current = identity.thumbprint
    if store.get_capabilities(conn, agent_id=row.id) != sorted(capabilities):
        store.replace_capabilities(conn, agent_id=row.id, capabilities=capabilities)
    return _Enrolled(agent_id=row.id, status=row.status, thumbprint=current, renewal=row.auth_certificate_reenrollment)


def _issue_certificate(
    conn: Connection, ca: OrchestratorCA, registration: Registration, *, enrolled: _Enrolled, now: datetime
) -> str:
    """Sign the registration's CSR. The previous certificate stays accepted as the legacy one until the next
    renewal."""
    assert registration.csr is not None
    certificate, new_thumbprint = ca.sign_csr(
        registration.csr, client_machine=registration.client_machine, agent_id=enrolled.agent_id, now=now
    )
    store.update_agent(
        conn,
        agent_id=enrolled.agent_id,
        thumbprint=new_thumbprint,
        legacy_thumbprint=enrolled.thumbprint,
        auth_certificate_reenrollment=0,
    )
    return certificate


def _hand_out(
    engine: Engine, agent_id: uuid.UUID, capabilities: Sequence[str], *, now: datetime
) -> tuple[HandedOutJob, ...]:
    return tuple(hand_out_due_jobs(engine, agent_id=agent_id, capabilities=capabilities, now=now))
