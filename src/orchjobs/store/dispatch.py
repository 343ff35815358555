"""Dispatch: claiming the due jobs of an orchestrator and starting their runs. Functions take a connection and never
commit. On PostgreSQL the claims use `FOR UPDATE … SKIP LOCKED`; SQLite is serialized by BEGIN IMMEDIATE instead.
Every heartbeat that finds jobs due makes these statements, so they are written once per dialect and run on the
driver (store.driver); PostgreSQL inserts and marks a whole claim with one statement each.
"""

import json
import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from orchjobs.domain.jobs import AgentStatus
from orchjobs.store.driver import DriverSql, as_uuid

_CLAIM = """
SELECT j.id, j.schedule, j.schedule_type, j.target_path, j.capability, j.job_type_guid, j.priority,
       t.name AS job_type, a.client_machine
FROM scheduled_job j JOIN job_type t ON t.id = j.job_type_id JOIN agent a ON a.id = j.agent_id
WHERE j.agent_id = :agent_id AND a.status = :approved AND j.next_run_at <= :now AND j.running_history_id IS NULL
  AND lower(j.capability) {capabilities}
ORDER BY j.next_run_at, j.id
{lock}
"""
_PG_CLAIM = DriverSql(
    _CLAIM.format(capabilities="= ANY(:capabilities)", lock="FOR UPDATE OF j SKIP LOCKED"), dialect="postgresql"
)
_LITE_CLAIM = DriverSql(
    _CLAIM.format(capabilities="IN (SELECT value FROM json_each(:capabilities))", lock=""), dialect="sqlite"
)
_RUN_COLUMNS = (
    "job_id",
    "agent_id",
    "client_machine",
    "job_type",
    "schedule",
    "schedule_type",
    "target_path",
    "operation_start",
    "status",
    "result",
)
_PG_TYPES = ("uuid", "uuid", "text", "text", "text", "text", "text", "timestamptz", "smallint", "smallint")
_PG_INSERT_RUNS = DriverSql(
    f"INSERT INTO job_history ({', '.join(_RUN_COLUMNS)}) SELECT * FROM unnest("
    + ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in zip(_RUN_COLUMNS, _PG_TYPES, strict=True))
    + ") RETURNING id, job_id",
    dialect="postgresql",
)
_LITE_INSERT_RUN = DriverSql(
    f"INSERT INTO job_history ({', '.join(_RUN_COLUMNS)}) VALUES ({', '.join(f':{name}' for name in _RUN_COLUMNS)})"
    " RETURNING id",
    dialect="sqlite",
)
_PG_MARK = DriverSql(
    """
UPDATE scheduled_job j SET running_history_id = r.run, running_started_at = :started_at, next_run_at = r.next_run
FROM unnest(CAST(:ids AS uuid[]), CAST(:runs AS bigint[]), CAST(:next_runs AS timestamptz[])) AS r(id, run, next_run)
WHERE j.id = r.id
""",
    dialect="postgresql",
)
_LITE_MARK = DriverSql(
    "UPDATE scheduled_job SET running_history_id = :run, running_started_at = :started_at, next_run_at = :next_run "
    "WHERE id = :id",
    dialect="sqlite",
)


def claim_due_jobs(
    conn: Connection, *, agent_id: uuid.UUID, capabilities: Collection[str], now: datetime
) -> Sequence[Any]:
    """The agent's jobs that are due, not running, and of a capability it has (lower-cased names), locked.

    Rows another transaction holds are skipped (PostgreSQL): that transaction is handing them out.
    """
    if not capabilities:
        return []
    params = {"agent_id": agent_id, "approved": int(AgentStatus.APPROVED), "now": now}
    if conn.dialect.name == "postgresql":
        rows = _PG_CLAIM.rows(conn, capabilities=sorted(capabilities), **params)
    else:
        rows = _LITE_CLAIM.rows(conn, capabilities=json.dumps(sorted(capabilities)), **params)
    return [row._replace(id=as_uuid(row.id), job_type_guid=as_uuid(row.job_type_guid)) for row in rows]


def insert_runs(conn: Connection, *, runs: Sequence[dict[str, Any]]) -> list[int]:
    """Insert history rows (dicts of job_history columns; schedule, schedule_type and target_path may be left out);
    their ids, in the order given. One statement on PostgreSQL."""
    if not runs:
        return []
    if conn.dialect.name != "postgresql":
        return [_LITE_INSERT_RUN.rows(conn, **_run_values(run))[0].id for run in runs]
    columns = {name: [_run_values(run)[name] for run in runs] for name in _RUN_COLUMNS}
    ids = {job_id: history_id for history_id, job_id in _PG_INSERT_RUNS.rows(conn, **columns)}
    return [ids[run["job_id"]] for run in runs]


def mark_handed_out(
    conn: Connection, *, jobs: Sequence[tuple[uuid.UUID, int, datetime | None]], started_at: datetime
) -> None:
    """Set (job id, running history id, next run) on each job, and the runs' OperationStart; one statement on
    PostgreSQL."""
    if conn.dialect.name == "postgresql":
        ids, runs, next_runs = (list(column) for column in zip(*jobs, strict=True))
        _PG_MARK.run(conn, ids=ids, runs=runs, next_runs=next_runs, started_at=started_at)
        return
    for job_id, run, next_run in jobs:
        _LITE_MARK.run(conn, id=job_id, run=run, next_run=next_run, started_at=started_at)


def _run_values(run: dict[str, Any]) -> dict[str, Any]:
    return {name: run.get(name) for name in _RUN_COLUMNS}
