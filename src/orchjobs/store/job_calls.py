"""The statements of the orchestrator protocol's hot path (Session/Heartbeat and the job calls), written once per
dialect and run on the driver (`store.driver`). Functions take a connection and never commit.

Each call authenticates its session in the statement that reads its job: the caller's agent, when its session is
live, and its job with the run in flight, locked when the call goes on to change the job (PostgreSQL: `FOR UPDATE OF`
the scheduled job; SQLite: the call's BEGIN IMMEDIATE). Lock order is the one of `store.runs`: the scheduled job
first, then its history row.
"""

import functools
import json
import uuid
from collections import namedtuple
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from orchjobs.domain.app_settings import TRUE_WORDS, ServiceSettings
from orchjobs.domain.jobs import AgentStatus, JobResult, JobStatus, with_run_note
from orchjobs.store.agents import token_digest
from orchjobs.store.driver import DriverSql, as_uuid, in_params

_SETTING_NAMES, _SETTING_PARAMS = in_params("setting_", ServiceSettings.short_names())
_AUTO_ACKNOWLEDGE = "AutoAcknowledgeFailures"

# The caller (agent_id and status, when the session is live) and, when it is Approved, its job with the run in
# flight: one row when the session is live, none when it is not.
_CALLER_JOB = """
WITH caller AS (
    SELECT a.id AS agent_id, a.status AS agent_status
    FROM agent_session s JOIN agent a ON a.id = s.agent_id
    WHERE s.token_sha256 = :token AND s.expires_at > :now
), job AS (
    SELECT j.id, j.running_history_id, j.retry_count, j.next_run_at, j.schedule_type, j.target_path, j.fields,
           j.capability, j.certificate_store_id, t.name AS job_type, t.is_custom,
           cs.store_path, cst.short_name AS store_type, cs.properties AS store_properties,
           cst.properties AS store_type_properties,
           coalesce(cs.client_machine, a.client_machine) AS client_machine,
           h.status AS run_status, h.message AS run_note, h.operation_start AS run_start
    FROM scheduled_job j
    JOIN agent a ON a.id = j.agent_id
    JOIN job_type t ON t.id = j.job_type_id
    LEFT JOIN job_history h ON h.id = j.running_history_id AND h.operation_start = j.running_started_at
    LEFT JOIN certificate_store cs ON cs.id = j.certificate_store_id
    LEFT JOIN certificate_store_type cst ON cst.id = cs.store_type_id
    WHERE j.id = :job_id AND j.agent_id = (SELECT agent_id FROM caller WHERE agent_status = :approved)
    {lock}
){more_ctes}
SELECT caller.agent_id, caller.agent_status, job.*{more_columns}
FROM caller LEFT JOIN job ON true
"""

_LOCK = "FOR UPDATE OF j"
_PG_SETTINGS = f"(SELECT json_object_agg(short_name, value) FROM app_setting WHERE short_name IN {_SETTING_NAMES})"
_LITE_SETTINGS = f"(SELECT json_group_object(short_name, value) FROM app_setting WHERE short_name IN {_SETTING_NAMES})"

_PG_CALLER_JOB = DriverSql(_CALLER_JOB.format(lock=_LOCK, more_ctes="", more_columns=""), dialect="postgresql")
_LITE_CALLER_JOB = DriverSql(_CALLER_JOB.format(lock="", more_ctes="", more_columns=""), dialect="sqlite")
# Configuration on PostgreSQL: the caller's Waiting run becomes InProcess in the same statement, atomic by itself.
_PG_START_RUN = DriverSql(
    _CALLER_JOB.format(
        # No lock on the job: the statement changes only the run, and its UPDATE waits for, then re-reads, a run that
        # a completion or the sweeper is closing at the same moment.
        lock="",
        more_ctes=""",
started AS (
    UPDATE job_history h SET status = :in_process FROM job
    WHERE h.id = job.running_history_id AND h.operation_start = job.run_start AND h.status = :waiting
)""",
        more_columns="",
    ),
    dialect="postgresql",
)
_LITE_START_RUN = DriverSql("UPDATE job_history SET status = :in_process WHERE id = :run AND status = :waiting")
# Complete: with the settings a completion acts on (retries, automatic acknowledgement).
_PG_COMPLETING_JOB = DriverSql(
    _CALLER_JOB.format(lock=_LOCK, more_ctes="", more_columns=f", {_PG_SETTINGS} AS settings"), dialect="postgresql"
)
_LITE_COMPLETING_JOB = DriverSql(
    _CALLER_JOB.format(lock="", more_ctes="", more_columns=f", {_LITE_SETTINGS} AS settings"), dialect="sqlite"
)

