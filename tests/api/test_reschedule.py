"""POST /KeyfactorAPI/OrchestratorJobs/Reschedule, and the closing rule that keeps a failed one-shot job
reschedulable; what acknowledging a run that will be retried does to its retry. On both databases."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, delete, select, update
from starlette.testclient import TestClient

from orchjobs.service.sweeper import fail_overdue_runs
from orchjobs.settings import Settings
from orchjobs.store.tables import job_history, scheduled_job
from tests.scheduling import (
    HOURLY,
    MONTHLY,
    NOW,
    WEEKLY,
    add_agent,
    add_job,
    add_run,
    clients_at_now,
    hand_out,
    job_row,
    restore_app_settings,
    run_job,
    runs,
    set_app_setting,
    snapshot,
)

URL = "/KeyfactorAPI/OrchestratorJobs/Reschedule"
SCHEDULED_JOBS = "/KeyfactorAPI/OrchestratorJobs/ScheduledJobs"
LATER = NOW + timedelta(minutes=1)


@pytest.fixture
def clients(settings: Settings, engine: Engine) -> Iterator[tuple[TestClient, TestClient]]:
    """(administrator, orchestrator) on the clock NOW; failed runs fail for good (JobRetries 0) unless a test says
    otherwise."""
    set_app_setting(engine, "JobRetries", 0)
    with clients_at_now(settings) as both:
        yield both
    restore_app_settings(engine)


def listed(admin: TestClient) -> set[str]:
    return {item["Id"] for item in admin.get(SCHEDULED_JOBS).json()}


def test_a_failed_one_shot_job_is_kept_rescheduled_and_handed_out_again(
    clients: tuple[TestClient, TestClient], engine: Engine
) -> None:
    admin, agents = clients
    agent_id = add_agent(engine)
    job_id = add_job(engine, agent_id, "Management")
    audit_id = run_job(agents, engine, job_id, status=4)

    # The run failed for good: the job stays, with no next run and nothing in flight, and is not listed.
    kept = job_row(engine, job_id)
    assert (kept.next_run_at, kept.running_history_id, kept.retry_count) == (None, None, 0)
    assert str(job_id) not in listed(admin)
    assert hand_out(engine, agent_id, now=NOW + timedelta(days=1)) == []

    response = admin.post(URL, json={"JobAuditIds": [audit_id]})

    assert (response.status_code, response.content) == (204, b"")
    assert job_row(engine, job_id).next_run_at == NOW
    assert str(job_id) in listed(admin)
    (run,) = runs(engine, job_id)
    assert (run.id, run.status, run.result) == (audit_id, 3, 4)  # the history row stays as it was
    # The next Heartbeat hands it out again as a new run; once that succeeds, the one-shot job is over.
    second = run_job(agents, engine, job_id, status=2, now=LATER)
    assert [(run.id, run.status, run.result) for run in runs(engine, job_id)] == [(audit_id, 3, 4), (second, 3, 2)]
    assert job_row(engine, job_id) is None


def test_failed_one_shot_jobs_that_cannot_be_rescheduled_are_deleted_as_before(
    clients: tuple[TestClient, TestClient], engine: Engine
) -> None:
    _admin, agents = clients
    agent_id = add_agent(engine)
    inventory = add_job(engine, agent_id, "Inventory")
    logs = add_job(engine, agent_id, "FetchLogs", target_path=None)
    custom = add_job(engine, agent_id, "RestartWebService", target_path=None)
    warned = add_job(engine, agent_id, "Management")
    for job_id in (inventory, logs, custom):
        run_job(agents, engine, job_id, status=4)
    run_job(agents, engine, warned, status=3)

    assert [job_row(engine, job_id) for job_id in (inventory, logs, custom, warned)] == [None] * 4
    assert all(runs(engine, job_id) for job_id in (inventory, logs, custom, warned))


def test_the_sweeper_keeps_a_failed_one_shot_job_too(clients: tuple[TestClient, TestClient], engine: Engine) -> None:
    agent_id = add_agent(engine)
    job_id = add_job(engine, agent_id, "Reenrollment")
    inventory = add_job(engine, agent_id, "Inventory")
    hand_out(engine, agent_id)

    assert fail_overdue_runs(engine, now=NOW + timedelta(hours=2)) == 2

    assert (job_row(engine, job_id).next_run_at, job_row(engine, job_id).running_history_id) == (None, None)
    assert job_row(engine, inventory) is None


def test_eligible_runs_by_id_make_their_jobs_due_now(clients: tuple[TestClient, TestClient], engine: Engine) -> None:
    admin, _agents = clients
    agent_id = add_agent(engine)
    weekly = add_job(engine, agent_id, "RestartWebService", schedule=WEEKLY, next_run_at=NOW + timedelta(days=1))
    monthly = add_job(engine, agent_id, "RestartWebService", schedule=MONTHLY, next_run_at=NOW + timedelta(days=16))
    discovery = add_job(engine, agent_id, "Discovery", schedule=HOURLY, next_run_at=NOW + timedelta(minutes=40))
    overdue = add_job(engine, agent_id, "Reenrollment", next_run_at=NOW - timedelta(hours=1))
    failed = add_run(engine, weekly)
    acknowledged = add_run(engine, monthly, status=4)  # Acknowledged failures can be rescheduled too
    discovered = add_run(engine, discovery)
    late = add_run(engine, overdue)
    with engine.begin() as conn:
        conn.execute(update(scheduled_job).where(scheduled_job.c.id == weekly).values(retry_count=2))

    response = admin.post(URL, json={"jobAuditIds": [failed, acknowledged, discovered, late, failed]})

    assert response.status_code == 204, response.text
    assert [job_row(engine, job).next_run_at for job in (weekly, monthly, discovery)] == [NOW] * 3
    assert job_row(engine, overdue).next_run_at == NOW - timedelta(hours=1)  # already due: it keeps its place
    assert job_row(engine, weekly).retry_count == 0  # a fresh attempt, with the whole retry budget
    assert set(hand_out(engine, agent_id)) == {weekly, monthly, discovery, overdue}
    # A recurring job goes on with its schedule after the extra run.
    assert job_row(engine, weekly).next_run_at == datetime(2026, 11, 30, 8, 30, tzinfo=UTC)  # Monday


def test_ineligible_ids_refuse_the_whole_request_with_a_reason_each(
    clients: tuple[TestClient, TestClient], engine: Engine
) -> None:
    admin, _agents = clients
    agent_id = add_agent(engine)
    eligible = add_run(engine, add_job(engine, agent_id, "Management", next_run_at=None))
    inventory = add_run(engine, add_job(engine, agent_id, "Inventory", schedule=HOURLY))
    logs = add_run(engine, add_job(engine, agent_id, "FetchLogs", next_run_at=None))
    immediate_custom = add_run(engine, add_job(engine, agent_id, "RestartWebService", next_run_at=None))
    hourly_custom = add_run(engine, add_job(engine, agent_id, "RestartWebService", schedule=HOURLY))
    succeeded = add_run(engine, add_job(engine, agent_id, "Management"), result=2)
    warned = add_run(engine, add_job(engine, agent_id, "Management"), result=3)
    retrying = add_run(engine, add_job(engine, agent_id, "Management"), status=5)
    waiting = add_run(engine, add_job(engine, agent_id, "Management"), status=1, result=0, operation_end=None)
    busy_job = add_job(engine, agent_id, "Discovery", schedule=WEEKLY, next_run_at=NOW + timedelta(days=1))
    busy = add_run(engine, busy_job)
    gone = add_run(engine, add_job(engine, agent_id, "Management"))
    with engine.begin() as conn:
        conn.execute(delete(scheduled_job).where(scheduled_job.c.id == job_of(engine, gone)))
        conn.execute(update(scheduled_job).where(scheduled_job.c.id == busy_job).values(running_history_id=busy))
    unknown = 987654321
    before = snapshot(engine)
    ids = [eligible, inventory, logs, immediate_custom, hourly_custom, succeeded, warned, retrying, waiting, busy]

    response = admin.post(URL, json={"JobAuditIds": [*ids, gone, unknown]})

    assert response.status_code == 400
    body = response.json()
    assert body["ErrorCode"] == "0xA0110050"
    assert body["Message"] == "11 of the 12 jobs cannot be rescheduled; no job was changed."
    reasons = {item["Id"]: item["Reason"] for item in body["FailedOperations"]}
    assert set(reasons) == set(ids[1:]) | {gone, unknown}
    assert "Inventory jobs cannot be rescheduled" in reasons[inventory]
    assert "FetchLogs jobs cannot be rescheduled" in reasons[logs]
    assert "only when scheduled Weekly or Monthly" in reasons[immediate_custom]
    assert "only when scheduled Weekly or Monthly" in reasons[hourly_custom]
    assert "completed successfully" in reasons[succeeded]
    assert "result of Failure" in reasons[warned]
    assert "will be retried" in reasons[retrying]
    assert "waiting to run" in reasons[waiting]
    assert "running now" in reasons[busy]
    assert "no longer exists" in reasons[gone]
    assert reasons[unknown] == f"Job history entry {unknown} was not found."
    assert snapshot(engine) == before


def job_of(engine: Engine, history_id: int) -> uuid.UUID:
    with engine.connect() as conn:
        job_id: uuid.UUID = conn.execute(
            select(job_history.c.job_id).where(job_history.c.id == history_id)
        ).scalar_one()
    return job_id


def test_by_query_only_the_jobs_of_eligible_runs_are_rescheduled(
    clients: tuple[TestClient, TestClient], engine: Engine
) -> None:
    admin, _agents = clients
    web, db = add_agent(engine), add_agent(engine, name="db01.example.com")
    later = NOW + timedelta(days=1)
    jobs = {
        "management": add_job(engine, web, "Management", next_run_at=None),
        "weekly_custom": add_job(engine, web, "RestartWebService", schedule=WEEKLY, next_run_at=later),
        "inventory": add_job(engine, web, "Inventory", schedule=HOURLY, next_run_at=later),
        "logs": add_job(engine, web, "FetchLogs", next_run_at=None),
        "immediate_custom": add_job(engine, web, "RestartWebService", next_run_at=None),
        "succeeded": add_job(engine, web, "Discovery", schedule=WEEKLY, next_run_at=later),
        "other_agent": add_job(engine, db, "Management", next_run_at=None),
    }
    for name, job_id in jobs.items():
        machine = "db01" if name == "other_agent" else "web01"
        add_run(engine, job_id, result=2 if name == "succeeded" else 4, client_machine=machine)

    # Command's documented query, narrowed to one orchestrator.
    query = 'Agent -eq "WEB01" AND JobType -ne "Inventory" AND Result -eq "4" AND (Status -eq "4" OR Status -eq "3")'
    assert admin.post(URL, json={"Query": query}).status_code == 204

    due = {name for name, job_id in jobs.items() if job_row(engine, job_id).next_run_at == NOW}
    assert due == {"management", "weekly_custom"}
    assert job_row(engine, jobs["other_agent"]).next_run_at is None
    # Every failed run, Inventory's too: the ineligible ones are left alone, and it is still a 204.
    assert admin.post(URL, json={"Query": "Result -eq Failure"}).status_code == 204
    assert job_row(engine, jobs["other_agent"]).next_run_at == NOW
    assert job_row(engine, jobs["inventory"]).next_run_at == later
    before = snapshot(engine)
    assert admin.post(URL, json={"Query": 'Agent -eq "nowhere"'}).status_code == 204
    assert admin.post(URL, json={"Query": "Result -eq Success"}).status_code == 204
    assert snapshot(engine) == before


BAD_BODIES = [
    ({"JobAuditIds": [1], "Query": "Result -eq 4"}, "not both"),
    ({}, "required"),
    ({"JobAuditIds": []}, "at least one"),
    ({"JobAuditIds": ["one", 2.5, True]}, "only integers"),
    ({"JobAuditIds": [2**63]}, "only integers"),
    ({"JobAuditIds": 5}, "array of integers"),
    ({"Query": "  "}, "blank"),
    ({"Query": ["Result -eq 4"]}, "must be a string"),
    ({"Query": 'Nonsense -eq "x"'}, "unknown field 'Nonsense' for JobHistory"),
    ({"Query": "(Result -eq 4"}, "position"),
]


def test_bad_bodies_are_refused_and_change_nothing(clients: tuple[TestClient, TestClient], engine: Engine) -> None:
    admin, _agents = clients
    add_run(engine, add_job(engine, add_agent(engine), "Management", next_run_at=None))
    before = snapshot(engine)
    for payload, fragment in BAD_BODIES:
        response = admin.post(URL, json=payload)
        assert response.status_code == 400, payload
        assert fragment in response.json()["Message"], (payload, response.json())
    for raw in (b"[1]", b"nope", b""):
        response = admin.post(URL, content=raw, headers={"content-type": "application/json"})
        assert (response.status_code, set(response.json())) == (400, {"ErrorCode", "Message"}), raw
    assert snapshot(engine) == before


# --- acknowledging a run that will be retried -----------------------------------------------------------------


def test_acknowledging_a_run_that_will_be_retried_leaves_the_retry_alone(
    clients: tuple[TestClient, TestClient], engine: Engine
) -> None:
    """Acknowledgement only takes the run out of the failure count: the retry still runs. Unschedule stops it;
    rescheduling the acknowledged run brings the retry forward."""
    admin, agents = clients
    set_app_setting(engine, "JobRetries", 2)
    set_app_setting(engine, "JobRetryDelay", 10)
    agent_id = add_agent(engine)
    retried, stopped, hurried = (add_job(engine, agent_id, "Management") for _ in range(3))
    audits = {job_id: run_job(agents, engine, job_id, status=4) for job_id in (retried, stopped, hurried)}
    assert {runs(engine, job_id)[0].status for job_id in audits} == {5}  # CompletedWillRetry
    before = {job_id: tuple(job_row(engine, job_id)) for job_id in audits}

    acknowledged = admin.post("/KeyfactorAPI/OrchestratorJobs/Acknowledge", json={"JobAuditIds": list(audits.values())})

    assert acknowledged.status_code == 204
    assert {runs(engine, job_id)[0].status for job_id in audits} == {4}
    assert {job_id: tuple(job_row(engine, job_id)) for job_id in audits} == before  # the retries are still due
    assert job_row(engine, retried).next_run_at == NOW + timedelta(minutes=10)
    assert job_row(engine, retried).retry_count == 1

    unscheduled = admin.post("/KeyfactorAPI/OrchestratorJobs/Unschedule", json={"JobIds": [str(stopped)]})
    assert unscheduled.status_code == 204
    rescheduled = admin.post(URL, json={"JobAuditIds": [audits[hurried]]})
    assert rescheduled.status_code == 204
    assert job_row(engine, hurried).next_run_at == NOW

    assert hand_out(engine, agent_id, now=NOW + timedelta(minutes=9)) == [hurried]
    assert hand_out(engine, agent_id, now=NOW + timedelta(minutes=10)) == [retried]
    assert job_row(engine, stopped) is None
