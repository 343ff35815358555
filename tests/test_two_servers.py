"""A job is handed to one orchestrator once: two server processes on one database, many orchestrators
checking in at the same moment through both of them."""

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import Engine, func, insert, select

from orchjobs.store.tables import job_history, job_type, scheduled_job
from tests.live import ADMIN, API_HEADERS, running_server

ORCHESTRATORS = 10
SESSIONS_PER_ORCHESTRATOR = 4
JOBS_PER_ORCHESTRATOR = 20


def test_no_job_is_handed_out_twice(database_url: str, engine: Engine, tmp_path: Path) -> None:
    with (
        running_server(database_url, tmp_path, name="first") as first,
        running_server(database_url, tmp_path, name="second") as second,
        httpx.Client(timeout=60) as http,
    ):
        servers = [first, second]
        sessions: dict[str, list[str]] = {}
        for index in range(ORCHESTRATORS):
            for attempt in range(SESSIONS_PER_ORCHESTRATOR):
                session = register(http, servers[(index + attempt) % 2], f"orch-{index:02d}.example.com")
                sessions.setdefault(session["AgentId"], []).append(session["Token"])
        approved = http.post(
            f"{first}/KeyfactorAPI/Agents/Approve", json=list(sessions), headers=API_HEADERS, auth=ADMIN
        )
        assert approved.status_code == 204, approved.text
        job_ids = add_due_jobs(engine, [uuid.UUID(agent_id) for agent_id in sessions])

        calls = [
            (servers[number % 2], token)
            for tokens in sessions.values()
            for number, token in enumerate(tokens)
            for _round in range(2)
        ]
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


def heartbeat(http: httpx.Client, server: str, token: str) -> list[str]:
    response = http.post(f"{server}/KeyfactorAgents/Session/Heartbeat", json={"SessionToken": token})
    assert response.status_code == 200, response.text
    body = response.json()
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
