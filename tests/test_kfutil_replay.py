"""kfutil's certificate-store commands work against a real orchjobs process, on both databases: each test replays,
request by request, what kfutil and Keyfactor's Go client send (tests/kfutil.py: method, path, query parameters,
headers, Basic `DOMAIN\\user`, the `null` body of GETs, the bodies kfutil builds) and decodes every answer into the
Go struct kfutil decodes it into (tests/gojson.py), failing where kfutil would.

`store-types create` posts entries of kfutil's cmd/store_types.json (tests/api/data/kfutil_store_types.json, four of
them; set KFUTIL_STORE_TYPES_JSON to a whole store_types.json to post every entry).
"""

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, insert, select

from orchjobs.store.engine import make_engine
from orchjobs.store.tables import agent, agent_capability, certificate_store, scheduled_job
from tests.factories import BASE_TIME, add_entry, add_store
from tests.kfutil import Kfutil, KfutilError, build_query
from tests.live import ADMIN, API_HEADERS
from tests.orchestrator.certificates import make_certificate

DATA = Path(__file__).parent / "api" / "data" / "kfutil_store_types.json"
STORE_TYPES_JSON = Path(os.environ.get("KFUTIL_STORE_TYPES_JSON") or DATA)
JKS, PEM = 1, 2
HOST = "web01.example.com"
CAPABILITIES = [
    f"CertStores.{kind}.{operation}"
    for kind in ("PEM", "JKS", "BIPCamera")
    for operation in ("Inventory", "Management", "Reenrollment", "Discovery")
]


@pytest.fixture
def live_server(shared_server: str, shared_database: str) -> str:
    """The module's tests share one server (tests/conftest.py `shared_server`); each gets its database emptied."""
    return shared_server


@pytest.fixture
def engine(shared_database: str) -> Iterator[Engine]:
    eng = make_engine(shared_database)
    yield eng
    eng.dispose()


def kfutil(live_server: str) -> Kfutil:
    """kfutil with KEYFACTOR_DOMAIN set, so that it sends `ORCHJOBS\\admin`."""
    return Kfutil(live_server, ADMIN[0], ADMIN[1], domain="ORCHJOBS")


def add_agent(engine: Engine, name: str = HOST) -> uuid.UUID:
    """An approved orchestrator that can hold PEM, JKS and BIPCamera stores."""
    agent_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(
            insert(agent).values(id=agent_id, client_machine=name, username="o", status=2, last_seen=BASE_TIME)
        )
        conn.execute(insert(agent_capability), [{"agent_id": agent_id, "capability": c} for c in CAPABILITIES])
    return agent_id


def admin_post(live_server: str, path: str, body: Any) -> Any:
    response = httpx.post(f"{live_server}/KeyfactorAPI/{path}", json=body, auth=ADMIN, headers=API_HEADERS)
    assert response.status_code == 200, response.text
    return response.json()


def store_rows(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(certificate_store).order_by(certificate_store.c.store_path)))


def test_every_request_is_sent_as_the_go_client_sends_it(live_server: str) -> None:
    kf = kfutil(live_server)

    kf.store_types_get("PEM")
    kf.stores_list()

    login, _, _, by_name, *_, first_page = kf.exchanges
    assert (login.method, login.url, login.body) == ("GET", f"{live_server}/KeyfactorAPI/Status/Endpoints", "")
    assert by_name.url == f"{live_server}/KeyfactorAPI/CertificateStoreTypes/Name/PEM" and by_name.body == "null"
    assert first_page.url == (
        f"{live_server}/KeyfactorAPI/CertificateStores"
        "?certificateStoreQuery.pageReturned=1&certificateStoreQuery.queryString="
    )


