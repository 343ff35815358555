"""The reference orchestrator against a real server process: register, be approved, run jobs, and see the
outcomes where an operator sees them (JobHistory, JobStatus/Data, the store's inventory, the PEM file itself).
The orchestrator runs as `python -m orchjobs orchestrator --once`, exactly as a user would run it; the jobs are
arranged in the database (stores, store jobs) or made through the admin API as a user makes them (custom job types
and custom jobs: POST /JobTypes/Custom, POST /OrchestratorJobs/Custom)."""

import base64
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, insert, select

from orchjobs.domain.capabilities import FETCH_LOGS, custom_capability, store_capability
from orchjobs.orchestrator.identity import STATE_FILE
from orchjobs.orchestrator.runner import CAPABILITIES_ENV, LOG_FILE
from orchjobs.store.tables import (
    agent,
    certificate_store_entry,
    job_type,
    scheduled_job,
)
from tests import factories
from tests.live import ADMIN, API_HEADERS
from tests.orchestrator.certificates import make_certificate

NAME = "e2e-orchestrator.example.com"
CUSTOM = custom_capability("EchoFields")
INVENTORY = store_capability("PEM", "Inventory")
MANAGEMENT = store_capability("PEM", "Management")
RUN_SECONDS = 60
COMPLETED, SUCCESS, FAILURE = 3, 2, 4
COMPLETED_WILL_RETRY = 5  # a failed run while JobRetries (3 by default) are left
DISK_USAGE = "DiskUsage=orchjobs.orchestrator.examples:disk_usage"


# -- the orchestrator and the admin API --------------------------------------------------------------------------


def run_orchestrator(
    base_url: str, store_dir: Path, *, extra_capabilities: str = "", options: Sequence[str] = ()
) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ORCHJOBS_")}
    if extra_capabilities:
        env[CAPABILITIES_ENV] = extra_capabilities
    command = [
        sys.executable, "-m", "orchjobs", "orchestrator",
        "--url", f"{base_url}/KeyfactorAgents", "--name", NAME, "--store-dir", str(store_dir),
        "--username", ADMIN[0], "--password", ADMIN[1], "--once", *options,
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=RUN_SECONDS, check=False)
    server_log = (store_dir.parent / "server.log").read_text(errors="replace")[-6000:]  # live_server writes it
    assert done.returncode == 0, f"orchestrator exited {done.returncode}:\n{done.stderr}\nserver log:\n{server_log}"


