"""/KeyfactorAPI/CertificateStores through HTTP: stores, their properties, and the jobs scheduled on them."""

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select
from starlette.testclient import TestClient

from orchjobs.domain.capabilities import capability_guid
from orchjobs.store.tables import agent, agent_capability, certificate_store, scheduled_job
from tests import factories
from tests.factories import BASE_TIME
from tests.orchestrator.certificates import make_certificate

STORES = "/KeyfactorAPI/CertificateStores"
PEM, JKS = 2, 1
CAPABILITIES = [
    f"CertStores.{t}.{o}" for t in ("PEM", "JKS") for o in ("Inventory", "Management", "Reenrollment", "Discovery")
]


def add_agent(
    engine: Engine, *, name: str = "web01.example.com", status: int = 2, capabilities: list[str] | None = None
) -> uuid.UUID:
    agent_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(
            insert(agent).values(id=agent_id, client_machine=name, username="o", status=status, last_seen=BASE_TIME)
        )
        names = CAPABILITIES if capabilities is None else capabilities
        if names:
            conn.execute(insert(agent_capability), [{"agent_id": agent_id, "capability": c} for c in names])
    return agent_id


def create(client: TestClient, agent_id: uuid.UUID, **values: Any) -> Any:
    body = {
        "ClientMachine": "web01.example.com",
        "Storepath": "/etc/ssl/app.pem",
        "CertStoreType": PEM,
        "AgentId": str(agent_id),
    }
    body.update(values)
    return client.post(STORES, json=body)


def jobs(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(scheduled_job).order_by(scheduled_job.c.requested_at, scheduled_job.c.id)))


def state(engine: Engine) -> tuple[Any, ...]:
    with engine.connect() as conn:
        return tuple(
            sorted(tuple(str(value) for value in row) for row in conn.execute(select(table)))
            for table in (certificate_store, scheduled_job)
        )


def test_a_store_is_created_read_listed_and_carries_every_property(client: TestClient, engine: Engine) -> None:
    agent_id = add_agent(engine)
    response = create(client, agent_id, InventorySchedule={"Interval": {"Minutes": 60}}, Properties="{}")
    assert response.status_code == 200, response.text
    store = response.json()
    assert (store["Storepath"], store["CertStoreType"], store["AgentId"], store["Approved"]) == (
        "/etc/ssl/app.pem",
        PEM,
        str(agent_id),
        True,
    )
    assert json.loads(store["Properties"]) == {"separatePrivateKey": "false", "privateKeyPath": ""}
    assert store["InventorySchedule"] == {"Interval": {"Minutes": 60}}
    (job,) = jobs(engine)
    assert (str(job.id), job.capability, job.target_path) == (
        store["CertStoreInventoryJobId"],
        "CertStores.PEM.Inventory",
        "/etc/ssl/app.pem",
    )
    assert client.get(f"{STORES}/{store['Id']}").json() == store
    for params in (
        {"certificateStoreQuery.queryString": 'Storepath -eq "/etc/ssl/app.pem"'},
        {"pq.queryString": "CertStoreType -eq 2"},
    ):
        assert [item["Id"] for item in client.get(STORES, params=params).json()] == [store["Id"]]
    assert client.get(STORES, params={"QueryString": "CertStoreType -eq 1"}).json() == []


def test_update_changes_properties_and_schedule_and_keeps_identity(client: TestClient, engine: Engine) -> None:
    agent_id = add_agent(engine)
    store = create(client, agent_id).json()
    body = {
        "Id": store["Id"],
        "AgentId": str(agent_id),
        "Properties": {"SeparatePrivateKey": True, "privateKeyPath": "/k"},
    }
    body["InventorySchedule"] = {"Daily": {"Time": "2026-11-21T02:00:00Z"}}
    updated = client.put(STORES, json=body).json()
    assert json.loads(updated["Properties"]) == {"separatePrivateKey": "true", "privateKeyPath": "/k"}
    assert updated["InventorySchedule"] == {"Daily": {"Time": "2026-11-21T02:00:00Z"}}
    off = client.put(STORES, json={"Id": store["Id"], "InventorySchedule": {"Off": True}}).json()
    assert "InventorySchedule" not in off and jobs(engine) == []


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"CertStoreType": 999}, "999 is not a certificate store type"),
        ({"AgentId": str(uuid.uuid4())}, "was not found"),
        ({"Properties": json.dumps({"nope": "x"})}, "'nope' is not a property"),
        ({"Properties": {"separatePrivateKey": "maybe"}}, "must be true or false"),
        ({"Properties": "[1]"}, "must be a JSON object"),
        ({"Storepath": ""}, "Storepath is required"),
        ({"Storepath": "x" * 1025}, "at most 1024"),
        ({"ContainerId": 77}, "Container 77 was not found"),
        ({"InventorySchedule": {"Interval": {"Minutes": 0}}}, "Schedule"),
        ({"AgentId": "not-a-guid"}, "must be a GUID"),
    ],
)
def test_a_bad_store_is_refused_and_changes_nothing(
    client: TestClient, engine: Engine, values: dict[str, Any], fragment: str
) -> None:
    agent_id = add_agent(engine)
    before = state(engine)
    response = create(client, agent_id, **values)
    assert response.status_code == 400, response.text
    assert fragment in response.json()["Message"]
    assert state(engine) == before