def test_store_types_list_get_create_and_delete(live_server: str) -> None:
    entries = json.loads(STORE_TYPES_JSON.read_text())
    kf = kfutil(live_server)

    built_in = kf.store_types_list()
    created = kf.store_types_create(entries)

    assert {item["ShortName"]: item["StoreType"] for item in built_in} == {"JKS": 1, "PEM": 2}
    assert [item["ShortName"] for item in created] == [entry["ShortName"] for entry in entries]
    assert all(item["StoreType"] >= 100 for item in created)
    posted = [json.loads(exchange.body) for exchange in kf.exchanges if exchange.method == "POST"]
    assert all("Description" not in json.dumps(body) for body in posted)  # the Go struct dropped the manifest's extras
    by_short_name = {item["ShortName"]: item for item in created}
    if "BIPCamera" in by_short_name:
        bip = by_short_name["BIPCamera"]
        assert bip["PrivateKeyAllowed"] in ("Forbidden", "Optional", "Required")
        assert {p["Name"]: p["Type"] for p in bip["Properties"]}["ServerUseSsl"] == "Bool"
    for item in created:
        assert kf.store_types_get(item["StoreType"], generic=True) == item
        assert kf.store_types_get(item["ShortName"], generic=True) == item
        assert kf.store_types_get(item["ShortName"].lower())["StoreType"] == item["StoreType"]
    assert len(kf.store_types_list()) == min(2 + len(created), 50)  # one request without paging: the first page

    first, *rest = created
    kf.store_types_delete(first["StoreType"])
    for item in rest:
        kf.store_types_delete(item["ShortName"])

    assert [item["ShortName"] for item in kf.store_types_list()] == ["JKS", "PEM"]
    with pytest.raises(KfutilError, match="404"):
        kf.store_types_get(first["StoreType"])
    with pytest.raises(KfutilError, match="404"):
        kf.store_types_delete(first["ShortName"])


def test_stores_import_csv_then_list_get_and_delete(live_server: str, engine: Engine) -> None:
    agent_id = add_agent(engine)
    container = admin_post(live_server, "CertificateStoreContainers", {"Name": "Web", "CertStoreType": PEM})
    csv_text = (
        "ContainerId,ClientMachine,StorePath,CreateIfMissing,Properties.separatePrivateKey,"
        "Properties.privateKeyPath,AgentId,InventorySchedule.Interval.Minutes\n"
        f"{container['Id']},{HOST},/etc/ssl/a.pem,TRUE,TRUE,/etc/ssl/a.key,{agent_id},60\n"
        f",{HOST},/etc/ssl/b.pem,FALSE,,,{agent_id},\n"
    )
    kf = kfutil(live_server)

    created = kf.stores_import_csv(csv_text, "PEM")

    first, second = (json.loads(exchange.body) for exchange in kf.exchanges if exchange.method == "POST")
    assert first == {
        "ContainerId": container["Id"],
        "ClientMachine": HOST,
        "StorePath": "/etc/ssl/a.pem",
        "CertStoreType": PEM,
        "CreateIfMissing": True,
        "Properties": '{"privateKeyPath":"/etc/ssl/a.key","separatePrivateKey":true}',
        "AgentId": str(agent_id),
        "InventorySchedule": {"Interval": {"Minutes": 60}},
        "Password": {"SecretValue": "{}"},  # gabs's rendering of a missing Password column, as kfutil sends it
    }
    assert "ContainerId" not in second and second["CreateIfMissing"] is False and second["Properties"] == "{}"
    rows = store_rows(engine)
    assert [str(row.id) for row in rows] == created
    assert [row.container_id for row in rows] == [container["Id"], None]
    assert [row.password for row in rows] == ["{}", "{}"]  # the store password kfutil set, whatever --store-password

    for index in range(55):  # past the default page size, so that `stores list` reads a second page
        add_store(engine, agent_id, path=f"/srv/{index:02}.pem")
    listed = kf.stores_list()

    assert len(listed) == 57 and len({store["Id"] for store in listed}) == 57
    assert sum(1 for e in kf.exchanges if "certificateStoreQuery.pageReturned=" in e.url) == 3
    got = kf.stores_get(created[0])
    assert (got["Storepath"], got["ContainerId"], got["ContainerName"], got["CertStoreType"]) == (
        "/etc/ssl/a.pem",
        container["Id"],
        "Web",
        PEM,
    )
    assert got["InventorySchedule"]["Interval"] == {"Minutes": 60}
    assert json.loads(got["Properties"]) == {"separatePrivateKey": "true", "privateKeyPath": "/etc/ssl/a.key"}

    kf.stores_delete(created[1])

    assert [str(row.id) for row in store_rows(engine) if row.id in {uuid.UUID(c) for c in created}] == created[:1]
    with pytest.raises(KfutilError, match="404"):
        kf.stores_get(created[1])