def admin_get(base_url: str, path: str, **params: Any) -> Any:
    response = httpx.get(f"{base_url}/KeyfactorAPI{path}", params=params, headers=API_HEADERS, auth=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


def admin_post(base_url: str, path: str, body: Any) -> Any:
    response = httpx.post(f"{base_url}/KeyfactorAPI{path}", json=body, headers=API_HEADERS, auth=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


def registered_and_approved(
    base_url: str, engine: Engine, store_dir: Path, *, options: Sequence[str] = ()
) -> uuid.UUID:
    """Run the orchestrator once (it registers, is New, and gets no jobs), then approve it through the API."""
    run_orchestrator(base_url, store_dir, options=options)
    agent_id = json.loads((store_dir / STATE_FILE).read_text())["AgentId"]
    assert admin_get(base_url, "/OrchestratorJobs/JobHistory") == []
    response = httpx.post(f"{base_url}/KeyfactorAPI/Agents/Approve", json=[agent_id], headers=API_HEADERS, auth=ADMIN)
    assert response.status_code == 204, response.text
    with engine.connect() as conn:
        assert conn.execute(select(agent.c.status).where(agent.c.id == uuid.UUID(agent_id))).scalar_one() == 2
    return uuid.UUID(agent_id)


def runs_by_job(base_url: str) -> dict[uuid.UUID, dict[str, Any]]:
    return {uuid.UUID(item["JobId"]): item for item in admin_get(base_url, "/OrchestratorJobs/JobHistory")}


def outcomes(runs: dict[uuid.UUID, dict[str, Any]]) -> dict[uuid.UUID, tuple[int, int, str | None]]:
    return {job_id: (run["Status"], run["Result"], run.get("Message")) for job_id, run in runs.items()}


# -- arranging stores and jobs in the database -------------------------------------------------------------------


def add_store(engine: Engine, agent_id: uuid.UUID, path: Path) -> uuid.UUID:
    return factories.add_store(engine, agent_id, path=str(path))


def add_due_job(
    engine: Engine,
    agent_id: uuid.UUID,
    job_type_name: str,
    capability: str,
    *,
    store_id: uuid.UUID | None = None,
    fields: dict[str, Any] | None = None,
    priority: int = 5,
) -> uuid.UUID:
    """An Immediate job that is due now; a custom job type is created on first use."""
    job_id, now = uuid.uuid4(), datetime.now(UTC)
    # IMMEDIATE on SQLite, as the service's writes: a deferred read-then-write fails at once with "database is
    # locked" when the live server wrote in between (its snapshot is stale; no busy wait helps).
    with engine.execution_options(sqlite_begin="IMMEDIATE").begin() as conn:
        type_id = conn.execute(select(job_type.c.id).where(job_type.c.name == job_type_name)).scalar()
        if type_id is None:
            type_id = uuid.uuid4()
            conn.execute(insert(job_type).values(id=type_id, name=job_type_name, is_custom=True))
        conn.execute(
            insert(scheduled_job).values(
                id=job_id,
                agent_id=agent_id,
                job_type_id=type_id,
                certificate_store_id=store_id,
                fields=json.dumps(fields) if fields is not None else None,
                capability=capability,
                priority=priority,
                requested_at=now,
                next_run_at=now - timedelta(seconds=5),
            )
        )
    return job_id


def schedule_custom_job(
    base_url: str, *, agent_id: uuid.UUID, job_type_request: dict[str, Any], job_fields: dict[str, str]
) -> uuid.UUID:
    """Define the custom job type (once) and schedule an Immediate job of it on the orchestrator, as a user does:
    POST /JobTypes/Custom, then POST /OrchestratorJobs/Custom. Its JobId."""
    name = job_type_request["JobTypeName"]
    if not admin_get(base_url, "/JobTypes/Custom", **{"pq.queryString": f'JobTypeName -eq "{name}"'}):
        admin_post(base_url, "/JobTypes/Custom", job_type_request)
    job = admin_post(
        base_url, "/OrchestratorJobs/Custom", {"AgentId": str(agent_id), "JobTypeName": name, "JobFields": job_fields}
    )
    return uuid.UUID(job["JobId"])


def store_entries(engine: Engine, store_id: uuid.UUID) -> set[tuple[str, bool]]:
    columns = (certificate_store_entry.c.alias, certificate_store_entry.c.private_key_entry)
    with engine.connect() as conn:
        rows = conn.execute(select(*columns).where(certificate_store_entry.c.store_id == store_id)).all()
    return {(alias.lower(), bool(has_key)) for alias, has_key in rows}


# -- the tests ---------------------------------------------------------------------------------------------------


def test_an_approved_orchestrator_runs_inventory_custom_and_fetch_logs_jobs(
    live_server: str, engine: Engine, tmp_path: Path
) -> None:
    store_dir = tmp_path / "stores"
    store_dir.mkdir()
    web, api = make_certificate("web.example.com"), make_certificate("api.example.com")
    (store_dir / "app.pem").write_text(web.pem + web.key_pem + api.pem)
    agent_id = registered_and_approved(live_server, engine, store_dir)
    store_id = add_store(engine, agent_id, store_dir / "app.pem")
    inventory = add_due_job(engine, agent_id, "Inventory", INVENTORY.name, store_id=store_id)
    custom = add_due_job(engine, agent_id, "EchoFields", CUSTOM.name, fields={"Greeting": "hello", "Count": "3"})
    logs = add_due_job(engine, agent_id, "FetchLogs", FETCH_LOGS)

    run_orchestrator(live_server, store_dir, extra_capabilities=CUSTOM.name)

    runs = runs_by_job(live_server)
    assert {job_id: outcome[:2] for job_id, outcome in outcomes(runs).items()} == dict.fromkeys(
        [inventory, custom, logs], (COMPLETED, SUCCESS)
    ), outcomes(runs)
    assert {run["AgentId"] for run in runs.values()} == {str(agent_id)}
    assert store_entries(engine, store_id) == {(web.alias, True), (api.alias, False)}

    custom_data = admin_get(live_server, "/OrchestratorJobs/JobStatus/Data", jobHistoryId=runs[custom]["JobHistoryId"])
    assert json.loads(custom_data["Data"]) == {"Greeting": "hello", "Count": "3"}

    log = admin_get(live_server, "/OrchestratorJobs/JobStatus/Data", jobHistoryId=runs[logs]["JobHistoryId"])["Data"]
    assert f"Registered as {NAME}" in log
    assert log in (store_dir / LOG_FILE).read_text()


def test_management_jobs_change_the_pem_file_and_the_next_inventory_reports_the_delta(
    live_server: str, engine: Engine, tmp_path: Path
) -> None:
    store_dir = tmp_path / "stores"
    store_dir.mkdir()
    web, api, new = (make_certificate(f"{name}.example.com") for name in ("web", "api", "new"))
    (store_dir / "app.pem").write_text(web.pem + api.pem)
    agent_id = registered_and_approved(live_server, engine, store_dir)
    store_id = add_store(engine, agent_id, store_dir / "app.pem")
    add_due_job(engine, agent_id, "Inventory", INVENTORY.name, store_id=store_id)
    run_orchestrator(live_server, store_dir)
    assert store_entries(engine, store_id) == {(web.alias, False), (api.alias, False)}

    # Add one certificate (Priority 3: the orchestrator runs adds first), remove another, add a duplicate,
    # and take a new inventory, which the orchestrator runs after the management jobs.
    entry = {"OperationType": 2, "EntryContents": base64.b64encode(new.der).decode()}
    add = add_due_job(engine, agent_id, "Management", MANAGEMENT.name, store_id=store_id, fields=entry, priority=3)
    duplicate = add_due_job(
        engine, agent_id, "Management", MANAGEMENT.name, store_id=store_id, fields={**entry, "EntryContents": web.pem}
    )
    removal = {"OperationType": 3, "Alias": api.alias}
    remove = add_due_job(engine, agent_id, "Management", MANAGEMENT.name, store_id=store_id, fields=removal)
    inventory = add_due_job(engine, agent_id, "Inventory", INVENTORY.name, store_id=store_id)
    run_orchestrator(live_server, store_dir)

    results = outcomes(runs_by_job(live_server))
    assert results[add][:2] == results[remove][:2] == results[inventory][:2] == (COMPLETED, SUCCESS), results
    assert results[duplicate][:2] == (COMPLETED, 3), results
    assert "already in the store" in (results[duplicate][2] or "")
    assert (store_dir / "app.pem").read_text() == web.pem + new.pem
    assert store_entries(engine, store_id) == {(web.alias, False), (new.alias, False)}


# -- custom jobs -------------------------------------------------------------------------------------------------

DISK_USAGE_TYPE = {
    "JobTypeName": "DiskUsage",
    "Description": "How full the file system holding Path is.",
    "JobTypeFields": [
        {"Name": "Path", "Type": 1, "Required": True},
        {"Name": "WarnAbovePercent", "Type": 2, "DefaultValue": "90", "Required": False},
    ],
}
ECHO_TYPE = {"JobTypeName": "EchoFields", "JobTypeFields": [{"Name": "Text", "Type": 1, "Required": True}]}


def test_custom_jobs_run_their_handlers_and_their_result_data_is_read_back(
    live_server: str, engine: Engine, tmp_path: Path
) -> None:
    store_dir = tmp_path / "stores"
    store_dir.mkdir()
    options = ["--capability", DISK_USAGE, "--capability", "EchoFields", "--max-data-bytes", "1000"]
    # Registered with the capabilities, so that the jobs can be scheduled on it.
    agent_id = registered_and_approved(live_server, engine, store_dir, options=options)
    schedule = partial(schedule_custom_job, live_server, agent_id=agent_id)
    fits = schedule(job_type_request=DISK_USAGE_TYPE, job_fields={"Path": ".", "WarnAbovePercent": "100"})
    missing = schedule(job_type_request=DISK_USAGE_TYPE, job_fields={"Path": "gone"})
    too_big = schedule(job_type_request=ECHO_TYPE, job_fields={"Text": "x" * 2000})

    run_orchestrator(live_server, store_dir, options=options)

    runs = runs_by_job(live_server)
    assert {job_id: (run["JobType"], run["Result"]) for job_id, run in runs.items()} == {
        fits: ("DiskUsage", SUCCESS),
        missing: ("DiskUsage", FAILURE),
        too_big: ("EchoFields", FAILURE),
    }, outcomes(runs)
    assert runs[fits]["Status"] == COMPLETED
    assert runs[fits]["Message"].startswith(f"The file system of {store_dir} is ")
    data = admin_get(live_server, "/OrchestratorJobs/JobStatus/Data", jobHistoryId=runs[fits]["JobHistoryId"])
    facts = json.loads(data["Data"])
    assert (facts["Path"], facts["Kind"]) == (str(store_dir), "Directory")
    assert facts["TotalBytes"] >= facts["UsedBytes"] >= 0 and 0 <= facts["UsedPercent"] <= 100

    assert (runs[missing]["Status"], runs[missing]["Message"]) == (
        COMPLETED_WILL_RETRY,
        f"The path {store_dir / 'gone'} does not exist.",
    )
    assert runs[too_big]["Message"] == (
        "The result data (2,012 bytes) is over the 1,000-byte upload limit and was not sent. The job reported Success."
    )
    for failed in (missing, too_big):
        no_data = admin_get(live_server, "/OrchestratorJobs/JobStatus/Data", jobHistoryId=runs[failed]["JobHistoryId"])
        assert no_data["Data"] == ""  # the server answers a run without data so
