"""A job is handed to one orchestrator once: two server processes on one database, many orchestrators
checking in at the same moment through both of them; a registration through one server ends the sessions the other
opened."""

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, func, insert, select

from orchjobs.store.tables import job_history, job_type, scheduled_job
from tests.live import ADMIN, API_HEADERS, running_server

ORCHESTRATORS = 10
REGISTRATIONS_PER_ORCHESTRATOR = 4
CALLS_PER_ORCHESTRATOR = 8
JOBS_PER_ORCHESTRATOR = 20


def test_no_job_is_handed_out_twice(database_url: str, engine: Engine, tmp_path: Path) -> None:
    with (
        running_server(database_url, tmp_path, name="first") as first,
        running_server(database_url, tmp_path, name="second") as second,
        httpx.Client(timeout=60) as http,
    ):
        servers = [first, second]
        live: dict[str, str] = {}
        ended: list[str] = []
        for index in range(ORCHESTRATORS):
            for attempt in range(REGISTRATIONS_PER_ORCHESTRATOR):
                session = register(http, servers[(index + attempt) % 2], f"orch-{index:02d}.example.com")
                if session["AgentId"] in live:
                    ended.append(live[session["AgentId"]])
                live[session["AgentId"]] = session["Token"]
        approved = http.post(f"{first}/KeyfactorAPI/Agents/Approve", json=list(live), headers=API_HEADERS, auth=ADMIN)
        assert approved.status_code == 204, approved.text
        # A registration ended the orchestrator's older sessions, through whichever server opened them.
        for number, token in enumerate(ended):
            assert heartbeat_answer(http, servers[number % 2], token)["SessionValid"] is False
        job_ids = add_due_jobs(engine, [uuid.UUID(agent_id) for agent_id in live])

        calls = [(servers[number % 2], token) for token in live.values() for number in range(CALLS_PER_ORCHESTRATOR)]
        with ThreadPoolExecutor(max_workers=24) as pool:
            handed_out = [job for jobs in pool.map(lambda call: heartbeat(http, *call), calls) for job in jobs]

    counts = Counter(handed_out)
    assert sorted(counts) == sorted(job_ids)
    assert set(counts.values()) == {1}
    with engine.connect() as conn:
        per_job = conn.execute(select(job_history.c.job_id, func.count()).group_by(job_history.c.job_id)).all()
    assert len(per_job) == len(job_ids)
    assert {count for _job, count in per_job} == {1}


def register(http: httpx.Client, server: str, name: str) -> dict[str, str]:
    body = {"ClientMachine": name, "AgentId": "", "Capabilities": ["Custom.FetchLogs"], "AgentPlatform": 1}
    response = http.post(f"{server}/KeyfactorAgents/Session/Register", json=body, auth=ADMIN)
    assert response.status_code == 200, response.text
    session: dict[str, str] = response.json()["Session"]
    return session


def heartbeat_answer(http: httpx.Client, server: str, token: str) -> dict[str, Any]:
    response = http.post(f"{server}/KeyfactorAgents/Session/Heartbeat", json={"SessionToken": token})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def heartbeat(http: httpx.Client, server: str, token: str) -> list[str]:
    body = heartbeat_answer(http, server, token)
    assert body["SessionValid"] is True, body
    return [job["JobId"] for job in body.get("Jobs") or []]


def add_due_jobs(engine: Engine, agent_ids: list[uuid.UUID]) -> list[str]:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        fetch_logs = conn.execute(select(job_type.c.id).where(job_type.c.name == "FetchLogs")).scalar_one()
        rows = [
            {
                "id": uuid.uuid4(),
                "agent_id": agent_id,
                "job_type_id": fetch_logs,
                "capability": "Custom.FetchLogs",
                "requested_at": now,
                "next_run_at": now - timedelta(minutes=1),
            }
            for agent_id in agent_ids
            for _ in range(JOBS_PER_ORCHESTRATOR)
        ]
        conn.execute(insert(scheduled_job), rows)
    return [str(row["id"]) for row in rows]
