"""Scheduling custom jobs (POST /OrchestratorJobs/Custom and /Custom/Bulk): a job of a custom job type, or
FetchLogs, on one orchestrator or on many.

The request is checked whole before anything is written: the schedule (Command's KeyfactorSchedule, Immediate when
absent), the job type (by name, any case) and the JobFields against its fields. One orchestrator must exist, be
Approved and have reported the job's capability (`Custom.<JobTypeName>`, any case; LOGS also runs FetchLogs), else
the request is a 400. In bulk, the orchestrators that cannot take the job are reported back instead, and the others
get theirs in one statement. One transaction each; a refusal changes nothing.
"""

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine

from orchjobs.domain.audit import AuditAction, AuditResource
from orchjobs.domain.capabilities import FETCH_LOGS, FETCH_LOGS_NAMES, custom_capability
from orchjobs.domain.job_types import FETCH_LOGS_FIELDS, FETCH_LOGS_JOB_TYPE, Scalar, checked_job_fields, is_name
from orchjobs.domain.jobs import AgentStatus
from orchjobs.domain.schedules import ScheduleError, canonical_schedule, first_run_at, next_run_after, schedule_type
from orchjobs.errors import InvalidRequestError
from orchjobs.query.fields import AGENT_STATUS_LABELS
from orchjobs.service import audit
from orchjobs.service.listing import condition
from orchjobs.store import custom_jobs as store
from orchjobs.store import job_types
from orchjobs.store.agent_admin import AGENTS
from orchjobs.store.custom_jobs import Candidate, JobSpec
from orchjobs.store.engine import write_transaction

__all__ = ["CustomJobRequest", "ScheduledCustomJobs", "schedule_bulk_custom_jobs", "schedule_custom_job"]


@dataclass(frozen=True)
class CustomJobRequest:
    """What a job is: its type's name, its schedule as the request carried it (None: Immediate), its JobFields."""

    job_type_name: str
    schedule: object = None
    job_fields: Mapping[str, Scalar | None] = field(default_factory=dict)


@dataclass(frozen=True)
class ScheduledCustomJobs:
    """What was scheduled: (job id, orchestrator id) per job, the orchestrators that could not take it, and what
    every job of the request shares (the type's name as stored, the canonical schedule, the checked fields)."""

    pairs: list[tuple[uuid.UUID, uuid.UUID]]
    failed_ids: list[uuid.UUID]
    job_type_name: str
    schedule: dict[str, Any]
    fields: tuple[tuple[str, str], ...]
    requested_at: datetime


@dataclass(frozen=True)
class _Plan:
    """A checked request: the jobs' shared columns and the capabilities that can run them."""

    spec: JobSpec
    capabilities: tuple[str, ...]
    job_type_name: str
    schedule: dict[str, Any]
    fields: tuple[tuple[str, str], ...]


def schedule_custom_job(
    engine: Engine, *, agent_id: uuid.UUID, request: CustomJobRequest, actor: str, now: datetime
) -> ScheduledCustomJobs:
    """Schedule the job on one orchestrator; a 400 when it does not exist, is not Approved or lacks the capability."""
    schedule = _canonical(request.schedule, now=now)
    with write_transaction(engine) as conn:
        plan = _plan(conn, request, schedule, now=now)
        found = store.lock_candidates(conn, agent_ids=[agent_id], capabilities=plan.capabilities).get(agent_id)
        refusal = _refusal(agent_id, found, plan)
        if refusal:
            raise InvalidRequestError(refusal)
        pairs = [(uuid.uuid4(), agent_id)]
        store.insert_jobs(conn, jobs=pairs, spec=plan.spec)
        _audit(conn, plan, pairs, failed=[], query=None, actor=actor, now=now)
    return _scheduled(plan, pairs, failed_ids=[])


def schedule_bulk_custom_jobs(
    engine: Engine,
    *,
    agent_ids: Sequence[uuid.UUID] | None,
    query: str | None,
    request: CustomJobRequest,
    actor: str,
    now: datetime,
    max_orchestrators: int,
    max_query_length: int,
) -> ScheduledCustomJobs:
    """Schedule the job on the orchestrators named by id and those the query (over GET /Agents' fields) selects,
    at most `max_orchestrators` of them in all; those that cannot take it are reported back, not refused."""
    ids = _distinct_ids(agent_ids, query=query, max_ids=max_orchestrators)
    where = None if query is None else condition(AGENTS, query, now=now, max_length=max_query_length)
    schedule = _canonical(request.schedule, now=now)
    with write_transaction(engine) as conn:
        plan = _plan(conn, request, schedule, now=now)
        candidates = _lock_candidates(conn, ids, where=where, plan=plan, max_orchestrators=max_orchestrators)
        chosen = list(dict.fromkeys([*ids, *candidates]))
        failed = [agent_id for agent_id in chosen if _refusal(agent_id, candidates.get(agent_id), plan)]
        refused = set(failed)
        pairs = [(uuid.uuid4(), agent_id) for agent_id in chosen if agent_id not in refused]
        store.insert_jobs(conn, jobs=pairs, spec=plan.spec)
        _audit(conn, plan, pairs, failed=failed, query=query, actor=actor, now=now)
    return _scheduled(plan, pairs, failed_ids=failed)


