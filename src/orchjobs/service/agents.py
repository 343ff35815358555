"""Orchestrator (agent) administration: approve, disapprove, reset, schedule FetchLogs, and request or require a new
client-authentication certificate. Orchestrators list and read through `service.listing` as the resource `AGENTS`.

Bulk actions are all or nothing: an unknown id refuses the whole request (a FailedOperation per unknown id) and
nothing changes. Each action is one transaction whose statements each address all of the request's agents at once.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine

from orchjobs.domain.audit import AuditAction, AuditEntry, AuditResource
from orchjobs.domain.capabilities import FETCH_LOGS
from orchjobs.domain.job_types import FETCH_LOGS_JOB_TYPE
from orchjobs.domain.jobs import AgentStatus, JobResult, JobStatus
from orchjobs.errors import BulkOperationError, FailedOperation, InvalidRequestError, NotFoundError
from orchjobs.query.fields import AGENT_STATUS_LABELS
from orchjobs.service import audit, events, webhook_events
from orchjobs.service.app_settings import read_service_settings
from orchjobs.service.listing import get_row
from orchjobs.store import agent_admin as store
from orchjobs.store import runs
from orchjobs.store.agent_admin import AGENTS
from orchjobs.store.engine import read_transaction, write_transaction
from orchjobs.store.rows import Record

__all__ = [
    "AGENTS",
    "LATE_AFTER_INTERVALS",
    "SILENT_AFTER_INTERVALS",
    "AgentHealth",
    "HealthReport",
    "agent_health",
    "ReenrollmentResult",
    "approve_agents",
    "disapprove_agents",
    "fetch_logs",
    "get_agent",
    "reset_agent",
    "reset_agents",
    "set_auth_certificate_reenrollment",
]

# AuthCertificateReenrollment: 0 None (unset), 1 Requested, 2 Required.
REENROLLMENT_VALUES = (0, 1, 2)
RESET_MESSAGE = "The orchestrator was reset while the job was in flight."


# Health (an extension, GET /Agents/Health): an orchestrator that registers or heartbeats every HeartbeatInterval
# minutes is Late once it was last seen more than LATE_AFTER_INTERVALS intervals ago (a heartbeat or two missed),
# and Silent past SILENT_AFTER_INTERVALS intervals (it is down, or cut off).
LATE_AFTER_INTERVALS = 2
SILENT_AFTER_INTERVALS = 10


@dataclass(frozen=True)
class AgentHealth:
    agent_id: uuid.UUID
    last_seen: datetime
    health: str  # "OK", "Late" or "Silent"


@dataclass(frozen=True)
class HealthReport:
    """The health of the asked-for orchestrators that exist, and the thresholds it was judged by."""

    heartbeat_minutes: int
    late_after_minutes: int
    silent_after_minutes: int
    agents: list[AgentHealth]


@dataclass(frozen=True)
class ReenrollmentResult:
    """What SetAuthCertificateReenrollment did: the value set, and the ids that are not agents."""

    status: int
    failed_ids: list[uuid.UUID]


def get_agent(engine: Engine, *, agent_id: uuid.UUID) -> Record:
    """One orchestrator (a row of AGENTS); NotFoundError when there is none with this id."""
    row = get_row(engine, AGENTS, key=agent_id)
    if row is None:
        raise _not_found(agent_id)
    return row


def agent_health(engine: Engine, *, agent_ids: Sequence[uuid.UUID], max_ids: int, now: datetime) -> HealthReport:
    """OK, Late or Silent for each of `agent_ids` that exists (unknown ids are left out), relative to the heartbeat
    interval setting; the classification is one SQL statement over the asked-for rows."""
    ids = list(dict.fromkeys(agent_ids))
    if len(ids) > max_ids:
        raise InvalidRequestError(f"At most {max_ids} orchestrator ids may be asked for at once; got {len(ids)}.")
    with read_transaction(engine) as conn:
        minutes = read_service_settings(conn).heartbeat_minutes
        late, silent = minutes * LATE_AFTER_INTERVALS, minutes * SILENT_AFTER_INTERVALS
        rows = (
            store.agent_health(
                conn,
                agent_ids=ids,
                late_before=now - timedelta(minutes=late),
                silent_before=now - timedelta(minutes=silent),
            )
            if ids
            else []
        )
    return HealthReport(
        heartbeat_minutes=minutes,
        late_after_minutes=late,
        silent_after_minutes=silent,
        agents=[AgentHealth(agent_id=row.id, last_seen=row.last_seen, health=row.health) for row in rows],
    )


def approve_agents(engine: Engine, *, agent_ids: Sequence[uuid.UUID], max_ids: int, actor: str, now: datetime) -> None:
    """Approved orchestrators get jobs at their next session. Approving an approved one is a no-op."""
    ids = _distinct_ids(agent_ids, max_ids=max_ids)
    with write_transaction(engine) as conn:
        _refuse_unknown(conn, ids, action="approved")
        store.set_status(conn, agent_ids=ids, status=AgentStatus.APPROVED)
        _audit(conn, AuditAction.APPROVE, ids, actor=actor, now=now)
    events.approval_changed("approved", ids)


def disapprove_agents(
    engine: Engine, *, agent_ids: Sequence[uuid.UUID], max_ids: int, actor: str, now: datetime
) -> None:
    """Disapproved orchestrators stop at once: their sessions end, and registering again is refused."""
    ids = _distinct_ids(agent_ids, max_ids=max_ids)
    with write_transaction(engine) as conn:
        _refuse_unknown(conn, ids, action="disapproved")
        store.set_status(conn, agent_ids=ids, status=AgentStatus.DISAPPROVED)
        store.delete_sessions(conn, agent_ids=ids)
        _audit(conn, AuditAction.DISAPPROVE, ids, actor=actor, now=now)
    events.approval_changed("disapproved", ids)


def reset_agents(engine: Engine, *, agent_ids: Sequence[uuid.UUID], max_ids: int, actor: str, now: datetime) -> None:
    """Command's Reset of orchestrators (see `_reset`); all or nothing."""
    ids = _distinct_ids(agent_ids, max_ids=max_ids)
    with write_transaction(engine) as conn:
        _refuse_unknown(conn, ids, action="reset")
        _reset(conn, ids, now=now)
        _audit(conn, AuditAction.RESET, ids, actor=actor, now=now)
    events.approval_changed("reset", ids)


