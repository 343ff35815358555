"""Dispatch (docs/orchestrator-protocol.md "Dispatch"): due scheduled jobs become runs in flight (history Status 1
Waiting) when their orchestrator registers or sends a heartbeat, each handed out once."""

import json
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from orchjobs.domain.capabilities import capability_guid, normalize_capabilities
from orchjobs.domain.jobs import JobResult, JobStatus
from orchjobs.domain.schedules import ScheduleError, next_run_after, schedule_type
from orchjobs.errors import StoreUnavailableError
from orchjobs.service import events
from orchjobs.store import dispatch as store
from orchjobs.store.engine import write_transaction
from orchjobs.store.rows import Record

log = logging.getLogger(__name__)

DEFAULT_CLAIM_RETRIES = 2


@dataclass(frozen=True)
class HandedOutJob:
    """One job for `Session.Jobs[]`: the capability GUID, the scheduled job's id, the agent's schedule form."""

    job_type_id: uuid.UUID
    job_id: uuid.UUID
    schedule: str | None
    priority: int


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
            if attempt == attempts or not exc.rolled_back_on_conflict:
                raise
            log.warning("dispatch for agent %s rolled back on a conflict; trying again", agent_id)
            time.sleep(0.01 * attempt)
    raise AssertionError("unreachable")


def _hand_out(engine: Engine, *, agent_id: uuid.UUID, capabilities: set[str], now: datetime) -> list[HandedOutJob]:
    with write_transaction(engine, brief=True) as conn:
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
            started_at=now,
        )
    for job in jobs:
        events.handed_out(agent_id, job.client_machine, job_id=job.id, job_type=job.job_type)
    return [
        HandedOutJob(
            # A store type may name its own JobTypeIds; every other job is known by its capability's.
            job_type_id=job.job_type_guid or capability_guid(job.capability),
            job_id=job.id,
            schedule=form,
            priority=job.priority,
        )
        for job, (_, form) in zip(jobs, plans, strict=True)
    ]


def _schedule_plan(job: Record, now: datetime) -> tuple[datetime | None, str | None]:
    """(next run, agent schedule form) of a job being handed out. A schedule that cannot be read runs this
    once and no more: dispatch must not fail for every job of the agent because of one bad row."""
    try:
        schedule = json.loads(job.schedule) if job.schedule else None
        return next_run_after(schedule, now), schedule_type(schedule)
    except (ValueError, OverflowError, ScheduleError) as exc:
        log.warning("scheduled job %s has an unreadable schedule (%s); it runs once", job.id, exc)
        return None, None
