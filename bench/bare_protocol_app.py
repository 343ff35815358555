"""The floor for bench/protocol.py: the orchestrator protocol's three hot routes in bare Starlette.

No FastAPI, no SQLAlchemy, no sessions or auth (the SessionToken is the agent id), no envelope rules beyond
`Result`: what is left is HTTP, JSON, one thread-pool hop per call and the same database work as orchjobs, through
the bare driver (sqlite3 / psycopg 3) on the schema the orchjobs migrations create:

- Heartbeat: in one transaction (BEGIN IMMEDIATE on SQLite; SELECT … FOR UPDATE SKIP LOCKED on PostgreSQL)
  record last_seen, claim the agent's due jobs, insert a Waiting history row per job and point each job at it
  (next_run_at NULL: the benchmark's jobs run once).
- Configuration: one UPDATE that makes the caller's run in flight InProcess and returns its id (AuditId).
- Complete: in one transaction, close the caller's run in flight (Completed, Result, Message, end time) and delete
  its one-shot job.

Served like orchjobs: `uvicorn bare_protocol_app:app` (PYTHONPATH=bench) with BENCH_DATABASE_URL set and
BENCH_POOL_SIZE connections per process.
"""

import os
import queue
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

URL = os.environ["BENCH_DATABASE_URL"]
POOL_SIZE = int(os.environ.get("BENCH_POOL_SIZE", "8"))
SQLITE = URL.startswith("sqlite")
CAPABILITIES = ["custom.fetchlogs", "logs"]  # what every benchmark orchestrator registered
FETCH_LOGS_GUID = "0d8cf0c8-56ca-4b8a-b16a-c062018e170d"
WAITING, IN_PROCESS, COMPLETED = 1, 2, 3

# --- PostgreSQL ------------------------------------------------------------------------------

PG_TOUCH = "UPDATE agent SET last_seen = %s WHERE id = %s AND status = 2"
PG_CLAIM = """
SELECT j.id, j.schedule, j.schedule_type, j.target_path, j.capability, j.priority, t.name, a.client_machine
FROM scheduled_job j JOIN job_type t ON t.id = j.job_type_id JOIN agent a ON a.id = j.agent_id
WHERE j.agent_id = %s AND a.status = 2 AND j.next_run_at <= %s AND j.running_history_id IS NULL
  AND lower(j.capability) = ANY(%s)
ORDER BY j.next_run_at, j.id
FOR UPDATE OF j SKIP LOCKED
"""
PG_INSERT_RUNS = """
INSERT INTO job_history (job_id, agent_id, client_machine, job_type, schedule, schedule_type, target_path,
                         operation_start, status, result)
SELECT job_id, %s, client_machine, job_type, schedule, schedule_type, target_path, %s, 1, 0
FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[])
     AS r(job_id, client_machine, job_type, schedule, schedule_type, target_path)
RETURNING id, job_id
"""
PG_MARK = """
UPDATE scheduled_job j SET running_history_id = r.history_id, next_run_at = NULL
FROM unnest(%s::uuid[], %s::bigint[]) AS r(job_id, history_id) WHERE j.id = r.job_id
"""
PG_START = """
UPDATE job_history h SET status = 2
FROM scheduled_job j
WHERE j.id = %s AND j.agent_id = %s AND h.id = j.running_history_id AND h.status IN (1, 2)
RETURNING h.id
"""
PG_CLOSE = """
UPDATE job_history h SET status = 3, result = %s, message = %s, operation_end = %s
FROM scheduled_job j
WHERE j.id = %s AND j.agent_id = %s AND h.id = j.running_history_id AND h.id = %s AND h.status IN (1, 2)
RETURNING h.id
"""
PG_DELETE_ONE_SHOT = "DELETE FROM scheduled_job WHERE id = %s AND next_run_at IS NULL"
PG_RELEASE = "UPDATE scheduled_job SET running_history_id = NULL, retry_count = 0 WHERE id = %s"

# --- SQLite (uuids as 32 hex characters, timestamps as naive UTC text: what SQLAlchemy stores) ---------------

