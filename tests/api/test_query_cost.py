"""Query cost: every statement runs under a time budget; one past it is stopped in the database and answered 400,
naming the budget, with nothing changed. A read whose client disconnects is stopped in the database."""

import base64
import logging
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient
from typer.testing import CliRunner

from orchjobs import cli
from orchjobs.service.database import refresh_statistics
from orchjobs.service.listing import condition
from orchjobs.service.seeding import seed_database
from orchjobs.settings import Settings
from orchjobs.store.engine import make_engine, normalize_url
from orchjobs.store.history import JOB_HISTORY
from orchjobs.store.tables import job_history
from tests.conftest import POSTGRES_URL, api_client
from tests.live import ADMIN, running_server

HISTORY = "/KeyfactorAPI/OrchestratorJobs/JobHistory"
ACKNOWLEDGE = "/KeyfactorAPI/OrchestratorJobs/Acknowledge"
# Forty text scans of every row, none of them matching: slow on a seeded history whatever the database.
SLOW_QUERY = " OR ".join(f'Message -contains "no such text {n}"' for n in range(40))


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    seed_database(engine, agents=5, history=20_000, seed=7)
    return engine


@contextmanager
def _client(settings: Settings, **budgets: float) -> Iterator[TestClient]:
    with api_client(settings.model_copy(update=budgets)) as client:
        yield client


def test_a_read_past_its_budget_is_a_400_naming_the_budget(settings: Settings, seeded: Engine) -> None:
    with _client(settings, read_statement_seconds=0.05) as client:
        response = client.get(HISTORY, params={"pq.queryString": SLOW_QUERY, "ReturnLimit": 1})
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["ErrorCode"] == "0xA0110042"
        assert body["Message"] == "The query took longer than 0.05 s, the limit for a read; narrow it."
        # The connection is fine afterwards: the next request is answered.
        assert client.get(HISTORY, params={"ReturnLimit": 1}).status_code == 200


def test_the_same_query_within_its_budget_is_answered(settings: Settings, seeded: Engine) -> None:
    with _client(settings, read_statement_seconds=60) as client:
        response = client.get(HISTORY, params={"pq.queryString": SLOW_QUERY, "ReturnLimit": 1})
        assert response.status_code == 200, response.text
        assert response.json() == []


def _acknowledged(engine: Engine) -> int:
    with engine.connect() as conn:
        query = select(func.count()).select_from(job_history).where(job_history.c.acknowledged_by.is_not(None))
        return int(conn.execute(query).scalar_one())


def test_a_change_past_its_budget_is_a_400_and_changes_nothing(settings: Settings, seeded: Engine) -> None:
    before = _acknowledged(seeded)
    query = "Status -eq 3 AND (" + SLOW_QUERY.replace("-contains", "-notcontains").replace(" OR ", " AND ") + ")"
    # A budget far below the statement's cost (tens of milliseconds on a quiet machine), so that no machine is fast
    # enough to make it.
    with _client(settings, write_statement_seconds=0.005) as client:
        response = client.post(ACKNOWLEDGE, json={"Query": query, "Note": "budget"})
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["ErrorCode"] == "0xA0110042"
        assert "the limit for a write" in body["Message"]
    assert _acknowledged(seeded) == before
    # With room to run, the same change is made.
    with _client(settings, write_statement_seconds=120) as client:
        assert client.post(ACKNOWLEDGE, json={"Query": query, "Note": "budget"}).status_code == 204
    assert _acknowledged(seeded) > before


def _wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _reads_running(engine: Engine) -> int:
    with engine.connect() as conn:
        query = (
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' "
            "AND pid <> pg_backend_pid() AND query ILIKE '%FROM job_history%'"
        )
        return int(conn.execute(text(query)).scalar_one())


