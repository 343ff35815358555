"""GET /KeyfactorAPI/OrchestratorJobs/JobHistory/FailureGroups (extension): the failure count's runs grouped by job
type, orchestrator, target and folded message, each with the query that selects exactly it. On both databases."""

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from orchjobs.domain.failure_groups import message_group
from orchjobs.settings import Settings
from tests.factories import add_history, history_state
from tests.scheduling import HOURLY, NOW, add_agent, add_job, clients_at_now, complete, hand_out

JOBS = "/KeyfactorAPI/OrchestratorJobs"
GROUPS = f"{JOBS}/JobHistory/FailureGroups"
WEB = uuid.UUID("11111111-1111-4111-8111-111111111111")
DB = uuid.UUID("22222222-2222-4222-8222-222222222222")


@pytest.fixture
def clients(settings: Settings) -> Iterator[tuple[TestClient, TestClient]]:
    with clients_at_now(settings) as both:
        yield both


def _failure(engine: Engine, message: str, *, agent: uuid.UUID = WEB, hours_ago: float = 1, **values: Any) -> int:
    row = {
        "agent_id": agent,
        "client_machine": "web01" if agent == WEB else "db01",
        "result": 4,
        "status": 3,
        "message": message,
        "message_group": message_group(message),
        "operation_start": NOW - timedelta(hours=hours_ago),
        "operation_end": NOW - timedelta(hours=hours_ago) + timedelta(seconds=5),
        **values,
    }
    return add_history(engine, **row)


def _arrange(engine: Engine) -> dict[str, list[int]]:
    timeouts = [
        _failure(engine, "Connection to 10.0.0.7:5986 timed out after 30 s", hours_ago=3),
        _failure(engine, "Connection to 10.0.0.9:5986 timed out after 45 s", hours_ago=2, status=5),
        _failure(engine, "connection TO 10.0.0.8:5986 timed out after 31 s", hours_ago=1, result=3),
    ]
    denied = [
        _failure(engine, "Access to /etc/ssl/private/a.key denied", hours_ago=0.5, target_path="/etc/ssl/private/a.key")
    ]
    other_agent = [_failure(engine, "Connection to 10.0.0.7:5986 timed out after 30 s", agent=DB)]
    # Not open failures: acknowledged, a success, one older than the age-out window.
    _failure(engine, "Connection to 10.0.0.1:5986 timed out after 1 s", status=4, status_before_ack=3)
    _failure(engine, "Connection to 10.0.0.1:5986 timed out after 1 s", result=2)
    _failure(engine, "Connection to 10.0.0.1:5986 timed out after 1 s", hours_ago=24 * 9)
    return {"timeouts": timeouts, "denied": denied, "other_agent": other_agent}


def test_open_failures_are_grouped_by_job_orchestrator_target_and_folded_message(
    clients: tuple[TestClient, TestClient], engine: Engine
) -> None:
    admin, _agents = clients
    runs = _arrange(engine)

    response = admin.get(GROUPS)

    assert response.status_code == 200, response.text
    groups = response.json()
    assert [(group["Count"], group["ClientMachine"]) for group in groups] == [(3, "web01"), (1, "web01"), (1, "db01")]
    largest = groups[0]
    assert largest["MessageGroup"] == "Connection to <address> timed out after <n> s"
    assert largest["LastMessage"] == "connection TO 10.0.0.8:5986 timed out after 31 s"
    assert largest["FirstSeen"] == (NOW - timedelta(hours=3)).isoformat().replace("+00:00", "Z")
    assert largest["LastSeen"] == (NOW - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert largest["AgentId"] == str(WEB)
    assert largest["TargetPath"] == "/etc/ssl/certs/app.pem"
    assert groups[1]["MessageGroup"] == "Access to <path> denied"
    assert groups[1]["TargetPath"] == "/etc/ssl/private/a.key"
    assert sum(group["Count"] for group in groups) == admin.get(f"{JOBS}/JobHistory/FailureCount").json()["Count"]
    assert sum(len(ids) for ids in runs.values()) == 5


def test_a_groups_query_selects_exactly_its_runs_and_acknowledges_them_in_one_step(
    clients: tuple[TestClient, TestClient], engine: Engine
) -> None:
    admin, _agents = clients
    runs = _arrange(engine)
    largest = admin.get(GROUPS).json()[0]

    listed = admin.get(f"{JOBS}/JobHistory", params={"pq.queryString": largest["Query"]}).json()
    preview = admin.post(f"{JOBS}/Acknowledge/Preview", json={"Query": largest["Query"]}).json()
    committed = admin.post(
        f"{JOBS}/Acknowledge", json={"Query": largest["Query"], "PreviewToken": preview["PreviewToken"]}
    )

    assert sorted(row["JobHistoryId"] for row in listed) == runs["timeouts"]
    assert (preview["Eligible"], preview["Ids"]) == (3, runs["timeouts"])
    assert committed.status_code == 204, committed.text
    state = history_state(engine)
    assert {state[row_id][0] for row_id in runs["timeouts"]} == {4}
    assert {state[row_id][0] for row_id in runs["other_agent"] + runs["denied"]} == {3}
    assert [group["Count"] for group in admin.get(GROUPS).json()] == [1, 1]


def test_groups_are_narrowed_by_a_query_and_paged(clients: tuple[TestClient, TestClient], engine: Engine) -> None:
    admin, _agents = clients
    _arrange(engine)

    narrowed = admin.get(GROUPS, params={"pq.queryString": 'ClientMachine -eq "db01"'}).json()
    second_page = admin.get(GROUPS, params={"ReturnLimit": 2, "PageReturned": 2}).json()
    bad = admin.get(GROUPS, params={"pq.queryString": "Result -eq"})

    assert [(group["Count"], group["ClientMachine"]) for group in narrowed] == [(1, "db01")]
    assert narrowed[0]["Query"].startswith('((ClientMachine -eq "db01") AND ')
    assert len(admin.get(f"{JOBS}/JobHistory", params={"pq.queryString": narrowed[0]["Query"]}).json()) == 1
    assert [group["ClientMachine"] for group in second_page] == ["db01"]
    assert bad.status_code == 400 and bad.json()["ErrorCode"] == "0xA0110040"


def test_completions_keep_their_folded_message(clients: tuple[TestClient, TestClient], engine: Engine) -> None:
    """Through the orchestrator protocol: two failures that differ in numbers only are one group."""
    admin, agents = clients
    agent_id = add_agent(engine)
    jobs = [add_job(engine, agent_id, "Inventory", schedule=HOURLY, target_path="/opt/app") for _ in range(2)]
    assert sorted(hand_out(engine, agent_id)) == sorted(jobs)
    complete(agents, engine, jobs[0], status=4, message="Store /opt/app/a.jks: 3 of 12 entries unreadable")
    complete(agents, engine, jobs[1], status=4, message="Store /opt/app/b.jks: 5 of 40 entries unreadable")

    groups = admin.get(GROUPS).json()

    assert [(group["Count"], group["MessageGroup"]) for group in groups] == [
        (2, "Store <path>: <n> of <n> entries unreadable")
    ]