_CLOSE_RUN = """
UPDATE job_history
SET status = :status, result = :result, message = :message, message_group = :message_group, operation_end = :now
WHERE id = :run AND operation_start = :run_start AND status IN (:waiting, :in_process)
"""
_END_JOB = {
    # A one-shot job whose run is over for good.
    "delete": "DELETE FROM scheduled_job WHERE id = :job_id AND next_run_at IS NULL",
    # Nothing in flight any more, and a fresh retry budget for the next run.
    "renew": "UPDATE scheduled_job SET running_history_id = NULL, retry_count = 0 WHERE id = :job_id",
    # A failed run that will be retried: one more retry counted, due again at :retry_at.
    "retry": """UPDATE scheduled_job SET running_history_id = NULL, retry_count = retry_count + 1,
                next_run_at = :retry_at WHERE id = :job_id""",
}
# AutoAcknowledgeFailures: the job's earlier open warnings and failures, served by the (job_id, operation_start) index.
_ACKNOWLEDGE_EARLIER = """
UPDATE job_history
SET status_before_ack = status, status = :acknowledged, acknowledged_at = :now, acknowledged_by = :acknowledged_by,
    acknowledge_note = :note
WHERE job_id = :job_id AND id < :run AND result IN (:warning, :failure) AND status IN (:completed, :will_retry)
"""
# PostgreSQL closes the run and ends the job in one statement; SQLite runs them one by one.
_PG_CLOSE = {
    action: DriverSql(f"WITH closed AS ({_CLOSE_RUN}) {_END_JOB[action]}", dialect="postgresql") for action in _END_JOB
}
_LITE_CLOSE_RUN = DriverSql(_CLOSE_RUN, dialect="sqlite")
_LITE_END_JOB = {action: DriverSql(sql, dialect="sqlite") for action, sql in _END_JOB.items()}
_LITE_ACKNOWLEDGE_EARLIER = DriverSql(_ACKNOWLEDGE_EARLIER, dialect="sqlite")

_STATUSES = {
    "waiting": int(JobStatus.WAITING),
    "in_process": int(JobStatus.IN_PROCESS),
    "completed": int(JobStatus.COMPLETED),
    "will_retry": int(JobStatus.COMPLETED_WILL_RETRY),
    "acknowledged": int(JobStatus.ACKNOWLEDGED),
}


@dataclass(frozen=True)
class Closing:
    """How `close_run` closes a run: its status and result, the message, and what becomes of its job (`delete` a
    one-shot job, `renew` it, or `retry` it at `retry_at`)."""

    status: int
    result: int
    message: str | None
    message_group: str | None
    job_action: str
    retry_at: datetime | None = None


def caller_job(conn: Connection, *, token: str, job_id: uuid.UUID, now: datetime) -> Any | None:
    """The caller and its job (locked), as `_CALLER_JOB` says; None for a session that is not live."""
    statement = _PG_CALLER_JOB if _postgres(conn) else _LITE_CALLER_JOB
    return _caller(statement.first(conn, **_caller_params(token, job_id, now)))


def start_run(conn: Connection, *, token: str, job_id: uuid.UUID, now: datetime) -> Any | None:
    """`caller_job`, and the run in flight made InProcess when it was Waiting."""
    params = _caller_params(token, job_id, now)
    if _postgres(conn):
        return _caller(_PG_START_RUN.first(conn, **params, **_STATUSES))
    row = _caller(_LITE_CALLER_JOB.first(conn, **params))
    if row is not None and row.run_status == JobStatus.WAITING:
        _LITE_START_RUN.run(conn, run=row.running_history_id, **_STATUSES)
    return row


def completing_job(conn: Connection, *, token: str, job_id: uuid.UUID, now: datetime) -> Any | None:
    """`caller_job` with `settings`, the ServiceSettings a completion acts on."""
    statement = _PG_COMPLETING_JOB if _postgres(conn) else _LITE_COMPLETING_JOB
    row = _caller(statement.first(conn, **_caller_params(token, job_id, now), **_SETTING_PARAMS))
    if row is None:
        return None
    values = row.settings if isinstance(row.settings, dict) else _json_object(row.settings)
    return row._replace(settings=ServiceSettings.from_values(values))


def close_run(conn: Connection, job: Any, closing: Closing, *, now: datetime) -> None:
    """Close the job's run in flight, and end, renew or retry the job."""
    params = {
        **_STATUSES,
        "status": closing.status,
        "result": closing.result,
        "message": closing.message,
        "message_group": closing.message_group,
        "now": now,
        "run": job.running_history_id,
        "run_start": job.run_start,
        "job_id": job.id,
        "retry_at": closing.retry_at,
    }
    if _postgres(conn):
        _PG_CLOSE[closing.job_action].run(conn, **params)
        return
    _LITE_CLOSE_RUN.run(conn, **params)
    _LITE_END_JOB[closing.job_action].run(conn, **params)


