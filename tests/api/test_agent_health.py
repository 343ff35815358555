"""GET /KeyfactorAPI/Agents/Health (an extension): OK, Late or Silent against the heartbeat interval, judged by the
database, for the asked-for orchestrators; and what it refuses."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, event, insert
from starlette.testclient import TestClient

from orchjobs.settings import Settings
from orchjobs.store.tables import agent
from tests.conftest import SteppingClock, api_client

URL = "/KeyfactorAPI/Agents/Health"
SETTING = "/KeyfactorAPI/AppSetting/AgentHeartbeatInterval/Set"
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def add_agent(engine: Engine, name: str, last_seen: datetime, status: int = 2) -> uuid.UUID:
    agent_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(
            insert(agent).values(
                id=agent_id,
                client_machine=name,
                username="svc",
                platform=1,
                version="1.0",
                status=status,
                last_seen=last_seen,
            )
        )
    return agent_id


def health(client: TestClient, *ids: uuid.UUID | str, **params: str) -> dict[str, str]:
    response = client.get(URL, params={"agentIds": [str(each) for each in ids], **params})
    assert response.status_code == 200, response.text
    return {item["AgentId"]: item["Health"] for item in response.json()["Agents"]}


def test_health_is_judged_against_the_heartbeat_interval(settings: Settings, engine: Engine) -> None:
    # Five minutes by default: Late past 10 minutes, Silent past 50.
    fresh = add_agent(engine, "fresh", NOW - timedelta(minutes=9, seconds=59))
    late = add_agent(engine, "late", NOW - timedelta(minutes=10, seconds=1))
    still_late = add_agent(engine, "still-late", NOW - timedelta(minutes=49))
    silent = add_agent(engine, "silent", NOW - timedelta(minutes=51), status=3)
    unknown = uuid.uuid4()
    with api_client(settings, clock=SteppingClock(NOW)) as client:
        answer = client.get(URL, params={"agentIds": f"{fresh},{late}", "ignored": "x"}).json()
        assert answer["HeartbeatMinutes"] == 5
        assert (answer["LateAfterMinutes"], answer["SilentAfterMinutes"]) == (10, 50)
        assert answer["Agents"] == sorted(
            [
                {"AgentId": str(fresh), "LastSeen": "2026-11-30T08:50:01Z", "Health": "OK"},
                {"AgentId": str(late), "LastSeen": "2026-11-30T08:49:59Z", "Health": "Late"},
            ],
            key=lambda item: uuid.UUID(item["AgentId"]),
        )
        # Repeated and comma-separated ids mix; an unknown id is left out; duplicates answer once.
        assert health(client, f"{fresh},{still_late}", silent, unknown, silent) == {
            str(fresh): "OK",
            str(still_late): "Late",
            str(silent): "Silent",
        }
        assert health(client) == {}

        # A longer interval moves the thresholds: the same rows are judged again.
        assert client.put(SETTING, json={"Value": "30"}).status_code == 200
        answer = client.get(URL, params={"agentIds": [str(late), str(silent)]}).json()
        assert (answer["HeartbeatMinutes"], answer["LateAfterMinutes"], answer["SilentAfterMinutes"]) == (30, 60, 300)
        assert {item["Health"] for item in answer["Agents"]} == {"OK"}


def test_health_is_one_statement_whatever_the_number_of_agents(settings: Settings, engine: Engine) -> None:
    ids = [add_agent(engine, f"host-{number}", NOW - timedelta(minutes=number * 7)) for number in range(12)]
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "FROM agent" in statement and "CASE" in statement:
            statements.append(statement)

    with api_client(settings, clock=SteppingClock(NOW)) as client:
        # On the class: the app's engine is its own.
        event.listen(Engine, "before_cursor_execute", seen)
        try:
            answer = health(client, *ids)
        finally:
            event.remove(Engine, "before_cursor_execute", seen)
    assert [answer[str(each)] for each in ids] == ["OK"] * 2 + ["Late"] * 6 + ["Silent"] * 4
    assert len(statements) == 1


def test_malformed_or_too_many_ids_are_refused(settings: Settings) -> None:
    with api_client(settings.model_copy(update={"max_bulk_ids": 3})) as client:
        malformed = client.get(URL, params={"agentIds": "not-a-guid"})
        assert malformed.status_code == 400
        assert "agentIds" in malformed.json()["Message"]
        too_many = client.get(URL, params={"agentIds": [str(uuid.uuid4()) for _ in range(4)]})
        assert too_many.status_code == 400
        assert "At most 3" in too_many.json()["Message"]
        # /Health is not read as an orchestrator id.
        assert client.get("/KeyfactorAPI/Agents/Health").status_code == 200