def test_a_required_property_must_be_given(client: TestClient, engine: Engine) -> None:
    agent_id = add_agent(engine)
    definition = {
        "Name": "Remote PEM",
        "ShortName": "RPEM",
        "Properties": [{"Name": "Host", "DisplayName": "Host", "Type": "String", "Required": True}],
    }
    created = client.post("/KeyfactorAPI/CertificateStoreTypes", json=definition)
    assert created.status_code == 200, created.text
    type_id = created.json()["StoreType"]
    response = create(client, agent_id, CertStoreType=type_id)
    assert response.status_code == 400 and "'Host' is required" in response.json()["Message"]
    assert create(client, agent_id, CertStoreType=type_id, Properties={"host": "h1"}).status_code == 200


def test_a_duplicate_store_and_an_unapproved_orchestrator_are_refused(client: TestClient, engine: Engine) -> None:
    agent_id = add_agent(engine)
    assert create(client, agent_id).status_code == 200
    response = create(client, agent_id)
    assert response.status_code == 400 and "already has a PEM store" in response.json()["Message"]
    assert (
        create(client, agent_id, CertStoreType=JKS).status_code == 200
    )  # another type at the same path is another store
    new = add_agent(engine, name="new", status=1)
    assert "not approved" in create(client, new).json()["Message"]


def test_delete_one_and_many(client: TestClient, engine: Engine) -> None:
    agent_id = add_agent(engine)
    ids = [
        create(client, agent_id, Storepath=f"/s{n}.pem", InventorySchedule={"Immediate": True}).json()["Id"]
        for n in range(3)
    ]
    assert client.delete(f"{STORES}/{ids[0]}").status_code == 204
    assert client.delete(f"{STORES}/{ids[0]}").status_code == 404
    assert client.delete(f"{STORES}/nope").status_code == 400
    missing = str(uuid.uuid4())
    refused = client.request("DELETE", STORES, json=[ids[1], missing])
    assert refused.status_code == 400 and refused.json()["FailedOperations"] == [
        {"Id": missing, "Reason": f"Certificate store {missing} was not found."}
    ]
    assert client.request("DELETE", STORES, json=ids[1:]).status_code == 204
    assert client.get(STORES).json() == [] and jobs(engine) == []


def test_schedule_inventory_of_many_stores_and_off(client: TestClient, engine: Engine) -> None:
    agent_id = add_agent(engine)
    ids = [create(client, agent_id, Storepath=f"/s{n}.pem").json()["Id"] for n in range(2)]
    assert (
        client.post(f"{STORES}/Schedule", json={"StoreIds": ids, "Schedule": {"Interval": {"Minutes": 30}}}).status_code
        == 204
    )
    assert sorted(str(job.certificate_store_id) for job in jobs(engine)) == sorted(ids)
    assert (
        client.post(f"{STORES}/Schedule", json={"StoreIds": ids, "Schedule": {"Interval": {"Minutes": 15}}}).status_code
        == 204
    )
    assert [json.loads(job.schedule) for job in jobs(engine)] == [{"Interval": {"Minutes": 15}}] * 2
    assert client.post(f"{STORES}/Schedule", json={"StoreIds": ids, "Schedule": {"Off": True}}).status_code == 204
    assert jobs(engine) == []
    unknown = client.post(f"{STORES}/Schedule", json={"StoreIds": [str(uuid.uuid4())], "Schedule": {"Immediate": True}})
    assert unknown.status_code == 400 and unknown.json()["FailedOperations"]


def import_certificate(client: TestClient, engine: Engine, common_name: str = "web.example") -> tuple[int, str]:
    made = make_certificate(common_name)
    store_id = factories.add_store(engine, add_agent(engine, name=f"holder-{uuid.uuid4()}"), path=f"/{uuid.uuid4()}")
    factories.add_entry(engine, store_id, made.alias, made.pem)
    with engine.connect() as conn:
        from orchjobs.store.tables import certificate

        row = conn.execute(
            select(certificate.c.id, certificate.c.thumbprint).where(certificate.c.thumbprint == made.alias.upper())
        ).one()
    return row.id, row.thumbprint


