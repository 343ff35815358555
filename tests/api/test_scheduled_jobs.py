"""GET /KeyfactorAPI/OrchestratorJobs/ScheduledJobs and its Count extension: Command's Job shape, which jobs are
listed, every query field, paging and sorting, and their errors; on both databases."""

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from orchjobs.settings import Settings
from tests.scheduling import HOURLY, MONTHLY, NOW, WEEKLY, add_agent, add_job, clients_at_now, hand_out, job_row

URL = "/KeyfactorAPI/OrchestratorJobs/ScheduledJobs"


@pytest.fixture
def admin(settings: Settings) -> Iterator[TestClient]:
    with clients_at_now(settings) as (admin_client, _agents):
        yield admin_client


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["Id"] for item in response.json()]


def test_a_job_is_commands_job_shape(admin: TestClient, engine: Engine) -> None:
    agent_id = add_agent(engine, name="web01.example.com")
    weekly = add_job(
        engine,
        agent_id,
        "Management",
        schedule=WEEKLY,
        requested_at=NOW - timedelta(days=1),
        next_run_at=NOW + timedelta(hours=2),
        target_path="/etc/ssl/app.pem",
    )
    logs = add_job(
        engine,
        agent_id,
        "FetchLogs",
        requested_at=NOW - timedelta(days=2, microseconds=250000),
        target_path=None,
    )

    items = admin.get(URL).json()

    assert items == [
        {
            "Id": str(weekly),
            "ClientMachine": "web01.example.com",
            "Target": "/etc/ssl/app.pem",
            "Schedule": WEEKLY,
            "Requested": "2026-11-28T12:00:00Z",
            "JobType": "Management",
            "AgentId": str(agent_id),
            "NextRun": "2026-11-29T14:00:00Z",
        },
        {
            "Id": str(logs),
            "ClientMachine": "web01.example.com",
            "Schedule": {"Immediate": True},
            "Requested": "2026-11-27T11:59:59.750000Z",
            "JobType": "FetchLogs",
            "AgentId": str(agent_id),
            "NextRun": "2026-11-29T12:00:00Z",
        },
    ]


def test_lists_jobs_that_will_run_or_are_running(admin: TestClient, engine: Engine) -> None:
    agent_id = add_agent(engine)
    due = add_job(engine, agent_id, "Management", requested_at=NOW - timedelta(hours=3))
    running = add_job(engine, agent_id, "Reenrollment", requested_at=NOW - timedelta(hours=2))
    # A one-shot job kept after its run failed, only so that it can be rescheduled: not scheduled to run.
    kept = add_job(engine, agent_id, "Management", next_run_at=None, requested_at=NOW - timedelta(hours=1))
    hand_out(engine, agent_id)
    assert (job_row(engine, running).next_run_at, job_row(engine, running).running_history_id is None) == (
        None,
        False,
    )
    add_job(engine, agent_id, "Management", requested_at=NOW - timedelta(hours=4))  # now due, not yet handed out

    items = admin.get(URL).json()

    listed = [item["Id"] for item in items]
    assert str(kept) not in listed
    assert {str(due), str(running)} <= set(listed)
    in_flight = next(item for item in items if item["Id"] == str(running))
    assert "NextRun" not in in_flight  # a one-shot job in flight has no next run
    assert admin.get(f"{URL}/Count").json() == {"Count": 3}


def test_newest_request_first_and_paging_is_stable(admin: TestClient, engine: Engine) -> None:
    agent_id = add_agent(engine)
    same_time = NOW - timedelta(days=3)
    jobs = [add_job(engine, agent_id, requested_at=NOW - timedelta(days=day)) for day in (5, 1, 4, 2)]
    tied = sorted((add_job(engine, agent_id, requested_at=same_time) for _ in range(3)), key=str, reverse=True)
    expected = [str(jobs[1]), str(jobs[3]), *map(str, tied), str(jobs[2]), str(jobs[0])]

    assert ids(admin.get(URL)) == expected
    pages = [ids(admin.get(URL, params={"pq.returnLimit": 3, "pq.pageReturned": page})) for page in (1, 2, 3, 4)]
    assert [len(page) for page in pages] == [3, 3, 1, 0]
    assert [job for page in pages for job in page] == expected
    unprefixed = ids(admin.get(URL, params={"ReturnLimit": 2, "PageReturned": 2}))
    assert unprefixed == expected[2:4]
    oldest_first = ids(admin.get(URL, params={"SortField": "Requested", "SortAscending": 0}))
    assert oldest_first == [str(jobs[0]), str(jobs[2]), *map(str, reversed(tied)), str(jobs[3]), str(jobs[1])]


@pytest.fixture
def fleet(engine: Engine) -> dict[str, Any]:
    """Three jobs on two orchestrators, each field telling them apart."""
    web = add_agent(engine, name="web01.example.com")
    db = add_agent(engine, name="db01.example.com")
    jobs = {
        "inventory": add_job(
            engine,
            web,
            "Inventory",
            schedule=HOURLY,
            requested_at=NOW - timedelta(days=10),
            next_run_at=NOW + timedelta(minutes=30),
            target_path="/etc/ssl/web.pem",
        ),
        "management": add_job(
            engine,
            db,
            "Management",
            requested_at=NOW - timedelta(days=1),
            next_run_at=NOW,
            target_path="C:\\Certs\\db.pfx",
        ),
        "custom": add_job(
            engine,
            web,
            "RestartWebService",
            schedule=MONTHLY,
            requested_at=NOW - timedelta(days=5),
            next_run_at=NOW + timedelta(days=16),
            target_path=None,
        ),
    }
    return {"web": web, "db": db, **jobs}