def reset_agent(engine: Engine, *, agent_id: uuid.UUID, actor: str, now: datetime) -> None:
    """Reset one agent; an unknown id is a 404 (the id is the resource in the path)."""
    with write_transaction(engine) as conn:
        if not store.lock_agent_statuses(conn, agent_ids=[agent_id]):
            raise _not_found(agent_id)
        _reset(conn, [agent_id], now=now)
        _audit(conn, AuditAction.RESET, [agent_id], actor=actor, now=now)
    events.approval_changed("reset", [agent_id])


def fetch_logs(engine: Engine, *, agent_id: uuid.UUID, actor: str, now: datetime) -> uuid.UUID:
    """Schedule a FetchLogs job, due now, for an approved agent that can run it; returns the job id."""
    with write_transaction(engine) as conn:
        status = store.lock_agent_statuses(conn, agent_ids=[agent_id]).get(agent_id)
        if status is None:
            raise _not_found(agent_id)
        if status != AgentStatus.APPROVED:
            label = AGENT_STATUS_LABELS.get(status, str(status))
            raise InvalidRequestError(
                f"Orchestrator {agent_id} is {label}, not Approved; approve it before fetching its logs."
            )
        if not store.can_fetch_logs(conn, agent_id=agent_id):
            raise InvalidRequestError(
                f"Orchestrator {agent_id} cannot fetch logs: it did not report the {FETCH_LOGS} (or LOGS) capability."
            )
        job_type_id = store.job_type_id(conn, name=FETCH_LOGS_JOB_TYPE)
        if job_type_id is None:
            raise InvalidRequestError(
                "The FetchLogs job type is missing from the database; run `orchjobs migrate` to restore it."
            )
        job_id = store.insert_immediate_job(
            conn, agent_id=agent_id, job_type_id=job_type_id, capability=FETCH_LOGS, now=now
        )
        _audit(conn, AuditAction.FETCH_LOGS, [agent_id], actor=actor, now=now, details={"JobId": str(job_id)})
        return job_id


