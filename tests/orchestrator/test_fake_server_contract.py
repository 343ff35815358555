"""The scripted server of the orchestrator's tests (fake_server.py) against the real one: the same calls, answered in
the same shapes.

The orchestrator's unit tests run against `FakeServer`, whose answers are written by hand. Were they to drift from
what orchjobs answers, those tests would pass against a server that does not exist. Here each call is made to both,
and the shapes of the answers (their keys and JSON types, not their values) must be equal.

Values may differ, some on purpose: the fake sends `JobTypeId` upper case and `ConfigurationEndpoint` with the
`KeyfactorAgents/` prefix, to exercise the orchestrator's tolerance. Of a Configuration answer the fake makes only
`AuditId`, `JobCancelled` and `Result` itself, the rest being each test's script; so only a custom job, scripted with
what the server sends for one (`JobFields`), is compared whole. The server's jobs are Immediate, whose `Schedule` is
null like the fake's.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, update
from starlette.testclient import TestClient

from orchjobs.settings import Settings
from orchjobs.store.tables import agent
from tests import factories
from tests.conftest import api_client
from tests.factories import add_job
from tests.live import ADMIN
from tests.orchestrator.fake_server import BASE_URL, FakeServer, ScriptedJob, invalid_session

INVENTORY = "CertStores.PEM.Inventory"
ECHO = "Custom.Echo"
FIELDS = {"Greeting": "hello", "Count": "3"}
UNKNOWN_JOB_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
UNKNOWN_TOKEN = "0b5d8e2a-9f1c-4d7e-8a3b-6c2f1e0d9a84"
MAX_DATA_BYTES = 64  # both refuse result data over this
# What the fake makes of a Configuration answer itself; the rest of it is the test's script.
GENERATED_BY_THE_FAKE = ("AuditId", "JobCancelled", "Result")

Answers = dict[str, dict[str, Any]]
Client = httpx.Client | TestClient  # the fake's, and the server's in-process one (Starlette's, on its own httpx)


def shape(value: Any) -> Any:
    """The keys and JSON types of a value: an object maps its keys to their shapes, a list holds the distinct shapes
    of its items, anything else is its JSON type's name."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        shapes: list[Any] = []
        for item in value:
            if shape(item) not in shapes:
                shapes.append(shape(item))
        return shapes
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    assert isinstance(value, str), f"not a JSON value: {value!r}"
    return "string"


# -- the calls, the same against both ------------------------------------------------------------------------------


