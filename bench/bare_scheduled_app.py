"""The HTTP floor for ScheduledJobs: a bare Starlette endpoint that runs the raw page SELECT through the bare driver
(bench/bare_app.py's approach, for the scheduled_job page).

Served by uvicorn exactly like orchjobs (`uvicorn bare_scheduled_app:app`), with BENCH_DATABASE_URL set.
No auth, no query language, no SQLAlchemy: what is left is HTTP, the driver and JSON.
"""

import os
import sqlite3
import threading

import orjson
import psycopg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

NAMES = ["Id", "ClientMachine", "Target", "Schedule", "Requested", "JobType", "AgentId", "NextRun"]
PAGE_SQL = (
    "SELECT s.id, a.client_machine, s.target_path, s.schedule, s.requested_at, t.name, s.agent_id, s.next_run_at "
    "FROM scheduled_job s JOIN agent a ON a.id = s.agent_id JOIN job_type t ON t.id = s.job_type_id "
    "WHERE s.next_run_at IS NOT NULL OR s.running_history_id IS NOT NULL "
    "ORDER BY s.requested_at DESC, s.id DESC LIMIT 50 OFFSET {offset}"
)
URL = os.environ["BENCH_DATABASE_URL"]
_local = threading.local()


def _connection():  # type: ignore[no-untyped-def]
    conn = getattr(_local, "conn", None)
    if conn is None:
        if URL.startswith("sqlite:///"):
            conn = sqlite3.connect(URL.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False)
        else:
            conn = psycopg.connect(URL.replace("postgresql+psycopg", "postgresql"), autocommit=True)
            conn.execute("SET timezone = 'UTC'")
        _local.conn = conn
    return conn


def page(request: Request) -> Response:
    offset = (int(request.query_params.get("page", "1")) - 1) * 50
    rows = _connection().execute(PAGE_SQL.format(offset=offset)).fetchall()
    return Response(
        orjson.dumps([dict(zip(NAMES, row, strict=True)) for row in rows], default=str),
        media_type="application/json",
    )


app = Starlette(routes=[Route("/page", page)])
