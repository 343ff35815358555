"""Orchestrator sessions end: a token is kept only as its digest, and a new registration, a Reset or a Disapproval
ends the orchestrator's sessions at once (its next heartbeat or job call with an older token is refused)."""

import hashlib
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, String, Uuid, column, insert, select, table
from starlette.testclient import TestClient

from orchjobs.settings import Settings
from orchjobs.store.engine import make_engine
from orchjobs.store.migrate import downgrade, upgrade
from orchjobs.store.tables import agent, agent_session
from orchjobs.store.types import UtcDateTime
from tests.conftest import api_client
from tests.live import ADMIN

REGISTER = "/KeyfactorAgents/Session/Register"
HEARTBEAT = "/KeyfactorAgents/Session/Heartbeat"
CONFIGURATION = "/KeyfactorAgents/Jobs/Configuration"
AGENTS = "/KeyfactorAPI/Agents"
NAME = "web-01.example.com"
SESSION_REFUSED = "A0100001"
NO_SUCH_RUN = "A0100004"  # what an accepted session gets for a made-up JobId


@contextmanager
def clients(settings: Settings) -> Iterator[tuple[TestClient, TestClient]]:
    """An orchestrator's client (Basic credentials, no Command headers) and an administrator's, on one app."""
    approving = settings.model_copy(update={"auto_approve": True})
    with api_client(approving, headers=None) as agents, api_client(approving) as admin:
        yield agents, admin


def register(agents: TestClient, name: str, agent_id: str = "") -> dict[str, Any]:
    body = {"ClientMachine": name, "AgentId": agent_id, "Capabilities": ["Custom.FetchLogs"], "AgentPlatform": 1}
    response = agents.post(REGISTER, json=body, auth=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json()["Result"] == {"Status": 1}, response.text
    session: dict[str, Any] = response.json()["Session"]
    return session


def session_valid(agents: TestClient, token: str) -> bool:
    response = agents.post(HEARTBEAT, json={"SessionToken": token})
    assert response.status_code == 200, response.text
    return bool(response.json()["SessionValid"])


def job_call_code(agents: TestClient, token: str) -> str:
    """The refusal a job call with the token gets: the session refused, or (the session accepted) no such run."""
    response = agents.post(CONFIGURATION, json={"SessionToken": token, "JobId": str(uuid.uuid4())})
    assert response.status_code == 200, response.text
    return str(response.json()["Result"]["Error"]["CodeString"])


def assert_ended(agents: TestClient, token: str) -> None:
    assert job_call_code(agents, token) == SESSION_REFUSED
    assert session_valid(agents, token) is False


def assert_live(agents: TestClient, token: str) -> None:
    assert job_call_code(agents, token) == NO_SUCH_RUN
    assert session_valid(agents, token) is True


def test_a_token_is_stored_only_as_its_digest(settings: Settings, engine: Engine) -> None:
    with clients(settings) as (agents, _admin):
        token = register(agents, NAME)["Token"]
        assert_live(agents, token)
    with engine.connect() as conn:
        [row] = conn.execute(select(agent_session)).all()
    assert row.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    assert token not in [str(value) for value in row]


def test_a_new_registration_ends_the_older_sessions(settings: Settings) -> None:
    with clients(settings) as (agents, _admin):
        first = register(agents, NAME)
        other = register(agents, "db-01.example.com")
        assert_live(agents, first["Token"])
        second = register(agents, NAME, first["AgentId"])
        assert second["AgentId"] == first["AgentId"]
        assert_ended(agents, first["Token"])
        assert_live(agents, second["Token"])
        # Registering again by name (no AgentId) is a new registration too.
        third = register(agents, "WEB-01.example.com")
        assert third["AgentId"] == first["AgentId"]
        assert_ended(agents, second["Token"])
        assert_live(agents, third["Token"])
        assert_live(agents, other["Token"])  # another orchestrator's session is not touched


def _reset_all(admin: TestClient, agent_id: str) -> Any:
    return admin.post(f"{AGENTS}/Reset", json=[agent_id])


def _reset_one(admin: TestClient, agent_id: str) -> Any:
    return admin.post(f"{AGENTS}/{agent_id}/Reset")


def _disapprove(admin: TestClient, agent_id: str) -> Any:
    return admin.post(f"{AGENTS}/Disapprove", json=[agent_id])


@pytest.mark.parametrize("action", [_reset_all, _reset_one, _disapprove], ids=["Reset", "ResetOne", "Disapprove"])
def test_reset_and_disapprove_end_the_sessions_at_once(
    settings: Settings, action: Callable[[TestClient, str], Any]
) -> None:
    with clients(settings) as (agents, admin):
        session = register(agents, NAME)
        other = register(agents, "db-01.example.com")
        assert_live(agents, session["Token"])
        response = action(admin, session["AgentId"])
        assert response.status_code == 204, response.text
        assert_ended(agents, session["Token"])
        assert_live(agents, other["Token"])


def test_sessions_from_before_the_upgrade_end(database_url: str, settings: Settings) -> None:
    """The migration to digests deletes the sessions it finds (a digest of their tokens was never kept): the
    orchestrator is told its session is unknown, and registers again."""
    engine = make_engine(database_url)
    agent_id, token, now = uuid.uuid4(), str(uuid.uuid4()), datetime.now(UTC)
    old_sessions = table(
        "agent_session",
        column("token", String()),
        column("agent_id", Uuid()),
        column("created_at", UtcDateTime()),
        column("expires_at", UtcDateTime()),
    )
    try:
        downgrade(engine, "0005")  # before 0006, which keeps sessions by their hash
        with engine.begin() as conn:
            conn.execute(
                insert(agent).values(
                    id=agent_id, client_machine=NAME, username=ADMIN[0], platform=1, version="", status=2, last_seen=now
                )
            )
            conn.execute(
                insert(old_sessions).values(
                    token=token, agent_id=agent_id, created_at=now, expires_at=now + timedelta(hours=1)
                )
            )
        upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(select(agent_session)).all() == []
        with clients(settings) as (agents, _admin):
            assert_ended(agents, token)
            again = register(agents, NAME, str(agent_id))
            assert again["AgentId"] == str(agent_id)
            assert_live(agents, again["Token"])
    finally:
        upgrade(engine)
        engine.dispose()
