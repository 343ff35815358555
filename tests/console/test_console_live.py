"""The console's live updates over HTTP (docs/console.md): GET /console/events against a real server, on every
database. A run written by another process (this test's own engine) reaches an open stream as a `history` event:
on PostgreSQL through the change sequence the triggers advance and the server polls, on SQLite through its
data_version poll."""

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import Engine

from orchjobs.service.users import create_user
from orchjobs.store.engine import make_engine
from tests.console.conftest import BROWSER
from tests.factories import add_history
from tests.live import ADMIN

# With the browser modules: it shares their server.
pytestmark = BROWSER
EVENTS = "/console/events"


@pytest.fixture
def engine(console_database: str) -> Iterator[Engine]:
    engine = make_engine(console_database)
    yield engine
    engine.dispose()


def session(server: str, user: tuple[str, str] = ADMIN) -> httpx.Client:
    client = httpx.Client(base_url=server, timeout=10)
    answer = client.post("/login", data={"username": user[0], "password": user[1]})
    assert answer.status_code == 303, answer.text
    return client


def test_the_event_stream_refuses_a_browser_without_a_session(console_server: str) -> None:
    assert httpx.get(f"{console_server}{EVENTS}").status_code == 401
    refused = httpx.get(f"{console_server}{EVENTS}", cookies={"orchjobs_session": "not-a-session"})
    assert refused.status_code == 401


def test_the_event_stream_refuses_a_user_who_may_not_read_job_history(console_server: str, engine: Engine) -> None:
    orchestrator = ("live-orchestrator", "orchestrator-password")
    create_user(
        engine, username=orchestrator[0], password=orchestrator[1], roles=["Orchestrator"], now=datetime.now(UTC)
    )
    client = session(console_server, orchestrator)
    assert client.get(EVENTS).status_code == 403
    client.close()


def test_a_run_written_by_another_process_reaches_an_open_stream(console_server: str, engine: Engine) -> None:
    client = session(console_server)
    with client.stream("GET", EVENTS) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        # The stream's first event: the server now listens for this page.
        assert next(line for line in lines if line.startswith("event:")) == "event: ready"
        add_history(engine, result=4, status=3)
        assert next(line for line in lines if line.startswith("event:")) == "event: history"
    client.close()
