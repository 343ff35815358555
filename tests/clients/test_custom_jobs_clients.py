"""Keyfactor's published Python clients define a custom job type and schedule a custom job on a real orchjobs process,
once per client and database, and parse what they are answered (test_published_clients.py says what each client
sends and parses)."""

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from orchjobs.store.tables import agent, agent_capability, scheduled_job
from tests.clients.conftest import ClientScripts
from tests.scheduling import NOW

SCRIPTS = {"keyfactor-v-1-client": "custom_v1.py", "keyfactor-command-sdk": "custom_v11.py"}
FIELDS = [
    {"name": "Host", "type": 1, "required": True},
    {"name": "DelaySeconds", "type": 2, "default": "30"},
    {"name": "Force", "type": 4, "default": "false"},
]


@pytest.fixture(params=sorted(SCRIPTS))
def script(request: pytest.FixtureRequest) -> str:
    return SCRIPTS[request.param]


def add_orchestrator(engine: Engine, *capabilities: str) -> uuid.UUID:
    agent_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(insert(agent).values(id=agent_id, client_machine="app01", username="svc", status=2, last_seen=NOW))
        conn.execute(insert(agent_capability), [{"agent_id": agent_id, "capability": c} for c in capabilities])
    return agent_id


def as_sent(output: dict[str, Any]) -> dict[str, Any]:
    """What the client parsed the answer into, serialized again with its keys lower-cased (v11 camel-cases them)."""
    assert output["status_code"] == 200, output
    parsed: dict[str, Any] = output["parsed"]["as_dict"]
    return {key[0].upper() + key[1:]: value for key, value in parsed.items()}


def test_a_job_type_is_created_and_listed(script: str, client_scripts: ClientScripts) -> None:
    created = as_sent(
        client_scripts.run(script, "create-job-type", "--name", "RebootServer", "--fields", json.dumps(FIELDS))
    )

    assert created["JobTypeName"] == "RebootServer"
    fields = [{key[0].upper() + key[1:]: value for key, value in item.items()} for item in created["JobTypeFields"]]
    assert [(f["Name"], f["Type"], f.get("DefaultValue"), f.get("Required")) for f in fields] == [
        ("Host", 1, None, True),
        ("DelaySeconds", 2, "30", False),
        ("Force", 4, "false", False),
    ]
    listed = client_scripts.run(script, "job-types", "--query", 'JobTypeName -eq "rebootserver"')
    assert [as_sent({"status_code": 200, "parsed": item})["Id"] for item in listed["items"]] == [created["Id"]]


def test_a_custom_job_is_scheduled_with_its_fields_checked_and_defaulted(
    script: str, client_scripts: ClientScripts, engine: Engine
) -> None:
    client_scripts.run(script, "create-job-type", "--name", "RebootServer", "--fields", json.dumps(FIELDS))
    agent_id = add_orchestrator(engine, "Custom.RebootServer")

    answer = as_sent(
        client_scripts.run(
            script,
            "schedule",
            "--agent-id", str(agent_id),
            "--job-type", "RebootServer",
            "--fields", json.dumps({"Host": "app01", "Force": True}),
            "--interval-minutes", 60,
        )
    )  # fmt: skip

    assert (answer["OrchestratorId"], answer["JobTypeName"]) == (str(agent_id), "RebootServer")
    fields = {
        item.get("JobTypeField", item.get("jobTypeField")): item.get("Value", item.get("value"))
        for item in answer["JobFields"]
    }
    assert fields == {"Host": "app01", "DelaySeconds": "30", "Force": "true"}
    with engine.connect() as conn:
        job = conn.execute(select(scheduled_job).where(scheduled_job.c.id == uuid.UUID(answer["JobId"]))).one()
    assert (job.agent_id, job.capability, job.schedule_type) == (agent_id, "Custom.RebootServer", "I_60")
    assert json.loads(job.fields) == {"Host": "app01", "DelaySeconds": "30", "Force": "true"}
