"""POST /KeyfactorAPI/OrchestratorJobs/Unschedule: by JobIds all or nothing, by Query only the eligible jobs; history
stays, a run in flight is closed as failed. On both databases."""

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from orchjobs.settings import Settings
from orchjobs.store import dispatch
from orchjobs.store.engine import write_transaction
from tests.scheduling import (
    HOURLY,
    MONTHLY,
    NOW,
    WEEKLY,
    add_agent,
    add_job,
    add_run,
    clients_at_now,
    complete,
    hand_out,
    job_row,
    open_session,
    runs,
    snapshot,
)

URL = "/KeyfactorAPI/OrchestratorJobs/Unschedule"
IN_FLIGHT_MESSAGE = "The job was unscheduled while it was in flight."


@pytest.fixture
def clients(settings: Settings) -> Iterator[tuple[TestClient, TestClient]]:
    with clients_at_now(settings) as both:
        yield both


def test_unschedules_by_id_and_keeps_the_history(clients: tuple[TestClient, TestClient], engine: Engine) -> None:
    admin, _agents = clients
    agent_id = add_agent(engine)
    jobs = [
        add_job(engine, agent_id, "Management"),
        add_job(engine, agent_id, "Discovery", schedule=WEEKLY),
        add_job(engine, agent_id, "Reenrollment"),
        add_job(engine, agent_id, "FetchLogs"),
        add_job(engine, agent_id, "RestartWebService", schedule=MONTHLY),
    ]
    kept = add_job(engine, agent_id, "Management")
    history = [add_run(engine, job_id) for job_id in jobs]

    response = admin.post(URL, json={"JobIds": [str(job_id).upper() for job_id in jobs]})

    assert (response.status_code, response.content) == (204, b"")
    assert [job_row(engine, job_id) for job_id in jobs] == [None] * len(jobs)
    assert job_row(engine, kept) is not None
    assert [runs(engine, job_id)[0].id for job_id in jobs] == history  # history stays, unchanged
    assert {run.status for job_id in jobs for run in runs(engine, job_id)} == {3}
    assert hand_out(engine, agent_id) == [kept]
    assert admin.post(URL, json={"jobIds": [str(kept), str(kept)]}).status_code == 204
    assert job_row(engine, kept) is None


def test_an_inventory_job_or_an_unknown_id_refuses_the_whole_request(
    clients: tuple[TestClient, TestClient], engine: Engine
) -> None:
    admin, _agents = clients
    agent_id = add_agent(engine)
    management = add_job(engine, agent_id, "Management")
    inventory = add_job(engine, agent_id, "Inventory", schedule=HOURLY)
    unknown = uuid.uuid4()
    before = snapshot(engine)

    response = admin.post(URL, json={"JobIds": [str(management), str(inventory), str(unknown)]})

    assert response.status_code == 400
    body = response.json()
    assert body["ErrorCode"] == "0xA0110050"
    assert body["Message"] == "2 of the 3 jobs cannot be unscheduled; no job was changed."
    assert body["FailedOperations"] == [
        {
            "Id": str(inventory),
            "Reason": "Inventory jobs cannot be unscheduled; change or turn off the certificate store's inventory "
            "schedule (POST /CertificateStores/Schedule) instead.",
        },
        {"Id": str(unknown), "Reason": f"Scheduled job {unknown} was not found."},
    ]
    assert snapshot(engine) == before


def test_by_query_only_the_eligible_jobs_it_matches_go(clients: tuple[TestClient, TestClient], engine: Engine) -> None:
    admin, _agents = clients
    web, db = add_agent(engine, name="web01.example.com"), add_agent(engine, name="db01.example.com")
    web_jobs = {
        "management": add_job(engine, web, "Management"),
        "logs": add_job(engine, web, "FetchLogs"),
        "custom": add_job(engine, web, "RestartWebService", schedule=MONTHLY),
        "inventory": add_job(engine, web, "Inventory", schedule=HOURLY),
        # Kept only so that it can be rescheduled: not listed, so a query does not reach it (an id does).
        "kept": add_job(engine, web, "Management", next_run_at=None),
    }
    db_job = add_job(engine, db, "Management")

    response = admin.post(URL, json={"Query": 'ClientMachine -eq "WEB01.example.com"'})

    assert response.status_code == 204
    remaining = {name for name, job_id in web_jobs.items() if job_row(engine, job_id) is not None}
    assert remaining == {"inventory", "kept"}
    assert job_row(engine, db_job) is not None
    assert admin.post(URL, json={"Query": 'JobType -eq "Nothing"'}).status_code == 204
    assert admin.post(URL, json={"JobIds": [str(web_jobs["kept"])]}).status_code == 204
    assert job_row(engine, web_jobs["kept"]) is None


def test_every_scheduled_jobs_field_selects(clients: tuple[TestClient, TestClient], engine: Engine) -> None:
    admin, _agents = clients
    agent_id = add_agent(engine)
    weekly = add_job(engine, agent_id, "Discovery", schedule=WEEKLY, requested_at=NOW - timedelta(days=9))
    targeted = add_job(engine, agent_id, "Management", target_path="/srv/old.pem")
    recent = add_job(engine, agent_id, "Reenrollment", target_path=None)
    queries = [
        ('ScheduleType -startswith "W_" AND Requested -lt %TODAY-7%', weekly),
        (f'AgentId -eq "{agent_id}" AND Target -endswith "old.pem"', targeted),
        (f'Id -eq "{recent}" AND NextRun -le "2026-11-29T12:00:00Z"', recent),
    ]
    for query, job_id in queries:
        assert admin.post(URL, json={"Query": query}).status_code == 204, query
        assert job_row(engine, job_id) is None, query
    assert admin.get("/KeyfactorAPI/OrchestratorJobs/ScheduledJobs").json() == []


