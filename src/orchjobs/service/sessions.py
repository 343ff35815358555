"""Orchestrator sessions: registration (identity, approval, enrolment), heartbeat, and the session lookup
every job call makes. The rules are docs/orchestrator-protocol.md "Sessions", "Approval" and "Identity".
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row

from orchjobs.domain.capabilities import FETCH_LOGS, LOGS, normalize_capabilities
from orchjobs.domain.jobs import AgentPlatform, AgentStatus
from orchjobs.errors import InvalidRequestError
from orchjobs.service.dispatch import HandedOutJob, hand_out_due_jobs
from orchjobs.service.orchestrator_ca import OrchestratorCA, agent_id_of, cached_ca, thumbprint
from orchjobs.settings import Settings
from orchjobs.store import agents as store
from orchjobs.store.app_settings import get_app_setting
from orchjobs.store.engine import write_transaction

# CodeStrings of refused registrations (docs/orchestrator-protocol.md).
DISAPPROVED = "A0100002"
IDENTITY_TAKEN = "A0100003"
# Command's codes that make the C agent send a new CSR (agent-protocol.md §1.3); the admin API's
# AuthCertificateReenrollment 1 Requested / 2 Required asks for them.
RENEWAL_REQUESTED = "A0100007"
RENEWAL_REQUIRED = "A0100008"
DEFAULT_HEARTBEAT_MINUTES = 5
MAX_NAME = 255


@dataclass(frozen=True)
class Identity:
    """Who is registering: a Basic user name, or a client certificate our CA issued (its thumbprint, and the
    AgentId it was issued for)."""

    username: str | None = None
    thumbprint: str | None = None
    agent_id: uuid.UUID | None = None

    def owns(self, row: Row[Any]) -> bool:
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
    """A parsed `/Session/Register` body."""

    client_machine: str
    agent_id: uuid.UUID | None = None
    capabilities: tuple[str, ...] = ()
    platform: int = AgentPlatform.UNKNOWN
    version: str = ""
    csr: str | None = None


@dataclass(frozen=True)
class Refusal:
    code_string: str
    message: str


@dataclass(frozen=True)
class RegistrationResult:
    """A session (token, agent, jobs, maybe a new certificate), or a refusal."""

    agent_id: uuid.UUID | None = None
    token: str | None = None
    status: int | None = None
    client_machine: str = ""
    heartbeat_interval: int = DEFAULT_HEARTBEAT_MINUTES
    certificate: str | None = None
    jobs: tuple[HandedOutJob, ...] = ()
    refusal: Refusal | None = None
    capabilities: tuple[str, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class HeartbeatResult:
    valid: bool
    heartbeat_interval: int = DEFAULT_HEARTBEAT_MINUTES
    jobs: tuple[HandedOutJob, ...] = ()
    refusal: Refusal | None = None


@dataclass(frozen=True)
class SessionAgent:
    agent_id: uuid.UUID
    client_machine: str
    status: int
    capabilities: tuple[str, ...]


def parse_registration(body: Mapping[str, Any]) -> Registration:
    """A Registration from a body with lower-cased keys; a malformed field is an InvalidRequestError that says
    which one and why (the C agent would otherwise see a silent default)."""
    client_machine = body.get("clientmachine")
    if not isinstance(client_machine, str) or not client_machine.strip():
        raise InvalidRequestError("ClientMachine must be a non-empty string.")
    client_machine = client_machine.strip()
    if len(client_machine) > MAX_NAME:
        raise InvalidRequestError(f"ClientMachine must be at most {MAX_NAME} characters long.")
    return Registration(
        client_machine=client_machine,
        agent_id=_agent_id(body.get("agentid")),
        capabilities=_capabilities(body.get("capabilities")),
        platform=_platform(body.get("agentplatform")),
        version=_version(body.get("agentversion")),
        csr=_optional_string(body.get("csr"), "CSR") or None,
    )


def register(
    engine: Engine, request: Registration, *, identity: Identity, settings: Settings, now: datetime
) -> RegistrationResult:
    """Find or create the orchestrator, open a session, sign its CSR if it sent one, and hand out the jobs
    that are due when it is Approved. A bad CSR raises InvalidRequestError before anything is written."""
    ca = None
    if request.csr:
        ca = cached_ca(engine, passphrase=settings.ca_passphrase, now=now)
        ca.check_csr(request.csr, client_machine=request.client_machine)
    with write_transaction(engine) as conn:
        result = _register(conn, request, identity=identity, ca=ca, settings=settings, now=now)
    if result.refusal or result.certificate or result.status != AgentStatus.APPROVED:
        # The agent discards jobs in the answer that carries its new certificate (agent-protocol.md §9).
        return result
    assert result.agent_id is not None
    return replace(result, jobs=_hand_out(engine, agent_id=result.agent_id, capabilities=result.capabilities, now=now))


def heartbeat(engine: Engine, *, token: str, now: datetime) -> HeartbeatResult:
    """Whether the session is still valid (else the orchestrator registers again), and the jobs now due."""
    with write_transaction(engine) as conn:
        interval = _heartbeat_interval(conn)
        found = _session_agent(store.get_session_agent(conn, token=token, now=now))
        if found is None:
            return HeartbeatResult(valid=False, heartbeat_interval=interval)
        store.update_agent(conn, agent_id=found.agent_id, last_seen=now)
    if found.status == AgentStatus.DISAPPROVED:
        refusal = Refusal(DISAPPROVED, f"The orchestrator {found.client_machine!r} is disapproved.")
        return HeartbeatResult(valid=False, heartbeat_interval=interval, refusal=refusal)
    jobs: tuple[HandedOutJob, ...] = ()
    if found.status == AgentStatus.APPROVED:
        jobs = _hand_out(engine, agent_id=found.agent_id, capabilities=found.capabilities, now=now)
    return HeartbeatResult(valid=True, heartbeat_interval=interval, jobs=jobs)


def certificate_identity(engine: Engine, *, certificate: bytes, settings: Settings, now: datetime) -> Identity | None:
    """The identity a client certificate proves: only a currently valid one issued by our CA counts."""
    ca = cached_ca(engine, passphrase=settings.ca_passphrase, now=now)
    found = ca.verified_certificate(certificate, now=now)
    return Identity(thumbprint=thumbprint(found), agent_id=agent_id_of(found)) if found is not None else None


def _register(
    conn: Connection,
    request: Registration,
    *,
    identity: Identity,
    ca: OrchestratorCA | None,
    settings: Settings,
    now: datetime,
) -> RegistrationResult:
    store.lock_client_machine(conn, client_machine=request.client_machine)
    row = store.get_agent(conn, agent_id=request.agent_id) if request.agent_id else None
    named = store.find_agents_by_client_machine(conn, client_machine=request.client_machine)
    if row is None:
        # No (known) AgentId: the orchestrator is found by its name and identity together.
        row = next((candidate for candidate in named if identity.owns(candidate)), None)
    taken = [other for other in named if (row is None or other.id != row.id) and not identity.owns(other)]
    if (row is not None and not identity.owns(row)) or taken:
        victim = row if row is not None and not identity.owns(row) else taken[0]
        message = f"The orchestrator {request.client_machine!r} is registered to another identity."
        store.record_agent_event(
            conn,
            at=now,
            kind="RegistrationRefused",
            agent_id=victim.id,
            message=f"{identity} tried to register as {request.client_machine!r} (AgentId {request.agent_id}), "
            f"which belongs to another identity.",
        )
        return RegistrationResult(refusal=Refusal(IDENTITY_TAKEN, message))

    capabilities = _with_logs(normalize_capabilities(list(request.capabilities)))
    if row is None:
        agent_id = uuid.uuid4()
        status = AgentStatus.APPROVED if settings.auto_approve else AgentStatus.NEW
        store.insert_agent(
            conn,
            agent_id=agent_id,
            client_machine=request.client_machine,
            username=identity.username or "",
            platform=request.platform,
            version=request.version,
            status=status,
            last_seen=now,
            thumbprint=identity.thumbprint,
        )
        store.replace_capabilities(conn, agent_id=agent_id, capabilities=capabilities)
        current, renewal = identity.thumbprint, 0
    else:
        agent_id, status, current, renewal = row.id, row.status, row.thumbprint, row.auth_certificate_reenrollment
        if status == AgentStatus.DISAPPROVED:
            message = f"The orchestrator {row.client_machine!r} is disapproved; an administrator must approve it."
            store.update_agent(
                conn, agent_id=agent_id, last_seen=now, last_error_code=_code(DISAPPROVED), last_error_message=message
            )
            return RegistrationResult(agent_id=agent_id, status=status, refusal=Refusal(DISAPPROVED, message))
        store.update_agent(
            conn,
            agent_id=agent_id,
            client_machine=request.client_machine,
            platform=request.platform,
            version=request.version,
            last_seen=now,
            last_error_code=None,
            last_error_message=None,
        )
        if current is None and identity.thumbprint:
            store.update_agent(conn, agent_id=agent_id, thumbprint=identity.thumbprint)
            current = identity.thumbprint
        if store.get_capabilities(conn, agent_id=agent_id) != sorted(capabilities):
            store.replace_capabilities(conn, agent_id=agent_id, capabilities=capabilities)

    certificate = None
    if ca is not None and request.csr:
        certificate, new_thumbprint = ca.sign_csr(
            request.csr, client_machine=request.client_machine, agent_id=agent_id, now=now
        )
        # The previous certificate stays accepted as the legacy one until the next renewal.
        store.update_agent(
            conn,
            agent_id=agent_id,
            thumbprint=new_thumbprint,
            legacy_thumbprint=current,
            auth_certificate_reenrollment=0,
        )
    elif renewal and identity.thumbprint:
        # An administrator asked this certificate-authenticated orchestrator for a new certificate.
        code = RENEWAL_REQUIRED if renewal == 2 else RENEWAL_REQUESTED
        return RegistrationResult(
            agent_id=agent_id,
            status=status,
            refusal=Refusal(code, "Send a new CSR: the orchestrator's certificate must be renewed."),
        )

    store.delete_expired_sessions(conn, now=now, agent_id=agent_id)
    token = str(uuid.uuid4())
    expires_at = now + timedelta(hours=settings.session_hours)
    store.insert_session(conn, token=token, agent_id=agent_id, created_at=now, expires_at=expires_at)
    return RegistrationResult(
        agent_id=agent_id,
        token=token,
        status=status,
        client_machine=request.client_machine,
        heartbeat_interval=_heartbeat_interval(conn),
        certificate=certificate,
        capabilities=tuple(capabilities),
    )


def _hand_out(
    engine: Engine, *, agent_id: uuid.UUID, capabilities: Sequence[str], now: datetime
) -> tuple[HandedOutJob, ...]:
    return tuple(hand_out_due_jobs(engine, agent_id=agent_id, capabilities=capabilities, now=now))


def _session_agent(rows: Sequence[Row[Any]]) -> SessionAgent | None:
    if not rows:
        return None
    first = rows[0]
    capabilities = tuple(sorted(row.capability for row in rows if row.capability is not None))
    return SessionAgent(
        agent_id=first.agent_id, client_machine=first.client_machine, status=first.status, capabilities=capabilities
    )


def _heartbeat_interval(conn: Connection) -> int:
    row = get_app_setting(conn, short_name="AgentHeartbeatInterval")
    try:
        return int(row.value) if row is not None else DEFAULT_HEARTBEAT_MINUTES
    except ValueError:
        return DEFAULT_HEARTBEAT_MINUTES


def _with_logs(capabilities: list[str]) -> list[str]:
    # Command's docs find orchestrators that can fetch logs with `Capabilities -contains "LOGS"`, and
    # some orchestrators report only that short name: either one means FetchLogs jobs can run there.
    lowered = {name.lower() for name in capabilities}
    if FETCH_LOGS.lower() in lowered and LOGS.lower() not in lowered:
        return [*capabilities, LOGS]
    if LOGS.lower() in lowered and FETCH_LOGS.lower() not in lowered:
        return [*capabilities, FETCH_LOGS]
    return capabilities


def _code(code_string: str) -> int:
    return int(code_string, 16)


def _agent_id(value: Any) -> uuid.UUID | None:
    text = _optional_string(value, "AgentId").strip()
    if not text:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        raise InvalidRequestError(f"AgentId must be a GUID or empty; got {text[:64]!r}.") from None


def _capabilities(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidRequestError("Capabilities must be a list of strings.")
    too_long = [item for item in value if len(item) > MAX_NAME]
    if too_long:
        raise InvalidRequestError(f"A capability must be at most {MAX_NAME} characters long.")
    return tuple(value)


def _platform(value: Any) -> int:
    if value is None:
        return AgentPlatform.UNKNOWN
    valid = ", ".join(f"{member.value} {member.name}" for member in AgentPlatform)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequestError(f"AgentPlatform must be an integer ({valid}).")
    try:
        return AgentPlatform(value)
    except ValueError:
        raise InvalidRequestError(f"AgentPlatform {value} is unknown; it must be one of {valid}.") from None


def _version(value: Any) -> str:
    """A version string; the C agent sends four 16-bit fields packed in one number (major<<48 | …)."""
    if value is None:
        return ""
    if isinstance(value, str):
        if len(value.strip()) > 64:
            raise InvalidRequestError("AgentVersion must be at most 64 characters long.")
        return value.strip()
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**64:
        raise InvalidRequestError("AgentVersion must be a version string or the agent's packed 64-bit number.")
    return ".".join(str(value >> shift & 0xFFFF) for shift in (48, 32, 16, 0))


def _optional_string(value: Any, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidRequestError(f"{name} must be a string or null.")
    return value
