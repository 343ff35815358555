"""Schemathesis against the served OpenAPI document (GET /openapi.json): every operation, the /KeyfactorAPI ones and
the rest (the orchestrator protocol, /healthz, /readyz, /metrics), on both databases, answers schema-shaped and
schema-breaking input without a 5xx, a stack trace or SQL text; every refusal of a /KeyfactorAPI call is in
Command's error shape.

Every case is sent as the administrator with Command's header, and none sent so may be refused for it (401/403), so
that each reaches the handler; the cases schemathesis makes without the credentials or the header (the document
declares both) must get Command's 401 or 400. A fixed seed and a few generated examples per operation keep the run
deterministic and short; schemathesis' coverage phase (the boundary values of every parameter, missing optional
parts) comes on top. Each backend's operations share one app and one database, so later operations meet what earlier
ones created. Nothing is excluded: a generated call that could take the administrator's identity or role away (DELETE
/Security/Identities/{id}, PUT /Security/Roles/{id}/Identities) is followed by giving them back."""

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from sqlalchemy import Engine, insert, select
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from orchjobs.app import create_app
from orchjobs.settings import Settings
from orchjobs.store.engine import make_engine
from orchjobs.store.tables import security_identity, security_identity_role
from tests.live import ADMIN, API_HEADERS

pytestmark = pytest.mark.reliability

SEED = 20251130
ADMINISTRATOR_ROLE = 1  # built in (migration 0005)
MAX_EXAMPLES = 8
ADMIN_AUTHORIZATION = "Basic " + base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode()
# What an unhandled error leaks into a body: a Python traceback, a driver's exception, SQLAlchemy's SQL dump.
LEAKS = ("Traceback (most recent call last)", "sqlalchemy.", "psycopg.", "sqlite3.", "[SQL:", "(Background on")

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": SEED,
        "headers": API_HEADERS,
        "auth": {"basic": {"username": ADMIN[0], "password": ADMIN[1]}},
        "suppress-health-check": ["all"],
        "generation": {
            "mode": "all",
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "allow-x00": True,
            "database": "none",
        },
        # The coverage phase makes schema-shaped boundary cases only: its schema-breaking ones, for every property of
        # every documented body and every list parameter, tripled the run; the examples and fuzzing phases still
        # generate schema-breaking input ("mode": "all"), and tests/api/test_api_docs.py calls every route malformed.
        "phases": {"stateful": {"enabled": False}, "coverage": {"generation": {"mode": "positive"}}},
    }
)


def _settings(database_url: str, directory: Path | None = None) -> Settings:
    return Settings(
        database_url=database_url,
        bootstrap_admin=f"{ADMIN[0]}:{ADMIN[1]}",
        db_pool_size=2,
        ca_key_file=None if directory is None else str(directory / "orchjobs-ca.key"),
        # Webhooks the fuzzer registers must not be delivered to the hosts it makes up.
        webhook_poll_seconds=3600,
    )


def _served_document() -> dict[str, Any]:
    """GET /openapi.json from an app that is not started (the document needs no database)."""
    app = create_app(_settings("sqlite://"))
    document: dict[str, Any] = TestClient(app).get("/openapi.json").raise_for_status().json()
    app.state.context.engine.dispose()
    return document


def _one_spelling(document: dict[str, Any]) -> dict[str, Any]:
    """The document without the v10 spellings of the list parameters (`pq.queryString` beside `QueryString`): one
    parser reads both, tests/api/test_api_docs.py calls every spelling, and fuzzing each twice doubled this run."""
    for item in document["paths"].values():
        for operation in item.values():
            names = {parameter["name"] for parameter in operation.get("parameters", [])}
            operation["parameters"] = [
                parameter for parameter in operation.get("parameters", []) if _v11_twin(parameter) not in names
            ]
    return document


def _v11_twin(parameter: dict[str, Any]) -> str | None:
    """`QueryString` for the query parameter `pq.queryString`; None for any other parameter."""
    prefix, dot, name = parameter["name"].rpartition(".")
    return name[:1].upper() + name[1:] if dot and parameter["in"] == "query" else None


schema = schemathesis.openapi.from_dict(_one_spelling(_served_document()), config=CONFIG)


@dataclass(frozen=True)
class Target:
    app: ASGIApp
    engine: Engine


@pytest.fixture(scope="module")
def target(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """One app per backend for all the operations, called in process (no socket: fast), and started once, as a
    server starts it: schemathesis would end an app's lifespan after each test and start it again, and the app's
    password pool, made with the app, does not come back from that."""
    directory = None if module_database_url.startswith("sqlite") else tmp_path_factory.mktemp("fuzz")
    app = create_app(_settings(module_database_url, directory))
    engine = make_engine(module_database_url)
    with TestClient(app):  # runs the lifespan
        yield Target(_without_lifespan(app), engine)
    engine.dispose()


def _without_lifespan(app: ASGIApp) -> ASGIApp:
    """`app` for HTTP, declining the lifespan protocol (an app that returns at once has none)."""

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)

    return serve


@schema.parametrize()
def test_no_server_errors(case: Any, target: Target) -> None:
    response = case.call(app=target.app)
    body = response.text
    where = f"{case.method} {case.formatted_path}"
    assert response.status_code < 500, f"{where} -> {response.status_code}: {body[:2000]}"
    leaked = [leak for leak in LEAKS if leak in body]
    assert not leaked, f"{where} leaks {leaked}: {body[:2000]}"
    if case.path.startswith("/KeyfactorAPI/"):
        # A case sent as the administrator may not be turned away: else the run tested nothing. (The document declares
        # Basic authentication, so some generated cases leave the credentials out or break them: those get a 401.)
        as_admin = response.request.headers.get("Authorization") == ADMIN_AUTHORIZATION
        refused = (403,) if not as_admin else (401, 403)
        assert response.status_code not in refused, f"{where} -> {response.status_code}: {body[:500]}"
        if response.status_code >= 400:  # Command's error shape
            error = response.json()
            assert isinstance(error, dict) and {"ErrorCode", "Message"} <= error.keys(), f"{where}: {body[:500]}"
    if case.path.startswith("/KeyfactorAPI/Security/") and case.method != "GET":
        _keep_admin(target.engine)


def _keep_admin(engine: Engine) -> None:
    """Give ADMIN back its identity and the Administrator role should a generated call have taken them (the service
    only keeps *some* security administrator): every later case must still be made as an administrator."""
    with engine.begin() as conn:
        identity = conn.scalar(select(security_identity.c.id).where(security_identity.c.account_key == ADMIN[0]))
        if identity is None:
            identity = conn.scalar(
                insert(security_identity)
                .values(account_name=ADMIN[0], account_key=ADMIN[0], identity_type="User", created_at=datetime.now(UTC))
                .returning(security_identity.c.id)
            )
        role = select(security_identity_role).where(
            security_identity_role.c.identity_id == identity, security_identity_role.c.role_id == ADMINISTRATOR_ROLE
        )
        if conn.execute(role).first() is None:
            conn.execute(insert(security_identity_role).values(identity_id=identity, role_id=ADMINISTRATOR_ROLE))