def test_add_and_remove_schedule_management_jobs(client: TestClient, engine: Engine) -> None:
    agent_id = add_agent(engine)
    store = create(client, agent_id).json()
    certificate_id, thumbprint = import_certificate(client, engine)
    body = {
        "CertificateId": certificate_id,
        "CertificateStores": [{"CertificateStoreId": store["Id"], "Overwrite": True}],
        "Schedule": {"Immediate": True},
    }
    added = client.post(f"{STORES}/Certificates/Add", json=body)
    assert added.status_code == 200, added.text
    (job,) = [job for job in jobs(engine) if str(job.id) == added.json()[0]]
    fields = json.loads(job.fields)
    assert (job.capability, fields["OperationType"], fields["Alias"], fields["Overwrite"]) == (
        "CertStores.PEM.Management",
        2,
        thumbprint.lower(),
        True,
    )
    factories.add_entry(engine, uuid.UUID(store["Id"]), thumbprint.lower(), fields["EntryContents"])
    remove = {
        "CertificateStores": [{"CertificateStoreId": store["Id"], "Alias": thumbprint}],
        "Schedule": {"Immediate": True},
    }
    removed = client.post(f"{STORES}/Certificates/Remove", json=remove)
    assert removed.status_code == 200, removed.text
    (job,) = [job for job in jobs(engine) if str(job.id) == removed.json()[0]]
    assert json.loads(job.fields) == {"OperationType": 3, "Alias": thumbprint}


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"CertificateId": 999999}, "Certificate 999999 was not found"),
        ({"stores": [{"CertificateStoreId": "{unknown}"}]}, "was not found"),
        ({"stores": [{"CertificateStoreId": "{store}", "Alias": "custom"}]}, "does not allow custom aliases"),
        ({"stores": [{"CertificateStoreId": "{store}", "IncludePrivateKey": True}]}, "keeps no private keys"),
        ({"Schedule": None}, "Schedule is required"),
    ],
)
def test_bad_adds_are_refused(client: TestClient, engine: Engine, change: dict[str, Any], fragment: str) -> None:
    store = create(client, add_agent(engine)).json()
    certificate_id, _ = import_certificate(client, engine)
    change = dict(change)
    stores = change.pop("stores", [{"CertificateStoreId": "{store}"}])
    stores = [
        {k: v.format(store=store["Id"], unknown=uuid.uuid4()) if isinstance(v, str) else v for k, v in s.items()}
        for s in stores
    ]
    body = {"CertificateId": certificate_id, "CertificateStores": stores, "Schedule": {"Immediate": True}, **change}
    before = state(engine)
    response = client.post(f"{STORES}/Certificates/Add", json=body)
    assert response.status_code == 400, response.text
    assert fragment in json.dumps(response.json())
    assert state(engine) == before


def test_remove_of_an_alias_not_in_the_store_is_refused(client: TestClient, engine: Engine) -> None:
    store = create(client, add_agent(engine)).json()
    body = {
        "CertificateStores": [{"CertificateStoreId": store["Id"], "Alias": "ab12"}],
        "Schedule": {"Immediate": True},
    }
    response = client.post(f"{STORES}/Certificates/Remove", json=body)
    assert response.status_code == 400 and "is not in store" in json.dumps(response.json())
    assert jobs(engine) == []


def test_reenrollment_and_discovery_jobs(client: TestClient, engine: Engine) -> None:
    agent_id = add_agent(engine)
    store = create(client, agent_id).json()
    body = {
        "KeystoreId": store["Id"],
        "SubjectName": "CN=web01.example.com",
        "AgentGuid": str(agent_id),
        "JobProperties": {"KeySize": 2048},
    }
    assert client.post(f"{STORES}/Reenrollment", json=body).status_code == 204
    discovery = {"Type": JKS, "AgentId": str(agent_id), "Dirs": "/opt", "Extensions": "jks", "SymLinks": True}
    assert client.put(f"{STORES}/DiscoveryJob", json=discovery).status_code == 204
    reenroll, discover = jobs(engine)
    assert (reenroll.capability, json.loads(reenroll.fields)["Subject"]) == (
        "CertStores.PEM.Reenrollment",
        "CN=web01.example.com",
    )
    assert discover.capability == "CertStores.JKS.Discovery" and discover.certificate_store_id is None
    assert json.loads(discover.fields) == {
        "Dirs": "/opt",
        "Extensions": "jks",
        "SymLinks": True,
        "StoreType": JKS,
        "ClientMachine": "web01.example.com",
    }
    assert discover.job_type_guid is None and capability_guid(discover.capability) == uuid.UUID(
        "74d9f7c5-b2ac-4f21-a72b-29b5adc90651"
    )