def _audit(
    conn: Connection,
    plan: _Plan,
    pairs: Sequence[tuple[uuid.UUID, uuid.UUID]],
    *,
    failed: Sequence[uuid.UUID],
    query: str | None,
    actor: str,
    now: datetime,
) -> None:
    """One entry for the request: the jobs made, the orchestrators they went to and those that could not take one."""
    details = {
        "JobTypeName": plan.job_type_name,
        "AgentIds": [str(agent_id) for _job_id, agent_id in pairs],
        "FailedAgentIds": [str(agent_id) for agent_id in failed],
    }
    audit.note(
        conn,
        AuditAction.SCHEDULE_CUSTOM_JOB,
        AuditResource.SCHEDULED_JOBS,
        actor=actor,
        at=now,
        ids=[job_id for job_id, _agent_id in pairs],
        query=query,
        details=details,
    )


def _distinct_ids(agent_ids: Sequence[uuid.UUID] | None, *, query: str | None, max_ids: int) -> list[uuid.UUID]:
    if query is not None and not query.strip():
        raise InvalidRequestError("Query must not be blank; it would select every orchestrator.")
    if not agent_ids and query is None:
        raise InvalidRequestError("OrchestratorIds (at least one id) or a Query over orchestrators is required.")
    ids = list(dict.fromkeys(agent_ids or ()))
    if len(ids) > max_ids:
        raise InvalidRequestError(f"OrchestratorIds may hold at most {max_ids} ids.")
    return ids


def _lock_candidates(
    conn: Connection,
    ids: list[uuid.UUID],
    *,
    where: ColumnElement[bool] | None,
    plan: _Plan,
    max_orchestrators: int,
) -> dict[uuid.UUID, Candidate]:
    """The orchestrators of the ids and of the query that exist; a 400 when there are more than the bound."""
    found = store.lock_candidates(conn, agent_ids=ids, capabilities=plan.capabilities)
    if where is not None:
        selected = store.lock_selected_candidates(
            conn, where=where, capabilities=plan.capabilities, limit=max_orchestrators + 1
        )
        found.update(selected)
        if len(selected) > max_orchestrators or len(found) > max_orchestrators:
            raise InvalidRequestError(
                f"The request selects more than {max_orchestrators} orchestrators; narrow the Query "
                "(for example with Status -eq 2) or schedule the job in parts."
            )
    return found


def _canonical(schedule: object, *, now: datetime) -> dict[str, Any]:
    """The canonical schedule; a 400 for one that is malformed or whose runs fall outside the calendar (years 1 to
    9999), which the first run and the one after it would meet."""
    try:
        canonical = canonical_schedule(schedule)
        first = first_run_at(canonical, now)
        if first is not None:
            next_run_after(canonical, first)
    except ScheduleError as exc:
        raise InvalidRequestError(f"Invalid Schedule: {exc}") from None
    except OverflowError:
        raise InvalidRequestError("Invalid Schedule: its runs fall outside the years 1 to 9999.") from None
    return canonical


def _plan(conn: Connection, request: CustomJobRequest, schedule: dict[str, Any], *, now: datetime) -> _Plan:
    """The job type (locked against a rename or a delete) and the checked fields: what every job will hold."""
    name = request.job_type_name
    found = job_types.share_by_name(conn, name=name) if is_name(name) else None
    fetch_logs = found is not None and found.name.lower() == FETCH_LOGS_JOB_TYPE.lower()
    if found is None or not (found.custom or fetch_logs):
        raise InvalidRequestError(
            f"{json.dumps(request.job_type_name)} is not a custom job type (nor FetchLogs); "
            "GET /JobTypes/Custom lists the custom job types."
        )
    declared = FETCH_LOGS_FIELDS if fetch_logs else job_types.read_fields(conn, job_type_id=found.id)
    fields = checked_job_fields(declared, request.job_fields, job_type=found.name)
    capability = FETCH_LOGS if fetch_logs else custom_capability(found.name).name
    spec = JobSpec(
        job_type_id=found.id,
        capability=capability,
        schedule=json.dumps(schedule),
        schedule_type=schedule_type(schedule),
        fields=json.dumps(dict(fields)),
        requested_at=now,
        next_run_at=first_run_at(schedule, now),
    )
    capabilities = FETCH_LOGS_NAMES if fetch_logs else (capability,)
    return _Plan(spec, capabilities, found.name, schedule, fields)


def _refusal(agent_id: uuid.UUID, found: Candidate | None, plan: _Plan) -> str | None:
    """Why the orchestrator cannot take the job, or None when it can."""
    if found is None:
        return f"Orchestrator {agent_id} was not found."
    if found.status != AgentStatus.APPROVED:
        label = AGENT_STATUS_LABELS.get(found.status, str(found.status))
        return f"Orchestrator {agent_id} is {label}, not Approved; approve it before scheduling jobs on it."
    if not found.capable:
        names = " or ".join(plan.capabilities)
        return f"Orchestrator {agent_id} cannot run {plan.job_type_name}: it did not report the capability {names}."
    return None


def _scheduled(
    plan: _Plan, pairs: list[tuple[uuid.UUID, uuid.UUID]], *, failed_ids: list[uuid.UUID]
) -> ScheduledCustomJobs:
    return ScheduledCustomJobs(
        pairs=pairs,
        failed_ids=failed_ids,
        job_type_name=plan.job_type_name,
        schedule=plan.schedule,
        fields=plan.fields,
        requested_at=plan.spec.requested_at,
    )