FIELD_QUERIES = [
    ('Id -eq "{custom}"', {"custom"}),
    ('JobId -eq "{management}"', {"management"}),
    ('Id -ne "{custom}"', {"inventory", "management"}),
    ('AgentId -eq "{web}"', {"inventory", "custom"}),
    ('ClientMachine -eq "DB01.example.com"', {"management"}),
    ('Agent -startswith "web"', {"inventory", "custom"}),
    ('JobType -eq "management"', {"management"}),
    ('JobType -ne "Inventory"', {"management", "custom"}),
    ('JobType -contains "web"', {"custom"}),
    ('Target -contains "ssl"', {"inventory"}),
    ('TargetPath -endswith ".pfx"', {"management"}),
    ("Target -eq NULL", {"custom"}),
    ('Requested -ge "2026-11-24"', {"management", "custom"}),
    ('Requested -lt "2026-11-28T12:00:00Z"', {"inventory", "custom"}),
    ("Requested -eq %TODAY-10%", {"inventory"}),  # today is the app clock's day
    ('ScheduleType -eq "I_60"', {"inventory"}),
    ('ScheduleType -startswith "M_"', {"custom"}),
    ("ScheduleType -eq NULL", {"management"}),
    ('NextRun -gt "2026-11-29T12:00:00Z"', {"inventory", "custom"}),
    ('NextRun -le "2026-11-29"', {"management", "inventory"}),
    (
        '(JobType -eq "Inventory" OR JobType -eq "Management") AND NOT ClientMachine -eq "db01.example.com"',
        {"inventory"},
    ),
]


@pytest.mark.parametrize(("query", "expected"), FIELD_QUERIES, ids=[query for query, _ in FIELD_QUERIES])
def test_every_query_field(admin: TestClient, fleet: dict[str, Any], query: str, expected: set[str]) -> None:
    text = query.format(**{name: str(value) for name, value in fleet.items()})
    names = {str(value): name for name, value in fleet.items()}
    assert {names[job] for job in ids(admin.get(URL, params={"pq.queryString": text}))} == expected
    assert admin.get(f"{URL}/Count", params={"QueryString": text}).json() == {"Count": len(expected)}


FIELDS = ["ClientMachine", "JobType", "Requested", "NextRun", "Id", "AgentId", "jobid", "Target", "ScheduleType"]


@pytest.mark.parametrize("field", FIELDS)
def test_sorts_by_every_field_both_ways(admin: TestClient, fleet: dict[str, Any], field: str) -> None:
    names = {str(value): name for name, value in fleet.items()}
    ascending = [names[job] for job in ids(admin.get(URL, params={"pq.sortField": field, "pq.sortAscending": 0}))]
    descending = [names[job] for job in ids(admin.get(URL, params={"pq.sortField": field, "pq.sortAscending": 1}))]
    assert descending == list(reversed(ascending))
    expected = {
        "ClientMachine": ["management", *sorted(["inventory", "custom"], key=lambda name: str(fleet[name]))],
        "JobType": ["inventory", "management", "custom"],
        "Requested": ["inventory", "custom", "management"],
        "NextRun": ["management", "inventory", "custom"],
        "Id": sorted(["inventory", "management", "custom"], key=lambda name: str(fleet[name])),
        "jobid": sorted(["inventory", "management", "custom"], key=lambda name: str(fleet[name])),
    }
    if field in expected:  # where NULLs go differs between the databases, as it does for JobHistory
        assert ascending == expected[field]


def test_errors_are_commands(admin: TestClient, engine: Engine) -> None:
    add_job(engine, add_agent(engine))
    bad_sort = admin.get(URL, params={"pq.sortField": "Nonsense"})
    assert (bad_sort.status_code, bad_sort.json()) == (
        400,
        {"ErrorCode": "0xA011004A", "Message": "Invalid sort field: Nonsense."},
    )
    unknown = admin.get(URL, params={"pq.queryString": 'Result -eq "4"'})
    assert unknown.status_code == 400
    assert "unknown field 'Result' for ScheduledJobs" in unknown.json()["Message"]
    assert "Id, AgentId, ClientMachine, JobType, Target, Requested, ScheduleType, NextRun" in unknown.json()["Message"]
    for query in ('Requested -contains "x"', 'Id -eq "not-a-guid"', 'Requested -gt "yesterday"', "(JobType -eq x"):
        response = admin.get(URL, params={"pq.queryString": query})
        assert response.status_code == 400, query
        assert response.json()["ErrorCode"] == "0xA0110040"
        assert "position" in response.json()["Message"]
    assert admin.get(URL, params={"pq.returnLimit": "0"}).status_code == 400
    assert admin.get(URL, params={"pq.pageReturned": "x"}).status_code == 400


def test_requires_credentials_and_commands_header(settings: Settings, engine: Engine) -> None:
    add_job(engine, add_agent(engine))
    with clients_at_now(settings) as (_admin, anonymous):
        assert anonymous.get(URL).status_code == 400  # no x-keyfactor-requested-with
        assert anonymous.get(URL, headers={"x-keyfactor-requested-with": "APIClient"}).status_code == 401


def test_a_job_of_an_unknown_orchestrator_id_is_not_found_by_agent(admin: TestClient, engine: Engine) -> None:
    add_job(engine, add_agent(engine))
    assert ids(admin.get(URL, params={"pq.queryString": f'AgentId -eq "{uuid.uuid4()}"'})) == []
