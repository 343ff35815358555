"""Plain factory functions that arrange rows straight in the database for API tests to read."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select

from orchjobs.domain.schedules import ScheduleError, schedule_type
from orchjobs.store.tables import job_history, job_result_data, job_type, scheduled_job

BASE_TIME = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
AGENT_ID = uuid.UUID("3f2b6a1e-58c4-4d0e-9a51-0c2d6b7f8e11")
JOB_ID = uuid.UUID("8d0c5f0a-2b7e-4c61-a1f9-5e3d2c1b0a99")


def history_row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "job_id": JOB_ID,
        "agent_id": AGENT_ID,
        "client_machine": "web-prd-01.corp.example.com",
        "job_type": "Inventory",
        "schedule": '{"Interval": {"Minutes": 60}}',
        "schedule_type": "I_60",
        "target_path": "/etc/ssl/certs/app.pem",
        "operation_start": BASE_TIME,
        "operation_end": BASE_TIME + timedelta(seconds=30),
        "message": "Inventory completed: 12 certificates",
        "result": 2,
        "status": 3,
    }
    row.update(overrides)
    return row


def add_history(engine: Engine, **overrides: Any) -> int:
    """Insert one job-history row and return its JobHistoryId."""
    with engine.begin() as conn:
        return int(conn.execute(insert(job_history).values(history_row(**overrides))).inserted_primary_key[0])


def add_result_data(engine: Engine, job_history_id: int, data: str) -> None:
    with engine.begin() as conn:
        conn.execute(insert(job_result_data).values(job_history_id=job_history_id, data=data))


def history_state(engine: Engine) -> dict[int, tuple[Any, ...]]:
    """Every row's (status, result, acknowledged_by, status_before_ack) by id: to prove what changed."""
    columns = (
        job_history.c.id,
        job_history.c.status,
        job_history.c.result,
        job_history.c.acknowledged_by,
        job_history.c.status_before_ack,
    )
    with engine.connect() as conn:
        return {row[0]: tuple(row[1:]) for row in conn.execute(select(*columns))}


def add_job(
    engine: Engine,
    agent_id: uuid.UUID,
    *,
    next_run_at: datetime | None,
    requested_at: datetime,
    type_name: str = "Inventory",
    capability: str | None = "CertStores.PEM.Inventory",
    schedule: dict[str, Any] | None = None,
    store_id: uuid.UUID | None = None,
    fields: dict[str, Any] | None = None,
    priority: int = 5,
    target_path: str | None = "/etc/ssl/app.pem",
) -> uuid.UUID:
    """Insert a scheduled job (and its job type, when there is none of that name) and return its id."""
    job_id = uuid.uuid4()
    with engine.begin() as conn:
        type_id = conn.execute(select(job_type.c.id).where(job_type.c.name == type_name)).scalar()
        if type_id is None:
            type_id = uuid.uuid4()
            conn.execute(insert(job_type).values(id=type_id, name=type_name, description="", is_custom=True))
        conn.execute(
            insert(scheduled_job).values(
                id=job_id,
                agent_id=agent_id,
                job_type_id=type_id,
                certificate_store_id=store_id,
                schedule=json.dumps(schedule) if schedule else None,
                schedule_type=_compact_form(schedule),
                target_path=target_path,
                fields=json.dumps(fields) if fields else None,
                requested_at=requested_at,
                next_run_at=next_run_at,
                capability=capability,
                priority=priority,
            )
        )
    return job_id


def _compact_form(schedule: dict[str, Any] | None) -> str | None:
    """The ScheduleType stored with a job, as dispatch reads it; None for a deliberately unreadable schedule."""
    try:
        return schedule_type(schedule)
    except ScheduleError:
        return None
