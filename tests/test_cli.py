"""The `orchjobs` command, driven through its public interface (Typer's runner and a real process)."""

import base64
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import func, insert, select
from typer.testing import CliRunner

from orchjobs.cli import app
from orchjobs.service.history import failure_count
from orchjobs.settings import Settings
from orchjobs.store.engine import make_engine
from orchjobs.store.tables import agent, audit_log, job_history, open_failure_delta, user_account
from tests.conftest import api_client
from tests.factories import add_history
from tests.live import ADMIN, free_port

FAILURE_COUNT = "/KeyfactorAPI/OrchestratorJobs/JobHistory/FailureCount"

runner = CliRunner()


def test_migrate_creates_a_fresh_sqlite_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    result = runner.invoke(app, ["migrate"], env={"ORCHJOBS_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(job_history)).scalar_one() == 0
    engine.dispose()


def test_user_add_stores_a_hashed_password_and_refuses_duplicates(database_url: str) -> None:
    env = {"ORCHJOBS_DATABASE_URL": database_url}
    added = runner.invoke(app, ["user", "add", "operator", "--password", "s3cret-pass", "--role", "Operator"], env=env)
    assert added.exit_code == 0, added.output
    assert "Operator" in added.output
    engine = make_engine(database_url)
    with engine.connect() as conn:
        stored = conn.execute(
            select(user_account.c.password_hash).where(user_account.c.username == "operator")
        ).scalar_one()
    engine.dispose()
    assert stored.startswith("$argon2") and "s3cret-pass" not in stored
    again = runner.invoke(app, ["user", "add", "operator", "--password", "another-pass", "--role", "Auditor"], env=env)
    assert again.exit_code == 1
    assert "already exists" in again.output
    short = runner.invoke(app, ["user", "add", "shorty", "--password", "abc", "--admin"], env=env)
    assert short.exit_code == 1 and "at least 8" in short.output


def test_user_add_needs_roles_that_exist(database_url: str) -> None:
    env = {"ORCHJOBS_DATABASE_URL": database_url}
    none = runner.invoke(app, ["user", "add", "nobody", "--password", "s3cret-pass"], env=env)
    assert none.exit_code == 2 and "--role" in none.output
    unknown = runner.invoke(app, ["user", "add", "ghost", "--password", "s3cret-pass", "--role", "Wizard"], env=env)
    assert unknown.exit_code == 1 and "no security role named 'Wizard'" in unknown.output
    engine = make_engine(database_url)
    with engine.connect() as conn:
        names = set(conn.execute(select(user_account.c.username)).scalars())
    engine.dispose()
    assert not names & {"nobody", "ghost"}


def test_seed_fills_the_database_deterministically(database_url: str) -> None:
    env = {"ORCHJOBS_DATABASE_URL": database_url}
    result = runner.invoke(app, ["seed", "--agents", "5", "--history", "500", "--seed", "7"], env=env)
    assert result.exit_code == 0, result.output
    engine = make_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(agent)).scalar_one() == 5
        assert conn.execute(select(func.count()).select_from(job_history)).scalar_one() == 500
    engine.dispose()


def test_seed_demo_only_fills_an_empty_database(database_url: str, tmp_path: Path) -> None:
    env = {"ORCHJOBS_DATABASE_URL": database_url, "ORCHJOBS_BOOTSTRAP_ADMIN": "admin:admin-password"}
    demo = ["seed", "--demo", "--demo-store-dir", str(tmp_path / "stores")]
    assert runner.invoke(app, demo, env={**env, "ORCHJOBS_DEMO": "0"}).exit_code == 0
    engine = make_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(agent)).scalar_one() == 0
    assert runner.invoke(app, demo, env=env).exit_code == 0
    with engine.connect() as conn:
        first = conn.execute(select(func.count()).select_from(job_history)).scalar_one()
        orchestrator = conn.execute(select(agent).where(agent.c.client_machine == "demo-orchestrator")).one()
    assert first > 0
    assert (orchestrator.status, orchestrator.username) == (2, "admin")
    assert (tmp_path / "stores" / "web-app.pem").read_text().count("BEGIN CERTIFICATE") == 2
    assert runner.invoke(app, demo, env=env).exit_code == 0
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(job_history)).scalar_one() == first
    engine.dispose()


