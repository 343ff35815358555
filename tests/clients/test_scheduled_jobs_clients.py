"""Keyfactor's published Python clients call ScheduledJobs, Reschedule and Unschedule on a real orchjobs process, once
per client and database (see test_published_clients.py for what each client sends and parses)."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.clients.conftest import ClientScripts
from tests.scheduling import NOW, WEEKLY, add_agent, add_job, add_run, job_row

SCRIPTS = {"keyfactor-v-1-client": "scheduled_v1.py", "keyfactor-command-sdk": "scheduled_v11.py"}


@pytest.fixture(params=sorted(SCRIPTS))
def script(request: pytest.FixtureRequest) -> str:
    return SCRIPTS[request.param]


def attribute(kind: str, value: Any) -> dict[str, Any]:
    return {"kind": kind, "value": value}


def test_scheduled_jobs_parse_into_the_clients_job_model(
    script: str, client_scripts: ClientScripts, engine: Engine
) -> None:
    agent_id = add_agent(engine, name="web01.example.com")
    weekly = add_job(engine, agent_id, "Management", schedule=WEEKLY, target_path="/etc/ssl/app.pem")
    logs = add_job(engine, agent_id, "FetchLogs", target_path=None, requested_at=NOW - timedelta(days=2))

    output = client_scripts.run(script, "scheduled-jobs", "--sort-field", "Requested", "--sort-ascending", 1)

    assert output["status_code"] == 200, output
    first, second = output["items"]
    assert {key: first[key] for key in ("id", "client_machine", "target", "requested", "job_type")} == {
        "id": attribute("str", str(weekly)),
        "client_machine": attribute("str", "web01.example.com"),
        "target": attribute("str", "/etc/ssl/app.pem"),
        "requested": attribute("str", "2026-11-28T12:00:00Z"),
        "job_type": attribute("str", "Management"),
    }
    assert first["schedule_detail"]["weekly"]["days"] == [1, 3]
    assert second["id"] == attribute("str", str(logs))
    assert second["target"] == attribute("unset", None)
    assert second["schedule_detail"] == {"immediate": True}
    if first["additional_keys"] is not None:  # the v1 client keeps the keys it does not know: our extensions
        assert first["additional_keys"] == ["AgentId", "NextRun"]

    found = client_scripts.run(script, "scheduled-jobs", "--query", 'JobType -eq "fetchlogs"', "--limit", 1)
    assert [item["id"]["value"] for item in found["items"]] == [str(logs)]


def test_reschedule_and_unschedule_by_ids_and_by_query(
    script: str, client_scripts: ClientScripts, engine: Engine
) -> None:
    agent_id = add_agent(engine)
    by_id = add_job(engine, agent_id, "Management", next_run_at=None)
    by_query = add_job(engine, agent_id, "Reenrollment", next_run_at=None)
    failed_id, _ = add_run(engine, by_id), add_run(engine, by_query)
    before = datetime.now(UTC)

    rescheduled = client_scripts.run(script, "reschedule", "--ids", failed_id)
    queried = client_scripts.run(script, "reschedule", "--query", 'JobType -eq "Reenrollment" AND Result -eq 4')

    assert (rescheduled["status_code"], rescheduled["content"]) == (204, "")
    assert queried["status_code"] == 204
    assert all(before <= job_row(engine, job_id).next_run_at <= datetime.now(UTC) for job_id in (by_id, by_query))

    unscheduled = client_scripts.run(script, "unschedule", "--ids", str(by_id))
    queried = client_scripts.run(script, "unschedule", "--query", 'JobType -eq "Reenrollment"')

    assert (unscheduled["status_code"], queried["status_code"]) == (204, 204)
    assert unscheduled["sent"] == {"JobIds" if script == "scheduled_v1.py" else "jobIds": [str(by_id)]}
    assert job_row(engine, by_id) is None and job_row(engine, by_query) is None
