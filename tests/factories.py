"""Plain factory functions that arrange rows straight in the database for API tests to read."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select

from orchjobs.domain.certificates import read_certificate
from orchjobs.domain.schedules import ScheduleError, schedule_type
from orchjobs.domain.store_types import PEM
from orchjobs.store.agents import insert_session
from orchjobs.store.inventory import certificate_ids
from orchjobs.store.tables import (
    agent,
    certificate,
    certificate_store,
    certificate_store_entry,
    job_history,
    job_result_data,
    job_type,
    scheduled_job,
)

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


def add_store(
    engine: Engine,
    agent_id: uuid.UUID,
    *,
    path: str = "/etc/ssl/app.pem",
    properties: str | None = None,
    store_type_id: int = PEM.id,
    client_machine: str | None = None,
) -> uuid.UUID:
    """Insert a certificate store (PEM unless told; on its orchestrator's machine unless told) and return its id."""
    store_id = uuid.uuid4()
    with engine.begin() as conn:
        if client_machine is None:
            client_machine = conn.execute(select(agent.c.client_machine).where(agent.c.id == agent_id)).scalar_one()
        conn.execute(
            insert(certificate_store).values(
                id=store_id,
                agent_id=agent_id,
                store_type_id=store_type_id,
                client_machine=client_machine,
                store_path=path,
                properties=properties,
            )
        )
    return store_id


def add_entry(engine: Engine, store_id: uuid.UUID, alias: str, certificate_text: str, *, key: bool = False) -> None:
    """Put a certificate (base64 DER or PEM) in a store's inventory under `alias`."""
    facts = read_certificate(certificate_text)
    with engine.begin() as conn:
        ids = certificate_ids(conn, [facts], now=BASE_TIME)
        conn.execute(
            insert(certificate_store_entry).values(
                store_id=store_id, alias=alias, certificate_id=ids[facts.thumbprint], private_key_entry=key
            )
        )


def store_entries(engine: Engine, store_id: uuid.UUID) -> dict[str, tuple[str, bool]]:
    """A store's inventory: (base64 DER, private key entry) by alias."""
    stmt = (
        select(certificate_store_entry.c.alias, certificate.c.content, certificate_store_entry.c.private_key_entry)
        .join(certificate, certificate.c.id == certificate_store_entry.c.certificate_id)
        .where(certificate_store_entry.c.store_id == store_id)
    )
    with engine.connect() as conn:
        return {row.alias: (row.content, row.private_key_entry) for row in conn.execute(stmt)}


def add_session(engine: Engine, agent_id: uuid.UUID, *, created_at: datetime, expires_at: datetime) -> str:
    """Open a session for the agent as a registration does (its token kept as a digest); returns the token."""
    token = str(uuid.uuid4())
    with engine.begin() as conn:
        insert_session(conn, token=token, agent_id=agent_id, created_at=created_at, expires_at=expires_at)
    return token