def test_serve_answers_over_a_real_socket(database_url: str) -> None:
    port = free_port()
    env = {
        **os.environ,
        "ORCHJOBS_DATABASE_URL": database_url,
        "ORCHJOBS_BOOTSTRAP_ADMIN": "admin:admin-password",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "orchjobs", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        response = _wait_for(f"http://127.0.0.1:{port}/KeyfactorAPI/Status/Endpoints", process)
        assert response.status_code == 200
        assert response.headers["x-keyfactor-product-version"]
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for(url: str, process: subprocess.Popen[bytes]) -> httpx.Response:
    token = base64.b64encode(b"admin:admin-password").decode()
    headers = {"Authorization": f"Basic {token}", "x-keyfactor-requested-with": "APIClient"}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(process.stderr.read().decode() if process.stderr else "server exited")
        try:
            return httpx.get(url, headers=headers, timeout=1)
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the server did not answer within 20 s")


def test_a_changed_password_or_removed_user_stops_working_at_once(database_url: str) -> None:
    env = {"ORCHJOBS_DATABASE_URL": database_url}
    settings = Settings(database_url=database_url, auth_cache_seconds=3600)
    added = runner.invoke(app, ["user", "add", "rotating", "--password", "first-pass", "--role", "Auditor"], env=env)
    assert added.exit_code == 0, added.output
    with api_client(settings, auth=("rotating", "first-pass")) as client:
        assert client.get(FAILURE_COUNT).status_code == 200
        changed = runner.invoke(app, ["user", "password", "rotating", "--password", "second-pass"], env=env)
        assert changed.exit_code == 0, changed.output
        assert client.get(FAILURE_COUNT).status_code == 401
        assert client.get(FAILURE_COUNT, auth=("rotating", "second-pass")).status_code == 200
        removed = runner.invoke(app, ["user", "remove", "rotating"], env=env)
        assert removed.exit_code == 0, removed.output
        assert client.get(FAILURE_COUNT, auth=("rotating", "second-pass")).status_code == 401
    assert runner.invoke(app, ["user", "remove", "rotating"], env=env).exit_code == 1
    unknown = runner.invoke(app, ["user", "password", "ghost", "--password", "whatever-pass"], env=env)
    assert unknown.exit_code == 1 and "no user named 'ghost'" in unknown.output


def test_the_last_administrator_cannot_be_removed(database_url: str) -> None:
    env = {"ORCHJOBS_DATABASE_URL": database_url}
    refused = runner.invoke(app, ["user", "remove", ADMIN[0]], env=env)
    assert refused.exit_code == 1 and "Administrator" in refused.output
    engine = make_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(select(user_account.c.username)).scalars().all() == [ADMIN[0]]
    engine.dispose()
    assert runner.invoke(app, ["user", "add", "second", "--password", "second-pass", "--admin"], env=env).exit_code == 0
    assert runner.invoke(app, ["user", "remove", ADMIN[0]], env=env).exit_code == 0


def test_serve_refuses_an_unmigrated_database_in_one_sentence(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'never-migrated.db'}"
    result = runner.invoke(app, ["serve"], env={"ORCHJOBS_DATABASE_URL": url})
    assert result.exit_code == 2
    assert "migrations behind: run `orchjobs migrate`" in result.output
    assert "Traceback" not in result.output


def test_serve_says_why_the_database_does_not_answer_without_its_password() -> None:
    url = f"postgresql://orchjobs:hunter2-secret@127.0.0.1:{free_port()}/nowhere"
    result = runner.invoke(app, ["serve"], env={"ORCHJOBS_DATABASE_URL": url})
    assert result.exit_code == 2
    assert "the database does not answer" in result.output and "refused" in result.output
    assert "hunter2" not in result.output and "Traceback" not in result.output


def test_serve_refuses_a_bootstrap_administrator_it_could_not_create(database_url: str) -> None:
    env = {"ORCHJOBS_DATABASE_URL": database_url, "ORCHJOBS_BOOTSTRAP_ADMIN": "admin:short"}
    result = runner.invoke(app, ["serve"], env=env)
    assert result.exit_code == 2
    assert "ORCHJOBS_BOOTSTRAP_ADMIN: A password must be at least 8 characters long." in result.output


def test_user_changes_are_audited_with_the_cli_actor(database_url: str) -> None:
    env = {"ORCHJOBS_DATABASE_URL": database_url}
    steps = [
        ["user", "add", "auditor", "--password", "s3cret-pass", "--role", "Auditor"],
        ["user", "password", "auditor", "--password", "an0ther-pass"],
        ["user", "remove", "auditor"],
        ["user", "remove", "auditor"],
    ]
    codes = [runner.invoke(app, step, env=env).exit_code for step in steps]
    engine = make_engine(database_url)
    with engine.connect() as conn:
        entries = conn.execute(select(audit_log).order_by(audit_log.c.id)).all()
    engine.dispose()
    assert codes == [0, 0, 0, 1]
    assert [(entry.action, entry.resource, entry.ids) for entry in entries] == [
        ("CreateUser", "Users", '["auditor"]'),
        ("SetPassword", "Users", '["auditor"]'),
        ("RemoveUser", "Users", '["auditor"]'),
    ]
    assert all(entry.actor.startswith("(cli") for entry in entries)
    assert "s3cret" not in entries[0].details and '"Auditor"' in entries[0].details


def test_recount_failures_makes_the_failure_count_right_again(database_url: str) -> None:
    """A count gone wrong (here: a row of changes no run made, as after the triggers were turned off) is made again
    from the runs; SQLite has nothing to recount."""
    env = {"ORCHJOBS_DATABASE_URL": database_url}
    engine = make_engine(database_url)
    now = datetime.now(UTC)
    for result in (4, 4, 3, 2):
        add_history(engine, result=result, status=3, operation_start=now)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(insert(open_failure_delta).values(day=now.date(), n=5))
        assert failure_count(engine, now=now).count == 8
    answer = runner.invoke(app, ["recount-failures"], env=env)

    assert answer.exit_code == 0, answer.output
    assert failure_count(engine, now=now).count == 3
    expected = "Recounted 3 open" if engine.dialect.name == "postgresql" else "nothing to recount"
    assert expected in answer.output
    engine.dispose()