def test_a_read_whose_client_disconnects_is_cancelled_in_the_database(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    # 64 text scans of 100,000 rows: seconds on either database, with no budget to stop them.
    seed_database(engine, agents=5, history=100_000, seed=7)
    query = " OR ".join(f'Message -contains "no such text {n}"' for n in range(64))
    postgres = engine.dialect.name == "postgresql"
    with running_server(database_url, tmp_path, environment={"ORCHJOBS_READ_STATEMENT_SECONDS": "0"}) as base_url:
        address = urlsplit(base_url)
        credentials = base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode()
        target = HISTORY + "?" + urlencode({"pq.queryString": query, "ReturnLimit": 1})
        request = (
            f"GET {target} HTTP/1.1\r\nHost: {address.netloc}\r\nAuthorization: Basic {credentials}\r\n"
            "x-keyfactor-requested-with: APIClient\r\n\r\n"
        )
        with socket.create_connection((address.hostname, address.port)) as client:
            client.sendall(request.encode())
            if postgres:
                assert _wait_for(lambda: _reads_running(engine) == 1, 10), "the read did not start"
            else:
                time.sleep(0.5)
        hung_up = time.monotonic()
        log = tmp_path / "server.log"
        assert _wait_for(lambda: "read cancelled, its client disconnected" in log.read_text(), 5), log.read_text()
        if postgres:
            assert _reads_running(engine) == 0
        # Well before the read would have ended by itself.
        assert time.monotonic() - hung_up < 2


TRIGRAM_INDEXES = {
    "Message": "ix_job_history_message_trgm",
    "Agent": "ix_job_history_client_machine_trgm",
    "TargetPath": "ix_job_history_target_path_trgm",
}


@pytest.mark.parametrize("op", ["-contains", "-startswith", "-endswith"])
def test_text_matches_are_served_by_trigram_indexes_on_postgresql_only(seeded: Engine, op: str) -> None:
    if seeded.dialect.name != "postgresql":
        # SQLite's documented limit (docs/query-language.md): no index serves substring matches, none is made.
        with seeded.connect() as conn:
            names = set(conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'").scalars())
        assert not names & set(TRIGRAM_INDEXES.values())
        return
    # As `orchjobs seed` does: VACUUM also moves the rows just added out of each GIN index's pending list.
    refresh_statistics(seeded)
    with seeded.begin() as conn:
        indexes = set(conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'job_history'")).scalars())
        assert set(TRIGRAM_INDEXES.values()) <= indexes
        for field, index in TRIGRAM_INDEXES.items():
            where = condition(JOB_HISTORY, f'{field} {op} "no such text"', now=datetime.now(UTC), max_length=8192)
            statement = select(func.count()).select_from(job_history).where(where)
            compiled = statement.compile(dialect=seeded.dialect)
            plan = "\n".join(conn.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params).scalars())
            # job_history is partitioned by month: each partition's index is a partition of the declared one.
            names = conn.execute(
                text(
                    "SELECT child.relname FROM pg_inherits JOIN pg_class child ON child.oid = pg_inherits.inhrelid "
                    "WHERE pg_inherits.inhparent = to_regclass(:index)"
                ),
                {"index": index},
            ).scalars()
            assert any(f" {name} " in plan for name in [index, *names]), plan


@pytest.fixture
def database_without_pg_trgm(tmp_path: Path) -> Iterator[str]:
    """A fresh PostgreSQL database that its migrating role may fill but not add an extension to: the role may create
    tables in the public schema, not in the database (PostgreSQL 13 and later let a database's owner, or any role
    with CREATE on it, add a trusted extension such as pg_trgm). Dropped at the end, with its role."""
    if not POSTGRES_URL:
        pytest.skip("needs ORCHJOBS_TEST_POSTGRES_URL")
    name = f"orchjobs_no_trgm_{os.getpid()}_{tmp_path.name[-24:]}".lower().replace("-", "_")
    admin = make_engine(POSTGRES_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'DROP ROLE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE ROLE "{name}" LOGIN'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))  # owned by the superuser
        conn.execute(text(f'REVOKE CREATE ON DATABASE "{name}" FROM PUBLIC'))
    url = make_url(normalize_url(POSTGRES_URL)).set(database=name)
    owner = make_engine(url.render_as_string(hide_password=False)).execution_options(isolation_level="AUTOCOMMIT")
    with owner.connect() as conn:
        conn.execute(text(f'GRANT USAGE, CREATE ON SCHEMA public TO "{name}"'))
        assert conn.execute(text("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'")).scalar_one() == 0
    owner.dispose()
    try:
        yield url.set(username=name, password=None).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{name}"'))
        admin.dispose()


def test_without_pg_trgm_the_migration_warns_skips_the_indexes_and_contains_still_works(
    database_without_pg_trgm: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = database_without_pg_trgm
    caplog.set_level(logging.WARNING)

    result = CliRunner().invoke(cli.app, ["migrate"], env={"ORCHJOBS_DATABASE_URL": url})

    assert result.exit_code == 0, result.output
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert any(
        message.startswith('pg_trgm could not be created (permission denied to create extension "pg_trgm")')
        and "-contains on job history will scan" in message
        for message in warnings
    ), warnings
    engine = make_engine(url)
    with engine.connect() as conn:
        indexes = set(conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'job_history'")).scalars())
    assert not indexes & set(TRIGRAM_INDEXES.values())
    assert {"ix_job_history_operation_start_id"} <= indexes  # the rest of the schema is there
    seed_database(engine, agents=2, history=200, seed=3)
    engine.dispose()

    settings = Settings(database_url=url, bootstrap_admin=f"{ADMIN[0]}:{ADMIN[1]}", ca_key_file=str(tmp_path / "ca"))
    with api_client(settings) as client:
        assert client.get("/readyz").json()["status"] == "ok"
        everything = client.get(HISTORY, params={"ReturnLimit": 1000}).json()
        for op, keep in (("-contains", str.__contains__), ("-startswith", str.startswith), ("-endswith", str.endswith)):
            for field, column in (("Agent", "ClientMachine"), ("Message", "Message")):
                value = everything[0][column][1:4] if op == "-contains" else everything[0][column][:3]
                if op == "-endswith":
                    value = everything[0][column][-3:]
                query = f'{field} {op} "{value}"'
                response = client.get(HISTORY, params={"pq.queryString": query, "ReturnLimit": 1000})
                assert response.status_code == 200, response.text
                expected = {row["JobHistoryId"] for row in everything if keep(row[column].lower(), value.lower())}
                assert {row["JobHistoryId"] for row in response.json()} == expected
