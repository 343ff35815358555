"""Arranging scheduled jobs and their runs for the ScheduledJobs, Reschedule and Unschedule tests.

Agents and jobs go straight into the database; runs are handed out with `hand_out_due_jobs` (what Register and
Heartbeat call) and closed through the real Jobs/Complete call, so the closing rule under test is the service's.
Every client here runs on the fixed clock NOW.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select, update
from starlette.testclient import TestClient

from orchjobs.domain.app_settings import ServiceSettings
from orchjobs.service.dispatch import HandedOutJob, hand_out_due_jobs
from orchjobs.settings import Settings
from orchjobs.store.tables import (
    agent,
    agent_capability,
    app_setting,
    job_history,
    job_type,
    scheduled_job,
)
from tests import factories
from tests.conftest import api_client

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
CAPABILITY = {
    "Inventory": "CertStores.PEM.Inventory",
    "Management": "CertStores.PEM.Management",
    "Reenrollment": "CertStores.PEM.Reenrollment",
    "Discovery": "CertStores.PEM.Discovery",
    "FetchLogs": "Custom.FetchLogs",
}
CUSTOM_CAPABILITY = "Custom.RestartWebService"
CAPABILITIES = (*CAPABILITY.values(), CUSTOM_CAPABILITY)
WEEKLY = {"Weekly": {"Days": [1, 3], "Time": "2026-11-30T08:30:00Z"}}
MONTHLY = {"Monthly": {"Day": 15, "Time": "2026-12-15T06:00:00Z"}}
HOURLY = {"Interval": {"Minutes": 60}}


def add_agent(engine: Engine, *, name: str = "web01.example.com") -> uuid.UUID:
    """An approved orchestrator that can run every job these tests schedule."""
    agent_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(insert(agent).values(id=agent_id, client_machine=name, username="svc", status=2, last_seen=NOW))
        conn.execute(insert(agent_capability), [{"agent_id": agent_id, "capability": c} for c in CAPABILITIES])
    return agent_id


def add_job(
    engine: Engine,
    agent_id: uuid.UUID,
    type_name: str = "Management",
    *,
    schedule: dict[str, Any] | None = None,
    next_run_at: datetime | None = NOW,
    requested_at: datetime = NOW - timedelta(days=1),
    **values: Any,
) -> uuid.UUID:
    """A scheduled job of a built-in type (its capability) or, for any other name, of a custom type."""
    return factories.add_job(
        engine,
        agent_id,
        type_name=type_name,
        capability=CAPABILITY.get(type_name, CUSTOM_CAPABILITY),
        schedule=schedule,
        next_run_at=next_run_at,
        requested_at=requested_at,
        **values,
    )


def add_run(engine: Engine, job_id: uuid.UUID, *, result: int = 4, status: int = 3, **values: Any) -> int:
    """A history row of the job (a failed, finished run unless told otherwise), with the job's own values."""
    job = job_row(engine, job_id)
    with engine.connect() as conn:
        type_name = conn.execute(select(job_type.c.name).where(job_type.c.id == job.job_type_id)).scalar_one()
    return factories.add_history(
        engine,
        job_id=job_id,
        agent_id=job.agent_id,
        job_type=type_name,
        schedule=job.schedule,
        schedule_type=job.schedule_type,
        result=result,
        status=status,
        **values,
    )


def hand_out(engine: Engine, agent_id: uuid.UUID, *, now: datetime = NOW) -> list[uuid.UUID]:
    """The ids of the jobs a Heartbeat of the agent at `now` is handed."""
    jobs: list[HandedOutJob] = hand_out_due_jobs(engine, agent_id=agent_id, capabilities=CAPABILITIES, now=now)
    return [job.job_id for job in jobs]


def runs(engine: Engine, job_id: uuid.UUID) -> list[Any]:
    """The job's history rows, oldest first."""
    with engine.connect() as conn:
        stmt = select(job_history).where(job_history.c.job_id == job_id).order_by(job_history.c.id)
        return list(conn.execute(stmt))


def job_row(engine: Engine, job_id: uuid.UUID) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(scheduled_job).where(scheduled_job.c.id == job_id)).first()


def snapshot(engine: Engine) -> tuple[Any, ...]:
    """Every scheduled job and history row: what a refused request must leave as it was."""
    with engine.connect() as conn:
        return tuple(
            sorted(tuple(str(value) for value in row) for row in conn.execute(select(table)))
            for table in (scheduled_job, job_history)
        )


def open_session(engine: Engine, agent_id: uuid.UUID) -> str:
    return factories.add_session(engine, agent_id, created_at=NOW, expires_at=NOW + timedelta(days=30))


def complete(agents: TestClient, engine: Engine, job_id: uuid.UUID, *, status: int, message: str = "") -> Any:
    """Jobs/Complete of the job's run in flight, as its orchestrator reports it; the protocol's answer."""
    job = job_row(engine, job_id)
    body = {
        "SessionToken": open_session(engine, job.agent_id),
        "JobId": str(job_id),
        "AuditId": job.running_history_id,
        "Status": status,
        "Message": message,
    }
    response = agents.post("/KeyfactorAgents/Jobs/Complete", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def run_job(agents: TestClient, engine: Engine, job_id: uuid.UUID, *, status: int, now: datetime = NOW) -> int:
    """Hand the job out at `now` (with the agent's other due jobs), unless a run of it is already in flight, and
    complete that run with `status` (2 Success, 3 Warning, 4 Failure); its AuditId."""
    if job_row(engine, job_id).running_history_id is None:
        assert job_id in hand_out(engine, job_row(engine, job_id).agent_id, now=now)
    audit_id: int = job_row(engine, job_id).running_history_id
    assert complete(agents, engine, job_id, status=status) == {"Result": {"Status": 1}}
    return audit_id


def set_app_setting(engine: Engine, short_name: str, value: int) -> None:
    with engine.begin() as conn:
        conn.execute(update(app_setting).where(app_setting.c.short_name == short_name).values(value=str(value)))


def restore_app_settings(engine: Engine) -> None:
    """Put back the settings a test changed (a PostgreSQL test database is reused)."""
    with engine.begin() as conn:
        for name, value in ServiceSettings().as_values().items():
            conn.execute(update(app_setting).where(app_setting.c.short_name == name).values(value=str(value)))


@contextmanager
def clients_at_now(settings: Settings) -> Iterator[tuple[TestClient, TestClient]]:
    """(administrator, orchestrator): the admin API with Basic credentials and Command's header, and the orchestrator
    protocol without either; both on the clock NOW."""
    with (
        api_client(settings, clock=lambda: NOW) as admin,
        api_client(settings, auth=None, headers=None, clock=lambda: NOW) as agents,
    ):
        yield admin, agents