LITE_TOUCH = "UPDATE agent SET last_seen = ? WHERE id = ? AND status = 2"
LITE_CLAIM = """
SELECT j.id, j.schedule, j.schedule_type, j.target_path, j.capability, j.priority, t.name, a.client_machine
FROM scheduled_job j JOIN job_type t ON t.id = j.job_type_id JOIN agent a ON a.id = j.agent_id
WHERE j.agent_id = ? AND a.status = 2 AND j.next_run_at <= ? AND j.running_history_id IS NULL
  AND lower(j.capability) IN (?, ?)
ORDER BY j.next_run_at, j.id
"""
LITE_INSERT_RUN = """
INSERT INTO job_history (job_id, agent_id, client_machine, job_type, schedule, schedule_type, target_path,
                         operation_start, status, result)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, 0)
"""
LITE_MARK = "UPDATE scheduled_job SET running_history_id = ?, next_run_at = NULL WHERE id = ?"
LITE_START = """
UPDATE job_history SET status = 2
WHERE id = (SELECT running_history_id FROM scheduled_job WHERE id = ? AND agent_id = ?) AND status IN (1, 2)
RETURNING id
"""
LITE_CLOSE = """
UPDATE job_history SET status = 3, result = ?, message = ?, operation_end = ?
WHERE id = (SELECT running_history_id FROM scheduled_job WHERE id = ? AND agent_id = ?) AND id = ?
  AND status IN (1, 2)
RETURNING id
"""
LITE_DELETE_ONE_SHOT = "DELETE FROM scheduled_job WHERE id = ? AND next_run_at IS NULL"
LITE_RELEASE = "UPDATE scheduled_job SET running_history_id = NULL, retry_count = 0 WHERE id = ?"


class Pool:
    """At most POOL_SIZE connections per process, made on first use; a call waits for a free one."""

    def __init__(self, connect: Callable[[], Any], size: int) -> None:
        self._connect = connect
        self._free: queue.LifoQueue[Any] = queue.LifoQueue()
        self._slots = queue.Queue[None]()
        for _ in range(size):
            self._slots.put(None)

    @contextmanager
    def connection(self) -> Iterator[Any]:
        self._slots.get()
        try:
            try:
                conn = self._free.get_nowait()
            except queue.Empty:
                conn = self._connect()
            try:
                yield conn
            finally:
                self._free.put(conn)
        finally:
            self._slots.put(None)


def _connect_sqlite() -> sqlite3.Connection:
    conn = sqlite3.connect(URL.split(":///", 1)[1], isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def _connect_postgres() -> psycopg.Connection[Any]:
    url = URL.replace("postgresql+psycopg", "postgresql")
    return psycopg.connect(url, autocommit=True, options="-c timezone=UTC")


POOL = Pool(_connect_sqlite if SQLITE else _connect_postgres, POOL_SIZE)


def _now() -> datetime:
    return datetime.now(UTC)


def _lite_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _agent(body: dict[str, Any]) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(body.get("SessionToken")))
    except ValueError:
        return None


def _job(body: dict[str, Any]) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(body.get("JobId")))
    except ValueError:
        return None


# --- the work of each call, in a worker thread --------------------------------------------------


def heartbeat_work(agent_id: uuid.UUID) -> list[dict[str, Any]]:
    now = _now()
    with POOL.connection() as conn:
        if SQLITE:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(LITE_TOUCH, (_lite_time(now), agent_id.hex))
                jobs = conn.execute(LITE_CLAIM, (agent_id.hex, _lite_time(now), *CAPABILITIES)).fetchall()
                marks = []
                for job in jobs:
                    cursor = conn.execute(
                        LITE_INSERT_RUN, (job[0], agent_id.hex, job[7], job[6], job[1], job[2], job[3], _lite_time(now))
                    )
                    marks.append((cursor.lastrowid, job[0]))
                conn.executemany(LITE_MARK, marks)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        else:
            with conn.transaction():
                conn.execute(PG_TOUCH, (now, agent_id))
                jobs = conn.execute(PG_CLAIM, (agent_id, now, CAPABILITIES)).fetchall()
                if jobs:
                    columns = list(zip(*jobs, strict=True))
                    runs = conn.execute(
                        PG_INSERT_RUNS,
                        (agent_id, now, list(columns[0]), *(list(columns[index]) for index in (7, 6, 1, 2, 3))),
                    ).fetchall()
                    conn.execute(PG_MARK, ([run[1] for run in runs], [run[0] for run in runs]))
    return [
        {
            "JobTypeId": FETCH_LOGS_GUID,
            "JobId": str(uuid.UUID(str(job[0]))),
            "ConfigurationEndpoint": "Jobs/Configuration",
            "CompletionEndpoint": "Jobs/Complete",
            "Schedule": None,
            "Priority": job[5],
        }
        for job in jobs
    ]


