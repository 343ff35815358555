"""Request logs, protocol events, /metrics, /healthz and /readyz, through HTTP on both databases."""

import json
import logging
import time
import uuid
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine
from starlette.testclient import TestClient

from orchjobs.app import create_app
from orchjobs.logs import JsonFormatter, PlainFormatter
from orchjobs.settings import Settings
from orchjobs.store.migrate import downgrade, upgrade
from tests.api.test_agent_jobs import add_agent, add_job, agent_client, complete, open_session, post, runs
from tests.conftest import api_client
from tests.live import ADMIN, read_log, running_server

AGENT_ROUTE = "/KeyfactorAPI/Agents/{agent_id}"


def access_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "orchjobs.access"]


def logged_lines(path: Path, marker: str) -> list[dict[str, object]]:
    """The JSON lines of a server's log holding `marker`; the line is written just after the answer is sent."""
    deadline = time.monotonic() + 10
    while True:
        with path.open("rb") as log:
            found = [json.loads(line) for line in read_log(log).splitlines() if marker in line]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one series in a Prometheus exposition, 0 when it is not there yet."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and all(found.labels.get(key) == value for key, value in labels.items()):
                return float(found.value)
    return 0.0


def test_each_request_logs_one_line_with_its_route_status_user_and_the_id_it_echoes(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="orchjobs")
    missing = uuid.uuid4()

    response = client.get(f"/KeyfactorAPI/Agents/{missing}", headers={"X-Request-Id": "trace-42.a:b"})

    assert response.status_code == 404
    assert response.headers["x-request-id"] == "trace-42.a:b"
    (record,) = access_records(caplog)
    fields = {key: getattr(record, key) for key in ("method", "route", "status", "user", "agent_id", "request_id")}
    assert fields == {
        "method": "GET",
        "route": AGENT_ROUTE,
        "status": 404,
        "user": ADMIN[0],
        "agent_id": None,
        "request_id": "trace-42.a:b",
    }
    assert record.duration_ms >= 0  # type: ignore[attr-defined]
    plain = PlainFormatter().format(record)
    assert f" INFO orchjobs.access GET {AGENT_ROUTE} 404 " in plain
    assert plain.endswith(f"ms user={ADMIN[0]!r} request_id=trace-42.a:b")
    line = json.loads(JsonFormatter().format(record))
    assert {key: line[key] for key in ("level", "logger", "method", "route", "status", "user", "request_id")} == {
        "level": "INFO",
        "logger": "orchjobs.access",
        "method": "GET",
        "route": AGENT_ROUTE,
        "status": 404,
        "user": ADMIN[0],
        "request_id": "trace-42.a:b",
    }


@pytest.mark.parametrize("sent", ["", "x" * 129, "two words", "<script>"])
def test_a_missing_or_odd_request_id_is_replaced_by_a_new_one(
    client: TestClient, caplog: pytest.LogCaptureFixture, sent: str
) -> None:
    caplog.set_level(logging.INFO, logger="orchjobs")

    response = client.get("/healthz", headers={"X-Request-Id": sent} if sent else {})

    assert response.status_code == 200
    made = response.headers["x-request-id"]
    assert len(made) == 32 and made != sent
    (record,) = access_records(caplog)
    assert (record.route, record.request_id, record.user) == ("/healthz", made, None)  # type: ignore[attr-defined]


def test_an_unmatched_path_is_logged_with_its_path_and_counted_as_unmatched(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="orchjobs")

    assert client.get("/no/such/page").status_code == 404

    (record,) = access_records(caplog)
    assert (record.route, record.path, record.status) == ("(unmatched)", "/no/such/page", 404)  # type: ignore[attr-defined]
    metrics = client.get("/metrics").text
    assert sample(metrics, "orchjobs_http_requests_total", route="(unmatched)", status="404") >= 1