def test_stores_import_csv_into_a_custom_type_with_required_and_secret_properties(
    live_server: str, engine: Engine
) -> None:
    agent_id = add_agent(engine)
    kf = kfutil(live_server)
    (bip,) = kf.store_types_create([e for e in json.loads(DATA.read_text()) if e["ShortName"] == "BIPCamera"])
    csv_text = (
        "ClientMachine,StorePath,Properties.ServerUseSsl,Properties.ServerUsername,AgentId,Password\n"
        f"camera01.example.com,cam01,TRUE,operator,{agent_id},pw\n"
    )

    (created,) = kf.stores_import_csv(csv_text, bip["StoreType"], server_password="s3cret")

    body = json.loads(kf.exchanges[-1].body)
    assert json.loads(body["Properties"]) == {
        "ServerPassword": "s3cret",
        "ServerUseSsl": True,
        "ServerUsername": "operator",
    }
    assert body["Password"] == {"SecretValue": '"pw"'}  # kfutil sends the CSV cell as JSON text, quotes included
    got = kf.stores_get(created)
    assert json.loads(got["Properties"])["ServerPassword"] == ""  # secrets are never answered
    with pytest.raises(KfutilError, match="missing required fields"):
        kf.stores_import_csv(f"ClientMachine,StorePath,AgentId\nc,p,{agent_id}\n", "BIPCamera")


def test_stores_inventory_show_add_and_remove(live_server: str, engine: Engine) -> None:
    agent_id = add_agent(engine)
    container = admin_post(live_server, "CertificateStoreContainers", {"Name": "Web", "CertStoreType": PEM})
    store_id = add_store(engine, agent_id, path="/etc/ssl/a.pem")
    other_id = add_store(engine, add_agent(engine, "db01.example.com"), path="/etc/ssl/b.pem")
    admin_put_container(live_server, store_id, container["Id"])
    made = [make_certificate(f"site{index}.example.com") for index in range(3)]
    for index, certificate in enumerate(made):  # aliased by lower-case thumbprint, as PEM orchestrators report them
        add_entry(engine, store_id, certificate.alias, certificate.pem, key=index == 0)
    kf = kfutil(live_server)

    by_id = kf.inventory_show(sids=[str(store_id)])
    by_filters = [
        kf.inventory_show(clients=[HOST], store_types=[str(PEM)], order=order)
        for order in (("ClientMachine", "CertStoreType"), ("CertStoreType", "ClientMachine"))
    ]
    by_container = kf.inventory_show(containers=["Web"])

    (inventory,) = by_id.values()
    assert [entry["Name"] for entry in inventory] == sorted(certificate.alias for certificate in made)
    thumbprints = [entry["Certificates"][0]["Thumbprint"] for entry in inventory]
    assert [t.lower() for t in thumbprints] == [entry["Name"] for entry in inventory]
    assert all(entry["Certificates"][0]["Id"] > 0 for entry in inventory)
    assert all(found == by_id for found in by_filters) and by_container == by_id
    shown = [e.url for e in kf.exchanges if "queryString=%28" in e.url]
    assert any("%29AND%20%28" in url for url in shown)  # kfutil's `)AND (`, no space, parses
    assert str(other_id) not in json.dumps(by_filters)

    # kfutil names the upper-case thumbprint /Certificates answers as the alias; PEM entries are aliased by the
    # lower-case one, and the Remove matches it.
    (remove_jobs,) = kf.inventory_remove(thumbprints=[thumbprints[2]], sids=[str(store_id)])

    lookup = next(e for e in kf.exchanges if "/KeyfactorAPI/Certificates?" in e.url)
    assert "includeLocations=true" in lookup.url and "Thumbprint%20-eq%20%22" in lookup.url
    with engine.connect() as conn:
        (job,) = conn.execute(select(scheduled_job).where(scheduled_job.c.certificate_store_id == store_id))
    assert [str(job.id)] == remove_jobs and json.loads(job.fields)["Alias"].lower() == thumbprints[2].lower()
    # kfutil's `inventory add` always asks for the private key, which orchjobs does not keep; the thumbprint it names
    # as the alias is what PEM (CustomAliasAllowed Forbidden) aliases entries by anyway, so that is not what fails.
    jks_id = add_store(engine, agent_id, path="/etc/ssl/app.jks", store_type_id=JKS)
    for store in (jks_id, other_id):
        with pytest.raises(KfutilError, match="keeps no private keys"):
            kf.inventory_add(thumbprints=[thumbprints[1]], sids=[str(store)])