def test_discovery_needs_the_capability(client: TestClient, engine: Engine) -> None:
    agent_id = add_agent(engine, capabilities=["CertStores.PEM.Inventory"])
    response = client.put(f"{STORES}/DiscoveryJob", json={"Type": PEM, "AgentId": str(agent_id), "Dirs": "/"})
    assert response.status_code == 400 and "CertStores.PEM.Discovery" in response.json()["Message"]
    assert client.put(f"{STORES}/DiscoveryJob", json={"Type": 55, "AgentId": str(agent_id)}).status_code == 400
    assert jobs(engine) == []


def test_approve_password_container_and_servers(client: TestClient, engine: Engine) -> None:
    agent_id = add_agent(engine)
    store_id = factories.add_store(engine, agent_id, path="/found.pem")
    with engine.begin() as conn:
        conn.execute(certificate_store.update().values(approved=False))
    assert client.get(f"{STORES}/{store_id}").json()["Approved"] is False
    refused = client.post(f"{STORES}/Schedule", json={"StoreIds": [str(store_id)], "Schedule": {"Immediate": True}})
    assert refused.status_code == 204  # an inventory schedule waits for approval like any job of the store
    assert client.post(f"{STORES}/Approve", json=[{"Id": str(store_id), "Properties": "{}"}]).status_code == 204
    assert client.get(f"{STORES}/{store_id}").json()["Approved"] is True
    assert (
        client.put(
            f"{STORES}/Password", json={"CertStoreId": str(store_id), "NewPassword": {"SecretValue": "s"}}
        ).status_code
        == 204
    )
    assigned = client.put(f"{STORES}/AssignContainer", json={"NewContainerName": "Web", "KeystoreIds": [str(store_id)]})
    assert assigned.status_code == 200 and assigned.json()[0]["ContainerName"] == "Web"
    server = client.post(
        f"{STORES}/Server",
        json={
            "Name": "f5",
            "ServerType": PEM,
            "UseSSL": True,
            "Username": {"SecretValue": "u"},
            "Password": {"SecretValue": "p"},
        },
    )
    assert server.status_code == 200 and server.json()["Name"] == "f5"
    assert [item["Name"] for item in client.get(f"{STORES}/Server").json()] == ["f5"]
    assert client.post(f"{STORES}/Approve", json=[str(uuid.uuid4())]).status_code == 400
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(certificate_store)).scalar() == 1


def test_a_store_joining_an_overwriting_container_takes_its_schedule(client: TestClient, engine: Engine) -> None:
    agent_id = add_agent(engine)
    container = {
        "Name": "Web",
        "CertStoreType": PEM,
        "OverwriteSchedules": True,
        "Schedule": {"Interval": {"Minutes": 90}},
    }
    container_id = client.post("/KeyfactorAPI/CertificateStoreContainers", json=container).json()["Id"]
    created = create(client, agent_id, ContainerId=container_id).json()
    assert created["InventorySchedule"] == {"Interval": {"Minutes": 90}}
    other = create(client, agent_id, Storepath="/other.pem").json()
    assigned = client.put(
        f"{STORES}/AssignContainer", json={"CertStoreContainerId": container_id, "KeystoreIds": [other["Id"]]}
    )
    assert assigned.json()[0]["InventorySchedule"] == {"Interval": {"Minutes": 90}}
    jks = client.post("/KeyfactorAPI/CertificateStoreContainers", json={"Name": "Java", "CertStoreType": JKS}).json()
    refused = client.put(
        f"{STORES}/AssignContainer", json={"CertStoreContainerId": jks["Id"], "KeystoreIds": [other["Id"]]}
    )
    assert refused.status_code == 400 and "holds stores of type 1" in refused.json()["Message"]


def test_pages_follow_the_sort_and_never_overlap(client: TestClient, engine: Engine) -> None:
    agent_id = add_agent(engine)
    for n in range(5):
        create(client, agent_id, Storepath=f"/s{n}.pem", ClientMachine=f"m{n % 2}")
    everything = client.get(STORES, params={"SortField": "Storepath", "SortAscending": 1}).json()
    assert [item["Storepath"] for item in everything] == [f"/s{n}.pem" for n in (4, 3, 2, 1, 0)]
    pages = [
        client.get(
            STORES,
            params={"pq.sortField": "Storepath", "pq.sortAscending": 1, "pq.returnLimit": 2, "pq.pageReturned": n},
        ).json()
        for n in (1, 2, 3, 4)
    ]
    assert [item["Id"] for page in pages for item in page] == [item["Id"] for item in everything]
    by_machine = client.get(STORES, params={"certificateStoreQuery.queryString": 'ClientMachine -eq "m1"'}).json()
    assert sorted(item["Storepath"] for item in by_machine) == ["/s1.pem", "/s3.pem"]
