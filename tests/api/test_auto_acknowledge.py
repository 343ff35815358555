"""Auto-acknowledge (extension, setting AutoAcknowledgeFailures): when a run of a job succeeds, the earlier open
failures and warnings of that job are acknowledged by the system in the same transaction. On both databases."""

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from orchjobs.settings import Settings
from orchjobs.store.tables import job_history
from tests.scheduling import HOURLY, NOW, add_agent, add_job, add_run, clients_at_now, complete, hand_out

JOBS = "/KeyfactorAPI/OrchestratorJobs"
SYSTEM = "(system)"
SUCCESS, FAILURE = 2, 4


@pytest.fixture
def clients(settings: Settings) -> Iterator[tuple[TestClient, TestClient]]:
    with clients_at_now(settings) as both:
        yield both


def _switch(admin: TestClient, value: str) -> None:
    response = admin.put("/KeyfactorAPI/AppSetting/AutoAcknowledgeFailures/Set", json={"Value": value})
    assert response.status_code == 200, response.text


def _rows(engine: Engine) -> dict[int, Any]:
    with engine.connect() as conn:
        return {row.id: row for row in conn.execute(select(job_history))}


def _unacknowledge(admin: TestClient, ids: list[int], start: threading.Barrier, answers: list[int]) -> None:
    start.wait()
    answers.append(admin.post(f"{JOBS}/Unacknowledge", json={"JobAuditIds": ids}).status_code)


def _failure_count(admin: TestClient) -> int:
    count: int = admin.get(f"{JOBS}/JobHistory/FailureCount").json()["Count"]
    return count


def test_off_by_default_a_success_leaves_earlier_failures_open(
    clients: tuple[TestClient, TestClient], engine: Engine
) -> None:
    admin, agents = clients
    agent_id = add_agent(engine)
    job_id = add_job(engine, agent_id, "Inventory", schedule=HOURLY)
    failed = add_run(engine, job_id, operation_start=NOW - timedelta(hours=2))
    hand_out(engine, agent_id)

    complete(agents, engine, job_id, status=SUCCESS)

    assert admin.get("/KeyfactorAPI/AppSetting/AutoAcknowledgeFailures").json()["Value"] == "False"
    assert _rows(engine)[failed].status == 3
    assert _failure_count(admin) == 1


def test_a_success_acknowledges_the_earlier_failures_of_its_job_only(
    clients: tuple[TestClient, TestClient], engine: Engine
) -> None:
    admin, agents = clients
    _switch(admin, "true")
    agent_id = add_agent(engine)
    job_id, other_job = (add_job(engine, agent_id, "Inventory", schedule=HOURLY) for _ in range(2))
    earlier = [
        add_run(engine, job_id, operation_start=NOW - timedelta(hours=3)),
        add_run(engine, job_id, result=3, status=5, operation_start=NOW - timedelta(hours=2)),
    ]
    elsewhere = add_run(engine, other_job, operation_start=NOW - timedelta(hours=2))
    hand_out(engine, agent_id)
    complete(agents, engine, other_job, status=FAILURE)  # a failure acknowledges nothing

    complete(agents, engine, job_id, status=SUCCESS)

    rows = _rows(engine)
    for row_id, status_before in zip(earlier, (3, 5), strict=True):
        assert (rows[row_id].status, rows[row_id].status_before_ack) == (4, status_before)
        assert rows[row_id].acknowledged_by == SYSTEM
        assert rows[row_id].acknowledged_at == NOW
        assert "succeeded" in rows[row_id].acknowledge_note
    assert rows[elsewhere].status == 3
    assert _failure_count(admin) == 2  # the other job's two failures
    audit = admin.get("/KeyfactorAPI/Audit", params={"QueryString": "Action -eq AutoAcknowledge"}).json()
    assert [(entry["Actor"], entry["RowCount"], entry["Resource"]) for entry in audit] == [(SYSTEM, 2, "JobHistory")]
    assert audit[0]["Details"]["JobId"] == str(job_id)
    # Operators can undo it like any acknowledgement.
    assert admin.post(f"{JOBS}/Unacknowledge", json={"JobAuditIds": earlier}).status_code == 204
    assert _failure_count(admin) == 4


def test_auto_acknowledge_racing_a_manual_unacknowledge_leaves_every_run_consistent(
    clients: tuple[TestClient, TestClient], engine: Engine
) -> None:
    """Both orders are allowed; a half-done mixture of the two is not."""
    admin, agents = clients
    _switch(admin, "on")
    agent_id = add_agent(engine)
    job_id = add_job(engine, agent_id, "Inventory", schedule=HOURLY)
    for attempt in range(4):
        acknowledged = [
            add_run(
                engine,
                job_id,
                status=4,
                status_before_ack=3,
                acknowledged_by="admin",
                acknowledged_at=NOW,
                operation_start=NOW - timedelta(hours=5 + attempt),
            )
            for _ in range(5)
        ]
        assert hand_out(engine, agent_id, now=NOW + timedelta(hours=attempt)) == [job_id]
        start = threading.Barrier(2)
        answers: list[int] = []

        worker = threading.Thread(target=_unacknowledge, args=(admin, acknowledged, start, answers))
        worker.start()
        start.wait()
        complete(agents, engine, job_id, status=SUCCESS)
        worker.join()

        assert answers == [204]
        rows = _rows(engine)
        states = {(rows[i].status, rows[i].status_before_ack, rows[i].acknowledged_by) for i in acknowledged}
        # Unacknowledge first, then the success acknowledged them all; or the success found them acknowledged
        # already (nothing to do) and Unacknowledge opened them all.
        assert states in ({(4, 3, SYSTEM)}, {(3, None, None)}), states
        # Clean up for the next attempt: these runs are done with.
        assert admin.post(f"{JOBS}/Acknowledge", json={"JobAuditIds": acknowledged}).status_code == 204
