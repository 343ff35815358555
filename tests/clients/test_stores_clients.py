"""Keyfactor's published Python clients create a certificate store, schedule its inventory, list and read stores and
read a store's inventory on a real orchjobs process, once per client and database. keyfactor-v-1-client 1.0.3 has
no call to create, list or read stores (Command v10's spec lacks them): the store is made through HTTP for it, and it
schedules and reads the inventory."""

import json
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, insert, select

from orchjobs.store.tables import agent, agent_capability, scheduled_job
from tests.clients.conftest import ClientScripts
from tests.factories import BASE_TIME, add_entry
from tests.live import ADMIN, API_HEADERS
from tests.orchestrator.certificates import make_certificate

SCRIPTS = {"keyfactor-v-1-client": "stores_v1.py", "keyfactor-command-sdk": "stores_v11.py"}
HOST = "web01.example.com"
PEM = 2


@pytest.fixture(params=sorted(SCRIPTS))
def script(request: pytest.FixtureRequest) -> str:
    return SCRIPTS[request.param]


def attribute(kind: str, value: Any) -> dict[str, Any]:
    return {"kind": kind, "value": value}


def add_agent(engine: Engine) -> uuid.UUID:
    agent_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(
            insert(agent).values(id=agent_id, client_machine=HOST, username="o", status=2, last_seen=BASE_TIME)
        )
        conn.execute(
            insert(agent_capability),
            [{"agent_id": agent_id, "capability": f"CertStores.PEM.{op}"} for op in ("Inventory", "Management")],
        )
    return agent_id


def create_over_http(live_server: str, agent_id: uuid.UUID) -> str:
    body = {"ClientMachine": HOST, "Storepath": "/etc/ssl/app.pem", "CertStoreType": PEM, "AgentId": str(agent_id)}
    response = httpx.post(f"{live_server}/KeyfactorAPI/CertificateStores", json=body, auth=ADMIN, headers=API_HEADERS)
    assert response.status_code == 200, response.text
    return str(response.json()["Id"])


def inventory_jobs(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(scheduled_job).where(scheduled_job.c.certificate_store_id.is_not(None))))


def test_create_schedule_list_and_read_a_store(
    script: str, client_scripts: ClientScripts, engine: Engine, live_server: str
) -> None:
    agent_id = add_agent(engine)

    created = client_scripts.run(
        script, "create", "--agent-id", agent_id, "--client-machine", HOST, "--storepath", "/etc/ssl/app.pem",
        "--type", PEM, "--properties", '{"separatePrivateKey": "false"}', "--minutes", 60,
    )  # fmt: skip

    if created.get("unsupported"):
        store_id = create_over_http(live_server, agent_id)
    else:
        assert created["status_code"] == 200, created
        store = created["store"]
        store_id = store["id"]["value"]
        assert {key: store[key] for key in ("storepath", "cert_store_type", "agent_id", "approved")} == {
            "storepath": attribute("str", "/etc/ssl/app.pem"),
            "cert_store_type": attribute("int", PEM),
            "agent_id": attribute("str", str(agent_id)),
            "approved": attribute("bool", True),
        }
        assert json.loads(store["properties"]["value"])["separatePrivateKey"] == "false"
        assert store["schedule_detail"] == {"interval": {"minutes": 60}}
        assert store["additional_keys"] is None  # the v11 models keep no unknown keys

    scheduled = client_scripts.run(script, "schedule", "--ids", store_id, "--minutes", 30)

    assert (scheduled["status_code"], scheduled["content"]) == (204, ""), scheduled
    (job,) = inventory_jobs(engine)
    assert str(job.certificate_store_id) == store_id and json.loads(job.schedule) == {"Interval": {"Minutes": 30}}

    listed = client_scripts.run(script, "stores", "--query", f'ClientMachine -eq "{HOST}"', "--limit", 10)
    got = client_scripts.run(script, "store", "--id", store_id)

    if not listed.get("unsupported"):
        (item,) = listed["items"]
        assert item["id"] == attribute("str", store_id) and item["schedule_detail"] == {"interval": {"minutes": 30}}
        assert item["client_machine"] == attribute("str", HOST)
        assert got["store"] == item


def test_a_stores_inventory_parses(
    script: str, client_scripts: ClientScripts, engine: Engine, live_server: str
) -> None:
    store_id = create_over_http(live_server, add_agent(engine))
    made = [make_certificate(f"site{index}.example.com") for index in range(3)]
    for certificate in made:
        add_entry(engine, uuid.UUID(store_id), certificate.alias, certificate.pem)

    first = client_scripts.run(script, "inventory", "--id", store_id, "--limit", 2)
    rest = client_scripts.run(script, "inventory", "--id", store_id, "--limit", 2, "--page", 2)

    assert first["status_code"] == 200 and rest["status_code"] == 200
    items = first["items"] + rest["items"]
    assert [item["name"]["value"] for item in items] == sorted(certificate.alias for certificate in made)
    certificate = items[0]["certificate_detail"][0]
    assert certificate["thumbprint"]["value"].lower() == items[0]["name"]["value"]
    assert certificate["not_after"]["kind"] == "datetime" and certificate["id"]["kind"] == "int"