def test_protocol_calls_log_their_events_and_count_jobs_by_type(
    engine: Engine, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="orchjobs")
    agent_id = add_agent(engine)
    job_id = add_job(engine, agent_id, schedule={"Immediate": True})
    token = open_session(engine, agent_id)
    with api_client(settings) as admin:
        before = admin.get("/metrics").text
    job_type = "Inventory"
    dispatched = sample(before, "orchjobs_jobs_dispatched_total", job_type=job_type)
    failed = sample(before, "orchjobs_jobs_failed_total", job_type=job_type)

    with agent_client(settings) as agents:
        beat = agents.post("/KeyfactorAgents/Session/Heartbeat", json={"SessionToken": token}).json()
        assert [job["JobId"] for job in beat["Jobs"]] == [str(job_id)]
        (run,) = runs(engine, job_id)
        complete(agents, token, job_id, run.id, 4, Message="Store not found")
        refused = post(
            agents, "Complete", {"SessionToken": token, "JobId": str(job_id), "AuditId": run.id, "Status": 2}
        )
        assert refused["Result"]["Status"] == 3

    messages = [record.getMessage() for record in caplog.records if record.name == "orchjobs.events"]
    assert f"job handed out agent={agent_id} machine='web01.example.com' job={job_id} type={job_type}" in messages
    assert f"job completed agent={agent_id} job={job_id} type={job_type} audit_id={run.id} result=failure" in messages
    assert any(m.startswith(f"call refused call=Complete agent={agent_id} job={job_id} code=0x") for m in messages)
    beats = [r for r in access_records(caplog) if r.route == "/KeyfactorAgents/Session/Heartbeat"]  # type: ignore[attr-defined]
    assert [(r.agent_id, r.user, r.status) for r in beats] == [(str(agent_id), None, 200)]  # type: ignore[attr-defined]
    with api_client(settings) as admin:
        after = admin.get("/metrics").text
    assert sample(after, "orchjobs_jobs_dispatched_total", job_type=job_type) == dispatched + 1
    assert sample(after, "orchjobs_jobs_failed_total", job_type=job_type) == failed + 1
    heartbeat_route = {"route": "/KeyfactorAgents/Session/Heartbeat"}
    assert sample(after, "orchjobs_http_requests_total", method="POST", status="200", **heartbeat_route) >= 1
    assert sample(after, "orchjobs_http_request_duration_seconds_count", **heartbeat_route) >= 1
    assert sample(after, "orchjobs_open_failures") >= 1
    assert sample(after, "orchjobs_orchestrators", status="approved") >= 1


def test_approvals_are_logged_with_the_user_who_made_them(
    engine: Engine, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="orchjobs")
    agent_id = add_agent(engine, status=1)

    assert client.post("/KeyfactorAPI/Agents/Approve", json=[str(agent_id)]).status_code == 204
    assert client.post("/KeyfactorAPI/Agents/Disapprove", json=[str(agent_id)]).status_code == 204

    messages = [record.getMessage() for record in caplog.records if record.name == "orchjobs.events"]
    assert messages == [
        f"orchestrator approved agent={agent_id} by={ADMIN[0]}",
        f"orchestrator disapproved agent={agent_id} by={ADMIN[0]}",
    ]


def test_healthz_and_readyz_answer_when_the_database_is_current(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ok"
    assert ready.json()["revision"] == ready.json()["head"]


def test_readyz_is_503_when_the_migrations_are_behind(engine: Engine, client: TestClient) -> None:
    downgrade(engine, "-1")
    try:
        ready = client.get("/readyz")
        assert client.get("/healthz").status_code == 200
    finally:
        upgrade(engine)
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "unavailable" and "migrate" in body["database"]
    assert body["revision"] != body["head"]


def test_readyz_is_503_when_the_database_does_not_answer(tmp_path: Path) -> None:
    settings = Settings(database_url="postgresql://nobody@127.0.0.1:1/nothing", ca_key_file=str(tmp_path / "ca.key"))
    # No start-up (no `with`): it would reach for the database.
    test_client = TestClient(create_app(settings))

    ready = test_client.get("/readyz")

    assert ready.status_code == 503
    assert ready.json()["database"].startswith("unreachable")
    assert test_client.get("/healthz").status_code == 200


def test_metrics_may_require_a_reader_or_be_turned_off(settings: Settings) -> None:
    guarded = settings.model_copy(update={"metrics": "authenticated"})
    with api_client(guarded, auth=None) as anonymous:
        assert anonymous.get("/metrics").status_code == 401
    with api_client(guarded) as admin:
        answer = admin.get("/metrics")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain")
        assert "orchjobs_http_requests_total" in answer.text
    with api_client(settings.model_copy(update={"metrics": "off"})) as admin:
        off = admin.get("/metrics")
        assert off.status_code == 404
        assert off.json()["ErrorCode"] == "0xA0110014"


def test_a_served_process_writes_json_log_lines(database_url: str, tmp_path: Path) -> None:
    environment = {"ORCHJOBS_LOG_FORMAT": "json", "ORCHJOBS_LOG_LEVEL": "info"}
    with running_server(database_url, tmp_path, environment=environment) as base_url:
        answer = httpx.get(f"{base_url}/healthz", headers={"X-Request-Id": "live-1"})
        assert answer.headers["x-request-id"] == "live-1"
        found = logged_lines(tmp_path / "server.log", '"live-1"')
    assert len(found) == 1
    assert {key: found[0][key] for key in ("logger", "method", "route", "status", "request_id")} == {
        "logger": "orchjobs.access",
        "method": "GET",
        "route": "/healthz",
        "status": 200,
        "request_id": "live-1",
    }