def configuration_work(agent_id: uuid.UUID, job_id: uuid.UUID) -> int | None:
    with POOL.connection() as conn:
        if SQLITE:
            rows = conn.execute(LITE_START, (job_id.hex, agent_id.hex)).fetchall()
        else:
            rows = conn.execute(PG_START, (job_id, agent_id)).fetchall()
    return int(rows[0][0]) if rows else None


def complete_work(agent_id: uuid.UUID, job_id: uuid.UUID, audit_id: int, result: int, message: str) -> bool:
    now = _now()
    with POOL.connection() as conn:
        if SQLITE:
            conn.execute("BEGIN IMMEDIATE")
            try:
                closed = conn.execute(
                    LITE_CLOSE, (result, message, _lite_time(now), job_id.hex, agent_id.hex, audit_id)
                ).fetchall()
                if closed and conn.execute(LITE_DELETE_ONE_SHOT, (job_id.hex,)).rowcount == 0:
                    conn.execute(LITE_RELEASE, (job_id.hex,))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        else:
            with conn.transaction():
                closed = conn.execute(PG_CLOSE, (result, message, now, job_id, agent_id, audit_id)).fetchall()
                if closed and conn.execute(PG_DELETE_ONE_SHOT, (job_id,)).rowcount == 0:
                    conn.execute(PG_RELEASE, (job_id,))
    return bool(closed)


# --- routes ---------------------------------------------------------------------------------------


def _json(body: dict[str, Any]) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


def _refused(message: str) -> Response:
    return _json({"Result": {"Status": 3, "Error": {"Code": 4, "CodeString": "A0100004", "Message": message}}})


async def heartbeat(request: Request) -> Response:
    body = orjson.loads(await request.body())
    agent_id = _agent(body)
    if agent_id is None:
        return _json({"HeartbeatInterval": 5, "SessionValid": False, "Result": {"Status": 1}})
    jobs = await run_in_threadpool(heartbeat_work, agent_id)
    return _json({"HeartbeatInterval": 5, "SessionValid": True, "Jobs": jobs, "Result": {"Status": 1}})


async def configuration(request: Request) -> Response:
    body = orjson.loads(await request.body())
    agent_id, job_id = _agent(body), _job(body)
    if agent_id is None or job_id is None:
        return _refused("Not a job of this orchestrator.")
    audit_id = await run_in_threadpool(configuration_work, agent_id, job_id)
    if audit_id is None:
        return _refused("No run in flight.")
    return _json({"AuditId": audit_id, "JobCancelled": False, "MaxCharactersToReturn": 4000, "Result": {"Status": 1}})


async def complete(request: Request) -> Response:
    body = orjson.loads(await request.body())
    agent_id, job_id, audit_id = _agent(body), _job(body), body.get("AuditId")
    status, message = body.get("Status"), body.get("Message")
    if agent_id is None or job_id is None or not isinstance(audit_id, int) or status not in (2, 3, 4):
        return _refused("Not a run of this orchestrator.")
    closed = await run_in_threadpool(complete_work, agent_id, job_id, audit_id, status, str(message or ""))
    return _json({"Result": {"Status": 1}}) if closed else _refused("No run in flight.")


async def ready(_request: Request) -> Response:
    return _json({"Result": {"Status": 1}})


app = Starlette(
    routes=[
        Route("/KeyfactorAgents/Session/Heartbeat", heartbeat, methods=["POST"]),
        Route("/KeyfactorAgents/Jobs/Configuration", configuration, methods=["POST"]),
        Route("/KeyfactorAgents/Jobs/Complete", complete, methods=["POST"]),
        Route("/ready", ready),
    ]
)
