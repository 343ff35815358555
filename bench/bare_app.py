"""The HTTP floor: a bare Starlette endpoint that runs the raw page SELECT through the bare driver.

Served by uvicorn exactly like orchjobs (`uvicorn bench.bare_app:app`), with BENCH_DATABASE_URL set.
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

COLUMNS = (
    "id, job_id, agent_id, client_machine, job_type, schedule, operation_start, operation_end, message, "
    "result, status, target_path, acknowledged_at, acknowledged_by, acknowledge_note"
)
NAMES = [name.strip() for name in COLUMNS.split(",")]
PAGE_SQL = (
    f"SELECT {COLUMNS} FROM job_history WHERE (result = 4 OR result = 3) AND (status = 3 OR status = 5) "
    "ORDER BY operation_start DESC, id DESC LIMIT 50 OFFSET {offset}"
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


def page_app(page_sql: str, names: list[str]) -> Starlette:
    """An app whose /page?page=N answers page N of `page_sql` (an OFFSET placeholder) as JSON objects of `names`."""

    def page(request: Request) -> Response:
        offset = (int(request.query_params.get("page", "1")) - 1) * 50
        rows = _connection().execute(page_sql.format(offset=offset)).fetchall()
        return Response(
            orjson.dumps([dict(zip(names, row, strict=True)) for row in rows], default=str),
            media_type="application/json",
        )

    return Starlette(routes=[Route("/page", page)])


app = page_app(PAGE_SQL, NAMES)