def admin_put_container(live_server: str, store_id: uuid.UUID, container_id: int) -> None:
    body = {"KeystoreIds": [str(store_id)], "CertStoreContainerId": container_id}
    response = httpx.put(
        f"{live_server}/KeyfactorAPI/CertificateStores/AssignContainer", json=body, auth=ADMIN, headers=API_HEADERS
    )
    assert response.status_code == 200, response.text


def test_containers_list_and_get(live_server: str) -> None:
    plain = admin_post(live_server, "CertificateStoreContainers", {"Name": "Plain", "CertStoreType": PEM})
    hourly = admin_post(
        live_server,
        "CertificateStoreContainers",
        {"Name": "Hourly", "CertStoreType": PEM, "OverwriteSchedules": True, "Schedule": {"Interval": {"Minutes": 60}}},
    )
    kf = kfutil(live_server)

    listed = kf.containers_list()
    got_plain = kf.containers_get(str(plain["Id"]))
    got_hourly = kf.containers_get("Hourly")

    assert {item["Name"]: (item["Id"], item["Schedule"]) for item in listed} == {
        "Plain": (plain["Id"], ""),
        "Hourly": (hourly["Id"], "I_60"),
    }
    assert got_plain == {
        "Id": plain["Id"],
        "Name": "Plain",
        "OverwriteSchedules": False,
        "Schedule": "",
        "CertStoreType": PEM,
    }
    assert (got_hourly["Id"], got_hourly["Schedule"], got_hourly["OverwriteSchedules"]) == (hourly["Id"], "I_60", True)
    # GET /CertificateStoreContainers/{id} answers v11's Schedule object, which the Go client's string cannot hold:
    # `kfutil containers get --id <number>` of a scheduled container fails, as it does against Command 11.
    with pytest.raises(KfutilError, match=r"cannot unmarshal object into Go value of type string at .*\.Schedule"):
        kf.containers_get(str(hourly["Id"]))


def test_kfutil_reports_orchjobs_messages(live_server: str) -> None:
    kf = kfutil(live_server)

    with pytest.raises(KfutilError, match="404") as unknown:
        kf.stores_get(str(uuid.uuid4()))
    with pytest.raises(KfutilError, match="400") as not_a_guid:
        kf.stores_get("web01")

    assert "certificate store" in str(unknown.value).lower()
    assert "web01" in str(not_a_guid.value)


def test_build_query_is_the_go_clients() -> None:
    params: list[tuple[str, Any]] = [("Id", []), ("ClientMachine", ["a", "b"]), ("CertStoreType", ["2"])]

    assert build_query(params) == '(ClientMachine -eq "a" OR ClientMachine -eq "b")AND (CertStoreType -eq "2")'
    assert build_query([]) == ""