@pytest.mark.parametrize("by", ["ids", "query"])
def test_a_run_in_flight_is_closed_as_failed(clients: tuple[TestClient, TestClient], engine: Engine, by: str) -> None:
    admin, agents = clients
    agent_id = add_agent(engine)
    job_id = add_job(engine, agent_id, "RestartWebService", schedule=HOURLY)
    other = add_job(engine, agent_id, "Management")
    hand_out(engine, agent_id)
    audit_id = job_row(engine, job_id).running_history_id
    body = {"JobIds": [str(job_id)]} if by == "ids" else {"Query": 'JobType -eq "RestartWebService"'}
    complete_body = {"JobId": str(job_id), "AuditId": audit_id}

    assert admin.post(URL, json=body).status_code == 204

    assert job_row(engine, job_id) is None
    (run,) = runs(engine, job_id)
    assert (run.id, run.status, run.result, run.message, run.operation_end) == (audit_id, 3, 4, IN_FLIGHT_MESSAGE, NOW)
    assert runs(engine, other)[0].status == 1  # another job's run is left alone
    # The orchestrator's late report is refused: the job is gone.
    job_row_before = job_row(engine, other)
    answer = complete_for(agents, engine, agent_id, complete_body)
    assert answer["Result"]["Status"] == 3 and answer["Result"]["Error"]["CodeString"] == "A0100004"
    assert job_row(engine, other) == job_row_before
    assert complete(agents, engine, other, status=2) == {"Result": {"Status": 1}}


def complete_for(agents: TestClient, engine: Engine, agent_id: uuid.UUID, body: dict[str, object]) -> dict[str, Any]:
    body = {"SessionToken": open_session(engine, agent_id), "Status": 2, **body}
    response = agents.post("/KeyfactorAgents/Jobs/Complete", json=body)
    assert response.status_code == 200
    answer: dict[str, Any] = response.json()
    return answer


BAD_BODIES = [
    ({"JobIds": ["3f2504e0-4f89-11d3-9a0c-0305e82c3301"], "Query": 'JobType -eq "x"'}, "not both"),
    ({}, "required"),
    ({"JobIds": None, "Query": None}, "required"),
    ({"JobIds": []}, "at least one"),
    ({"JobIds": ["not-a-guid", 7]}, 'only GUID strings; not: "not-a-guid", 7'),
    ({"JobIds": "3f2504e0-4f89-11d3-9a0c-0305e82c3301"}, "array of GUID strings"),
    ({"Query": ""}, "blank"),
    ({"Query": 5}, "must be a string"),
    ({"Query": 'Result -eq "4"'}, "unknown field 'Result' for ScheduledJobs"),
    ({"Query": 'JobType -eq "x" AND'}, "position"),
]


def test_bad_bodies_are_refused_and_change_nothing(clients: tuple[TestClient, TestClient], engine: Engine) -> None:
    admin, _agents = clients
    add_job(engine, add_agent(engine), "Management")
    before = snapshot(engine)
    for payload, fragment in BAD_BODIES:
        response = admin.post(URL, json=payload)
        assert response.status_code == 400, payload
        assert fragment in response.json()["Message"], (payload, response.json())
    for raw in (b'["3f2504e0-4f89-11d3-9a0c-0305e82c3301"]', b"{", b""):
        response = admin.post(URL, content=raw, headers={"content-type": "application/json"})
        assert (response.status_code, set(response.json())) == (400, {"ErrorCode", "Message"}), raw
    assert snapshot(engine) == before


def test_a_run_started_while_the_job_is_being_unscheduled_is_closed_too(
    clients: tuple[TestClient, TestClient], engine: Engine
) -> None:
    """A Heartbeat hands the job out in a transaction that commits only after Unschedule has started (and waits on
    the job's lock, on either database): the job goes, and the run the Heartbeat started does not stay in flight."""
    admin, _agents = clients
    agent_id = add_agent(engine)
    job_id = add_job(engine, agent_id, "Management", schedule=HOURLY)
    answers: list[int] = []
    with write_transaction(engine) as conn:
        (claimed,) = dispatch.claim_due_jobs(
            conn, agent_id=agent_id, capabilities={"certstores.pem.management"}, now=NOW
        )
        (run_id,) = dispatch.insert_runs(
            conn,
            runs=[
                {"job_id": job_id, "agent_id": agent_id, "client_machine": "web01", "job_type": "Management",
                 "operation_start": NOW, "status": 1, "result": 0}
            ],
        )  # fmt: skip
        dispatch.mark_handed_out(conn, jobs=[(claimed.id, run_id, NOW + timedelta(hours=1))], started_at=NOW)
        unscheduling = threading.Thread(
            target=lambda: answers.append(admin.post(URL, json={"Query": 'JobType -eq "Management"'}).status_code)
        )
        unscheduling.start()
        time.sleep(0.5)  # Unschedule is now waiting for the Heartbeat's transaction
        assert answers == []
    unscheduling.join(timeout=30)

    assert answers == [204]
    assert job_row(engine, job_id) is None
    (run,) = runs(engine, job_id)
    assert (run.id, run.status, run.result, run.message) == (run_id, 3, 4, IN_FLIGHT_MESSAGE)