def _caller_params(token: str, job_id: uuid.UUID, now: datetime) -> dict[str, Any]:
    return {"token": token_digest(token), "job_id": job_id, "now": now, "approved": int(AgentStatus.APPROVED)}


def _caller(row: Any | None) -> Any | None:
    if row is None:
        return None
    guids = ("agent_id", "id", "certificate_store_id")
    return row._replace(**{name: as_uuid(getattr(row, name)) for name in guids if name in row._fields})


def _postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _json_object(value: Any) -> dict[str, str]:
    found = json.loads(value) if value else {}
    return found if isinstance(found, dict) else {}


# Session/Heartbeat: the session's agent seen now, with what the answer and dispatch need: the heartbeat interval
# setting, its capabilities, and how many of its jobs are due (an upper bound of what dispatch will hand out: it
# also checks capabilities, and skips jobs another call holds).
_PG_HEARTBEAT = DriverSql(
    """
UPDATE agent a SET last_seen = :now
FROM agent_session s
WHERE s.token_sha256 = :token AND s.expires_at > :now AND a.id = s.agent_id
RETURNING a.id AS agent_id, a.status, a.client_machine,
    (SELECT value FROM app_setting WHERE short_name = :interval_name) AS heartbeat_interval,
    (SELECT json_agg(c.capability) FROM agent_capability c WHERE c.agent_id = a.id) AS capabilities,
    (SELECT count(*) FROM scheduled_job j
     WHERE j.agent_id = a.id AND j.next_run_at <= :now AND j.running_history_id IS NULL) AS due
""",
    dialect="postgresql",
)
_LITE_HEARTBEAT = DriverSql(
    """
SELECT a.id AS agent_id, a.status, a.client_machine,
    (SELECT value FROM app_setting WHERE short_name = :interval_name) AS heartbeat_interval,
    (SELECT json_group_array(c.capability) FROM agent_capability c WHERE c.agent_id = a.id) AS capabilities,
    (SELECT count(*) FROM scheduled_job j
     WHERE j.agent_id = a.id AND j.next_run_at <= :now AND j.running_history_id IS NULL) AS due
FROM agent_session s JOIN agent a ON a.id = s.agent_id
WHERE s.token_sha256 = :token AND s.expires_at > :now
""",
    dialect="sqlite",
)
_LITE_SEEN = DriverSql("UPDATE agent SET last_seen = :now WHERE id = :agent_id", dialect="sqlite")


@dataclass(frozen=True)
class HeartbeatCaller:
    """The agent of a live session, as a heartbeat leaves it: seen now."""

    agent_id: uuid.UUID
    status: int
    client_machine: str
    heartbeat_interval: str | None  # the setting's stored text
    capabilities: tuple[str, ...]
    due: int


def beat(conn: Connection, *, token: str, interval_name: str, now: datetime) -> HeartbeatCaller | None:
    """Record that the session's agent was seen now; None for a session that is not live. One statement on
    PostgreSQL."""
    params = {"token": token_digest(token), "now": now, "interval_name": interval_name}
    if _postgres(conn):
        row = _PG_HEARTBEAT.first(conn, **params)
    else:
        row = _LITE_HEARTBEAT.first(conn, **params)
        if row is not None:
            _LITE_SEEN.run(conn, now=now, agent_id=as_uuid(row.agent_id))
    if row is None:
        return None
    capabilities = row.capabilities if isinstance(row.capabilities, list) else json.loads(row.capabilities or "[]")
    agent_id = as_uuid(row.agent_id)
    assert agent_id is not None
    return HeartbeatCaller(
        agent_id=agent_id,
        status=int(row.status),
        client_machine=row.client_machine,
        heartbeat_interval=row.heartbeat_interval,
        capabilities=tuple(name for name in capabilities if name is not None),
        due=int(row.due),
    )


