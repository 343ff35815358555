"""The HTTP floor for the certificate store pages: a bare Starlette endpoint that runs, through the bare driver, the
very SELECT (text and parameters) that orchjobs sent for a page, captured by bench/stores.py.

Served by uvicorn exactly like orchjobs (`uvicorn bare_stores_app:app`), with BENCH_DATABASE_URL set and
BENCH_STATEMENTS naming a pickle of {page name: (SQL, DBAPI parameters)}. `/page?name=<page name>` answers the rows as
JSON objects keyed by the SELECT's column names. No auth, no query language, no SQLAlchemy: what is left is HTTP, the
driver and JSON.
"""

import os
import pickle
from pathlib import Path
from typing import Any

import orjson
from bare_app import _connection
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

STATEMENTS: dict[str, tuple[str, Any]] = pickle.loads(Path(os.environ["BENCH_STATEMENTS"]).read_bytes())


def page(request: Request) -> Response:
    sql, params = STATEMENTS[request.query_params["name"]]
    cursor = _connection().execute(sql, params)
    names = [column[0] for column in cursor.description]
    rows = cursor.fetchall()
    return Response(
        orjson.dumps([dict(zip(names, row, strict=True)) for row in rows], default=str), media_type="application/json"
    )


def health(_request: Request) -> Response:
    return Response("ok")


app = Starlette(routes=[Route("/page", page), Route("/health", health)])