def set_auth_certificate_reenrollment(
    engine: Engine, *, agent_ids: Sequence[uuid.UUID], status: int, max_ids: int, actor: str, now: datetime
) -> ReenrollmentResult:
    """Set AuthCertificateReenrollment (0 None, 1 Requested, 2 Required) on the known agents; unknown
    ids are reported back rather than refused, as Command's FailedOrchestratorIds does."""
    if status not in REENROLLMENT_VALUES:
        raise InvalidRequestError(f"Status must be 0 (None), 1 (Requested) or 2 (Required); got {status}.")
    ids = _distinct_ids(agent_ids, max_ids=max_ids, label="OrchestratorIds")
    with write_transaction(engine) as conn:
        known = store.lock_agent_statuses(conn, agent_ids=ids)
        if known:
            store.set_auth_certificate_reenrollment(conn, agent_ids=list(known), value=status)
            changed = [agent_id for agent_id in ids if agent_id in known]
            _audit(conn, AuditAction.SET_REENROLLMENT, changed, actor=actor, now=now, details={"Status": status})
    return ReenrollmentResult(status=status, failed_ids=[agent_id for agent_id in ids if agent_id not in known])


def _reset(conn: Connection, agent_ids: Sequence[uuid.UUID], *, now: datetime) -> None:
    """Command's Reset: the agents' sessions, scheduled jobs and certificate stores (with their inventory) go; the
    agents become New with no known certificate. Job history stays: it is the audit, and runs still in flight are
    closed as failed (RunFailed for webhooks), since no orchestrator will report on them now."""
    store.delete_sessions(conn, agent_ids=agent_ids)
    store.delete_jobs_and_stores(conn, agent_ids=agent_ids)
    closed = runs.close_orphaned_runs(conn, message=RESET_MESSAGE, end=now)
    webhook_events.record_runs_closed(
        conn, runs=closed, status=int(JobStatus.COMPLETED), result=int(JobResult.FAILURE), at=now
    )
    store.make_new(conn, agent_ids=agent_ids)


def _audit(
    conn: Connection,
    action: AuditAction,
    ids: Sequence[uuid.UUID],
    *,
    actor: str,
    now: datetime,
    details: dict[str, object] | None = None,
) -> None:
    entry = AuditEntry(
        actor=actor, action=action, resource=AuditResource.AGENTS, row_count=len(ids), ids=ids, details=details
    )
    audit.record(conn, entry, at=now)


def _distinct_ids(
    agent_ids: Sequence[uuid.UUID], *, max_ids: int, label: str = "The list of orchestrator ids"
) -> list[uuid.UUID]:
    if not agent_ids:
        raise InvalidRequestError(f"{label} must contain at least one id.")
    ids = list(dict.fromkeys(agent_ids))
    if len(ids) > max_ids:
        raise InvalidRequestError(f"{label} may hold at most {max_ids} ids.")
    return ids


def _refuse_unknown(conn: Connection, ids: list[uuid.UUID], *, action: str) -> None:
    """Lock the agents; a FailedOperation per id that is not an agent, and nothing changes."""
    known = store.lock_agent_statuses(conn, agent_ids=ids)
    failed = [
        FailedOperation(str(agent_id), f"Orchestrator {agent_id} was not found.")
        for agent_id in ids
        if agent_id not in known
    ]
    if failed:
        raise BulkOperationError(
            f"{len(failed)} of the {len(ids)} orchestrators were not found; none was {action}.", failed
        )


def _not_found(agent_id: uuid.UUID) -> NotFoundError:
    return NotFoundError(f"Orchestrator {agent_id} was not found.")