def call(client: Client, route: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/KeyfactorAgents/{route}", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def register(client: Client, agent_id: str = "") -> dict[str, Any]:
    """Register as the reference orchestrator does."""
    body = {
        "AgentId": agent_id,
        "ClientMachine": "web-prd-01.corp.example.com",
        "Capabilities": [INVENTORY, ECHO],
        "AgentPlatform": 1,
        "AgentVersion": "1.0.0.0",
        "TenantId": "00000000-0000-0000-0000-000000000000",
        "CSR": None,
        "ClientParameters": {},
    }
    return call(client, "Session/Register", body)


def job_calls(client: Client, token: str, *, inventory_id: str, echo_id: str) -> Answers:
    """Heartbeats, then an inventory job run to its completion, a custom job's configuration and its completion
    refused for oversized data, and an unknown job's configuration."""

    def configuration(job_id: str) -> dict[str, Any]:
        return call(client, "Jobs/Configuration", {"SessionToken": token, "JobId": job_id})

    answers = {
        "Heartbeat handing out a job": call(client, "Session/Heartbeat", {"SessionToken": token}),
        "Heartbeat of an unknown session": call(client, "Session/Heartbeat", {"SessionToken": UNKNOWN_TOKEN}),
        "Configuration of an inventory job": configuration(inventory_id),
    }
    job = {"SessionToken": token, "JobId": inventory_id}
    audit_id = answers["Configuration of an inventory job"]["AuditId"]
    answers["Inventory"] = call(client, "Jobs/Inventory", {**job, "Inventory": []})
    answers["Complete"] = call(client, "Jobs/Complete", {**job, "AuditId": audit_id, "Status": 2, "Message": ""})
    answers["Configuration of a custom job"] = configuration(echo_id)
    oversized = {"SessionToken": token, "JobId": echo_id, "Status": 2, "Message": "", "Data": "x" * 100}
    oversized["AuditId"] = answers["Configuration of a custom job"]["AuditId"]
    answers["Complete with oversized Data"] = call(client, "Jobs/Complete", oversized)
    answers["Configuration refused"] = configuration(UNKNOWN_JOB_ID)
    return answers


# -- the fake -----------------------------------------------------------------------------------------------------


def fake_answers() -> Answers:
    inventory = ScriptedJob(INVENTORY, {"InventoryEndpoint": "Jobs/Inventory", "Job": {"StorePath": "app.pem"}})
    echo = ScriptedJob(ECHO, {"JobFields": FIELDS})
    fake = FakeServer(
        on_register=[[], [inventory, echo]],
        on_heartbeat=[[ScriptedJob(ECHO, {"JobFields": FIELDS})], invalid_session()],
        refuse_configuration={UNKNOWN_JOB_ID: "A0100004"},
        max_data_bytes=MAX_DATA_BYTES,
    )
    with httpx.Client(transport=fake.transport(), base_url=BASE_URL.removesuffix("/KeyfactorAgents")) as client:
        register(client)  # as on the server: a new orchestrator, nothing handed out yet
        answers = {"Register handing out jobs": register(client, fake.agent_id)}
        token = answers["Register handing out jobs"]["Session"]["Token"]
        answers |= job_calls(client, token, inventory_id=inventory.job_id, echo_id=echo.job_id)
        fake.refuse_register = ("A0100002", "The orchestrator is disapproved.")
        answers["Register refused"] = register(client, fake.agent_id)
    return answers


# -- the server ---------------------------------------------------------------------------------------------------


def add_immediate_job(
    engine: Engine,
    agent_id: str,
    type_name: str,
    capability: str,
    *,
    store_id: uuid.UUID | None = None,
    fields: dict[str, str] | None = None,
) -> str:
    """A job due now that runs once, like one scheduled with `Immediate`."""
    past = datetime.now(UTC) - timedelta(minutes=1)
    job_id = add_job(
        engine,
        uuid.UUID(agent_id),
        next_run_at=past,
        requested_at=past,
        type_name=type_name,
        capability=capability,
        schedule={"Immediate": True},
        store_id=store_id,
        fields=fields,
        target_path=None,
    )
    return str(job_id)


def add_store(engine: Engine, agent_id: str) -> uuid.UUID:
    return factories.add_store(engine, uuid.UUID(agent_id))


def server_answers(settings: Settings, engine: Engine) -> Answers:
    approving = settings.model_copy(update={"auto_approve": True, "max_job_data_bytes": MAX_DATA_BYTES})
    with api_client(approving, auth=ADMIN, headers=None) as client:
        agent_id = register(client)["Session"]["AgentId"]
        inventory_id = add_immediate_job(engine, agent_id, "Inventory", INVENTORY, store_id=add_store(engine, agent_id))
        echo_id = add_immediate_job(engine, agent_id, "Echo", ECHO, fields=FIELDS)
        answers = {"Register handing out jobs": register(client, agent_id)}
        token = answers["Register handing out jobs"]["Session"]["Token"]
        add_immediate_job(engine, agent_id, "Echo", ECHO, fields=FIELDS)  # for the heartbeat
        answers |= job_calls(client, token, inventory_id=inventory_id, echo_id=echo_id)
        with engine.begin() as conn:
            conn.execute(update(agent).where(agent.c.id == uuid.UUID(agent_id)).values(status=3))  # Disapproved
        answers["Register refused"] = register(client, agent_id)
    # The comparison means something only if the server answered what each case is named after.
    assert len(answers["Register handing out jobs"]["Session"]["Jobs"]) == 2
    assert len(answers["Heartbeat handing out a job"]["Jobs"]) == 1
    assert answers["Heartbeat of an unknown session"]["SessionValid"] is False
    assert answers["Configuration of a custom job"]["JobFields"] == FIELDS
    assert answers["Complete with oversized Data"]["Result"]["Error"]["CodeString"] == "A0100005"
    assert answers["Configuration refused"]["Result"]["Error"]["CodeString"] == "A0100004"
    assert answers["Register refused"]["Result"]["Error"]["CodeString"] == "A0100002"
    return answers


# -- the comparison -----------------------------------------------------------------------------------------------


def compared(case: str, answer: dict[str, Any]) -> dict[str, Any]:
    """The part of an answer the fake is answerable for."""
    if case == "Configuration of an inventory job":
        return {key: value for key, value in answer.items() if key in GENERATED_BY_THE_FAKE}
    return answer


def drifts(fake: Any, server: Any, path: str) -> list[str]:
    """Where the fake's shape differs from the server's, one line per key."""
    if isinstance(fake, dict) and isinstance(server, dict):
        keys = [*server, *(key for key in fake if key not in server)]
        return [
            line
            for key in keys
            for line in drifts(fake.get(key, "nothing"), server.get(key, "nothing"), f"{path}.{key}")
        ]
    return [] if fake == server else [f"{path}: the fake answers {fake}, the server {server}"]


def test_shape_keeps_keys_and_json_types_only() -> None:
    value = {"Jobs": [{"Id": "a", "Priority": 5}, {"Id": "b", "Priority": 3}], "Valid": True, "Schedule": None}
    assert shape(value) == {"Jobs": [{"Id": "string", "Priority": "number"}], "Valid": "bool", "Schedule": "null"}
    assert shape({"Jobs": []}) != shape({"Jobs": [{}]})
    assert drifts(shape({"A": 1, "B": "x"}), shape({"A": None, "C": True}), "Call") == [
        "Call.A: the fake answers number, the server null",
        "Call.C: the fake answers nothing, the server bool",
        "Call.B: the fake answers string, the server nothing",
    ]


def test_the_fake_answers_every_call_in_the_shape_the_server_does(settings: Settings, engine: Engine) -> None:
    fake, server = fake_answers(), server_answers(settings, engine)
    assert fake.keys() == server.keys()
    found = [
        line
        for case, answer in server.items()
        for line in drifts(shape(compared(case, fake[case])), shape(compared(case, answer)), case)
    ]
    assert not found, "the fake drifted from the server:\n" + "\n".join(found)