# Complete with Status 2 (Success) on PostgreSQL, in one statement: authenticate, lock the job, close its run when it
# is the one in flight and the AuditId names it, end or renew the job, and acknowledge the job's earlier failures
# when AutoAcknowledgeFailures is on. A success needs nothing decided in Python between the read and the writes (no
# retry, no message group); every refusal leaves `closed` 0 and nothing changed.
_TRUE_NAMES, _TRUE_PARAMS = in_params("true_", sorted(TRUE_WORDS))
_PG_CLOSE_SUCCEEDED = DriverSql(
    f"""
WITH caller AS (
    SELECT a.id AS agent_id, a.status AS agent_status
    FROM agent_session s JOIN agent a ON a.id = s.agent_id
    WHERE s.token_sha256 = :token AND s.expires_at > :now
), job AS (
    SELECT j.id, j.running_history_id, j.next_run_at, t.name AS job_type,
           h.status AS run_status, h.message AS run_note, h.operation_start AS run_start
    FROM scheduled_job j
    JOIN job_type t ON t.id = j.job_type_id
    LEFT JOIN job_history h ON h.id = j.running_history_id AND h.operation_start = j.running_started_at
    WHERE j.id = :job_id AND j.agent_id = (SELECT agent_id FROM caller WHERE agent_status = :approved)
    FOR UPDATE OF j
), closed AS (
    UPDATE job_history h
    SET status = :completed, result = :result, message_group = NULL, operation_end = :now,
        -- what the run noted while in flight follows the orchestrator's message
        message = CASE WHEN coalesce(job.run_note, '') = '' THEN CAST(:message AS text)
                       WHEN coalesce(CAST(:message AS text), '') = '' THEN job.run_note
                       ELSE CAST(:message AS text) || ' ' || job.run_note END
    FROM job
    WHERE h.id = job.running_history_id AND h.operation_start = job.run_start AND h.id = :audit_id
      AND h.status IN (:waiting, :in_process)
    RETURNING h.id, h.job_id
), ended AS (
    DELETE FROM scheduled_job j USING closed WHERE j.id = closed.job_id AND j.next_run_at IS NULL
), renewed AS (
    UPDATE scheduled_job j SET running_history_id = NULL, retry_count = 0
    FROM closed WHERE j.id = closed.job_id AND j.next_run_at IS NOT NULL
), acknowledged AS (
    UPDATE job_history h
    SET status_before_ack = h.status, status = :acknowledged, acknowledged_at = :now,
        acknowledged_by = :acknowledged_by, acknowledge_note = :note
    FROM closed
    WHERE h.job_id = closed.job_id AND h.id < closed.id AND h.result IN (:warning, :failure)
      AND h.status IN (:completed, :will_retry)
      AND EXISTS (SELECT 1 FROM app_setting WHERE short_name = :auto_acknowledge
                  AND lower(trim(value)) IN {_TRUE_NAMES})
    RETURNING 1
)
SELECT caller.agent_id, caller.agent_status, job.*,
       (SELECT count(*) FROM closed) AS closed, (SELECT count(*) FROM acknowledged) AS acknowledged
FROM caller LEFT JOIN job ON true
""",
    dialect="postgresql",
)


def close_succeeded_run(
    conn: Connection,
    *,
    token: str,
    job_id: uuid.UUID,
    audit_id: int | None,
    message: str | None,
    acknowledged_by: str,
    note: str,
    now: datetime,
) -> Any | None:
    """Complete with Success: `caller_job`'s row with `closed` (1 when the run AuditId names was closed, else 0 and
    nothing changed) and `acknowledged` (the earlier failures AutoAcknowledgeFailures acknowledged). One statement
    on PostgreSQL; on SQLite `completing_job` and `close_run`."""
    if _postgres(conn):
        params = {
            **_caller_params(token, job_id, now),
            **_STATUSES,
            **_TRUE_PARAMS,
            "audit_id": audit_id,
            "result": int(JobResult.SUCCESS),
            "message": message,
            "acknowledged_by": acknowledged_by,
            "note": note,
            "warning": int(JobResult.WARNING),
            "failure": int(JobResult.FAILURE),
            "auto_acknowledge": _AUTO_ACKNOWLEDGE,
        }
        return _caller(_PG_CLOSE_SUCCEEDED.first(conn, **params))
    job = completing_job(conn, token=token, job_id=job_id, now=now)
    if not _closable(job, audit_id):
        return None if job is None else _extended(job, closed=0, acknowledged=0)
    assert job is not None
    closing = Closing(
        status=int(JobStatus.COMPLETED),
        result=int(JobResult.SUCCESS),
        message=with_run_note(message, job.run_note),
        message_group=None,
        job_action="delete" if job.next_run_at is None else "renew",
    )
    close_run(conn, job, closing, now=now)
    acknowledged = 0
    if job.settings.auto_acknowledge:
        acknowledge = {"acknowledged_by": acknowledged_by, "note": note, "job_id": job.id, "now": now}
        run = {"run": job.running_history_id, "warning": int(JobResult.WARNING), "failure": int(JobResult.FAILURE)}
        acknowledged = _LITE_ACKNOWLEDGE_EARLIER.run(conn, **_STATUSES, **acknowledge, **run)
    return _extended(job, closed=1, acknowledged=acknowledged)


def _extended(row: Any, **more: Any) -> Any:
    """The row with more named columns."""
    return _row_class(row._fields + tuple(more))(*row, *more.values())


@functools.cache
def _row_class(fields: tuple[str, ...]) -> Any:
    return namedtuple("Row", fields)


def _closable(job: Any | None, audit_id: int | None) -> bool:
    return (
        job is not None
        and job.agent_status == AgentStatus.APPROVED
        and job.id is not None
        and job.running_history_id == audit_id
        and job.run_status in (JobStatus.WAITING, JobStatus.IN_PROCESS)
    )
