"""/KeyfactorAPI/CertificateStoreTypes through HTTP, on both databases: the built-in JKS and PEM, listing (query,
paging, sorting, the cstquery./pq./unprefixed parameters), reads by id and by name, creation from Command's request
and from Keyfactor's integration manifests as kfutil posts them, updates, deletes, bulk deletes and every refusal.

tests/api/data/kfutil_store_types.json holds four entries copied verbatim from kfutil's cmd/store_types.json: AKV,
BIPCamera and IISU at kfutil commit bca04d8101f8fd1f45f3d873e65d44b90ac89329, and Akamai at commit
7a384e92643821dad14c4a068dcfdc721e8725cf (the version whose properties carry `"StoreTypeId;omitempty"`).
"""

import json
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select
from starlette.testclient import TestClient

from orchjobs.domain.capabilities import capability_guid
from orchjobs.domain.store_types import (
    FIRST_CUSTOM_ID,
    MAX_PROPERTIES,
    KeyRule,
    PropertyType,
    StoreTypeRequest,
    default_job_type_ids,
)
from orchjobs.errors import NotFoundError
from orchjobs.service import store_types
from orchjobs.store.engine import single_read
from orchjobs.store.store_types import read_store_type
from orchjobs.store.tables import agent, certificate_store, certificate_store_container, certificate_store_type
from tests.factories import BASE_TIME, add_job, add_store

URL = "/KeyfactorAPI/CertificateStoreTypes"
INVALID = "0xA0110001"
BULK = "0xA0110050"
NOT_FOUND = "0xA0110014"
MANIFESTS = json.loads((Path(__file__).parent / "data" / "kfutil_store_types.json").read_text())
INVENTORY_GUID = "11111111-2222-4333-8444-555555555555"
# Command's CertificateStoreTypeCreationRequest, enumerations as integers.
COMMAND_TYPE: dict[str, Any] = {
    "Name": "Widget Store",
    "ShortName": "Widget",
    "LocalStore": True,
    "SupportedOperations": {"Add": True, "Create": False, "Discovery": True, "Enrollment": False, "Remove": True},
    "Properties": [
        {"Name": "Region", "DisplayName": "Region", "Type": 1, "DefaultValue": "east, west", "Required": True},
        {"Name": "ApiKey", "DisplayName": "API key", "Type": 3, "Required": False},
        {"Name": "UseTls", "DisplayName": "Use TLS", "Type": 2, "DefaultValue": "true", "DependsOn": "Region"},
    ],
    "EntryParameters": [
        {
            "Name": "Binding",
            "DisplayName": "Binding",
            "Type": 0,
            "RequiredWhen": {"HasPrivateKey": True, "OnAdd": True, "OnRemove": False, "OnReenrollment": False},
            "DefaultValue": "443",
            "Options": "",
        }
    ],
    "PasswordOptions": {"EntrySupported": True, "StoreRequired": True, "Style": 1},
    "StorePathType": "MultipleChoice",
    "StorePathValue": '["a","b"]',
    "PrivateKeyAllowed": 2,
    "CustomAliasAllowed": 1,
    "ServerRequired": True,
    "PowerShell": False,
    "BlueprintAllowed": True,
    "ServerRegistration": 3,
    "InventoryEndpoint": "/AnyAgent/Inventory",
    "InventoryJobTypeId": INVENTORY_GUID,
}


def create(client: TestClient, definition: dict[str, Any]) -> dict[str, Any]:
    response = client.post(URL, json=definition)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def snapshot(engine: Engine) -> tuple[Any, ...]:
    """Every row the store-type routes could touch, to prove that a refusal changed nothing."""
    with engine.connect() as conn:
        tables = (certificate_store_type, certificate_store, certificate_store_container)
        return tuple(sorted(map(repr, conn.execute(select(table)).all())) for table in tables)


def assert_refused(response: Any, status: int, code: str, fragment: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["ErrorCode"] == code
    assert fragment in response.json()["Message"], response.json()["Message"]


def add_agent(engine: Engine) -> uuid.UUID:
    agent_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(insert(agent).values(id=agent_id, client_machine="web01", username="svc", last_seen=BASE_TIME))
    return agent_id


# -- the built-in types ------------------------------------------------------------------------------------------


def test_pem_is_built_in_with_the_c_agents_guids(client: TestClient) -> None:
    response = client.get(f"{URL}/2")

    assert response.status_code == 200, response.text
    assert response.json() == {
        "Name": "PEM File",
        "ShortName": "PEM",
        "Capability": "PEM",
        "StoreType": 2,
        "ImportType": 2,
        "LocalStore": True,
        "SupportedOperations": {"Add": True, "Create": False, "Discovery": True, "Enrollment": True, "Remove": True},
        "Properties": [
            {
                "StoreTypeId": 2,
                "Name": "separatePrivateKey",
                "DisplayName": "Separate Private Key",
                "Type": "Bool",
                "DependsOn": "",
                "DefaultValue": "false",
                "Required": False,
            },
            {
                "StoreTypeId": 2,
                "Name": "privateKeyPath",
                "DisplayName": "Private Key Path",
                "Type": "String",
                "DependsOn": "separatePrivateKey",
                "Required": False,
            },
        ],
        "EntryParameters": [],
        "PasswordOptions": {"EntrySupported": False, "StoreRequired": False, "Style": "Default"},
        "StorePathType": "",
        "StorePathValue": "",
        "PrivateKeyAllowed": "Optional",
        "JobProperties": [],
        "ServerRequired": False,
        "PowerShell": False,
        "BlueprintAllowed": False,
        "CustomAliasAllowed": "Forbidden",
        "ServerRegistration": 0,
        "InventoryEndpoint": "",
        "InventoryJobType": "a809ce1f-1eea-4738-a38e-15708c89c981",
        "ManagementJobType": "1d411b36-ae72-433f-9f3f-8593e836a1af",
        "DiscoveryJobType": "e98151de-53ad-4b99-b52a-f37118ec0c5c",
        "EnrollmentJobType": "aa015d10-cffc-41f7-a9a4-c9615f6f3bdf",
    }


def test_jks_is_built_in_with_the_c_agents_guids(client: TestClient) -> None:
    answer = client.get(f"{URL}/1").json()

    assert (answer["Name"], answer["ShortName"], answer["StoreType"]) == ("Java Keystore", "JKS", 1)
    assert answer["CustomAliasAllowed"] == "Required"
    assert answer["PasswordOptions"] == {"EntrySupported": True, "StoreRequired": True, "Style": "Default"}
    assert [answer[f"{op}JobType"] for op in ("Inventory", "Management", "Discovery", "Enrollment")] == [
        "67b63010-d738-47c3-87a2-9f289466c881",
        "b614f9e2-c56b-421c-b548-03d42eb32f8a",
        "74d9f7c5-b2ac-4f21-a72b-29b5adc90651",
        "48743e90-108e-4dc3-b81c-7fb830215d1f",
    ]


def test_the_stores_api_reads_a_typed_definition(engine: Engine) -> None:
    pem = store_types.get_store_type(engine, 2)

    assert (pem.id, pem.short_name, pem.capability, pem.built_in) == (2, "PEM", "PEM", True)
    assert pem.properties[0].type is PropertyType.BOOL
    assert pem.private_key_allowed is KeyRule.OPTIONAL
    assert pem.job_type_ids == default_job_type_ids("PEM")
    assert pem.job_type_ids.inventory == capability_guid("CertStores.PEM.Inventory")
    with single_read(engine) as conn:
        assert read_store_type(conn, 2) == pem
        assert read_store_type(conn, 999) is None
    with pytest.raises(NotFoundError):
        store_types.get_store_type(engine, 999)


# -- listing -----------------------------------------------------------------------------------------------------


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["ShortName"] for item in response.json()]


def test_lists_by_name_and_pages_with_every_prefix(client: TestClient) -> None:
    create(client, {**COMMAND_TYPE, "Name": "Alpha Store", "ShortName": "Alpha", "InventoryJobTypeId": None})

    assert names(client.get(URL)) == ["Alpha", "JKS", "PEM"]
    for prefix in ("cstquery.", "pq.", ""):
        params = {f"{prefix}returnLimit": "1", f"{prefix}pageReturned": "2"}
        assert names(client.get(URL, params=params)) == ["JKS"], prefix
    assert names(client.get(URL, params={"CstQuery.SortField": "StoreType", "CstQuery.SortAscending": "1"})) == [
        "Alpha",
        "PEM",
        "JKS",
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('ShortName -eq "pem"', ["PEM"]),
        ('Name -contains "keystore"', ["JKS"]),
        (f"StoreType -ge {FIRST_CUSTOM_ID}", ["Alpha"]),
        ('Capability -startswith "AL" OR StoreType -eq 1', ["Alpha", "JKS"]),
        ('InventoryEndpoint -eq "/AnyAgent/Inventory"', ["Alpha"]),
    ],
)
def test_lists_by_query(client: TestClient, query: str, expected: list[str]) -> None:
    create(client, {**COMMAND_TYPE, "Name": "Alpha Store", "ShortName": "Alpha"})

    assert names(client.get(URL, params={"cstquery.queryString": query})) == expected


def test_list_refusals(client: TestClient) -> None:
    assert_refused(client.get(URL, params={"cstquery.sortField": "Nope"}), 400, "0xA011004A", "Nope")
    assert_refused(client.get(URL, params={"cstquery.queryString": "Nope -eq 1"}), 400, "0xA0110040", "Nope")
    assert_refused(client.get(URL, params={"cstquery.returnLimit": "x"}), 400, INVALID, "ReturnLimit")


# -- reads -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["PEM", "pem", "PEM File", "pem file"])
def test_reads_by_name_or_short_name_in_any_case(client: TestClient, name: str) -> None:
    response = client.get(f"{URL}/Name/{name}")

    assert response.status_code == 200, response.text
    assert [item["StoreType"] for item in response.json()] == [2]


def test_read_refusals(client: TestClient) -> None:
    assert_refused(client.get(f"{URL}/Name/Nope"), 404, NOT_FOUND, "Nope")
    assert_refused(client.get(f"{URL}/999"), 404, NOT_FOUND, "999")
    assert_refused(client.get(f"{URL}/abc"), 400, INVALID, "integer")


# -- create ------------------------------------------------------------------------------------------------------


def test_creates_from_commands_request(client: TestClient, engine: Engine) -> None:
    created = create(client, COMMAND_TYPE)

    widget = default_job_type_ids("Widget")
    assert created == {
        "Name": "Widget Store",
        "ShortName": "Widget",
        "Capability": "Widget",
        "StoreType": FIRST_CUSTOM_ID,
        "ImportType": FIRST_CUSTOM_ID,
        "LocalStore": True,
        "SupportedOperations": COMMAND_TYPE["SupportedOperations"],
        "Properties": [
            {
                "StoreTypeId": 100,
                "Name": "Region",
                "DisplayName": "Region",
                "Type": "MultipleChoice",
                "DependsOn": "",
                "DefaultValue": "east, west",
                "Required": True,
            },
            {
                "StoreTypeId": 100,
                "Name": "ApiKey",
                "DisplayName": "API key",
                "Type": "Secret",
                "DependsOn": "",
                "Required": False,
            },
            {
                "StoreTypeId": 100,
                "Name": "UseTls",
                "DisplayName": "Use TLS",
                "Type": "Bool",
                "DependsOn": "Region",
                "DefaultValue": "true",
                "Required": False,
            },
        ],
        "EntryParameters": [
            {
                "StoreTypeId": 100,
                "Name": "Binding",
                "DisplayName": "Binding",
                "Type": "String",
                "RequiredWhen": {"HasPrivateKey": True, "OnAdd": True, "OnRemove": False, "OnReenrollment": False},
                "DependsOn": "",
                "DefaultValue": "443",
                "Options": "",
            }
        ],
        "PasswordOptions": {"EntrySupported": True, "StoreRequired": True, "Style": "Custom"},
        "StorePathType": "MultipleChoice",
        "StorePathValue": '["a","b"]',
        "PrivateKeyAllowed": "Required",
        "JobProperties": [],
        "ServerRequired": True,
        "PowerShell": False,
        "BlueprintAllowed": True,
        "CustomAliasAllowed": "Optional",
        "ServerRegistration": 3,
        "InventoryEndpoint": "/AnyAgent/Inventory",
        "InventoryJobType": INVENTORY_GUID,
        "ManagementJobType": str(widget.management),
        "DiscoveryJobType": str(widget.discovery),
        "EnrollmentJobType": str(widget.enrollment),
    }
    assert client.get(f"{URL}/100").json() == created
    # The choices of a MultipleChoice come from its DefaultValue, and it has no default of its own.
    region = store_types.get_store_type(engine, 100).properties[0]
    assert (region.choices, region.fill_value) == (("east", "west"), "")


def test_creates_what_the_integration_manifests_define_verbatim(client: TestClient, engine: Engine) -> None:
    created = [create(client, definition) for definition in MANIFESTS]

    assert [item["StoreType"] for item in created] == [100, 101, 102, 103]
    for definition, answer in zip(MANIFESTS, created, strict=True):
        assert (answer["Name"], answer["ShortName"], answer["Capability"]) == (
            definition["Name"],
            definition["ShortName"],
            definition["Capability"],
        )
        assert [p["Name"] for p in answer["Properties"]] == [p["Name"] for p in definition["Properties"]]
        assert [p["Type"] for p in answer["Properties"]] == [p["Type"] for p in definition["Properties"]]
        assert {p["StoreTypeId"] for p in answer["Properties"] + answer["EntryParameters"]} <= {answer["StoreType"]}
        assert len(answer["EntryParameters"]) == len(definition.get("EntryParameters") or [])
        assert answer["PrivateKeyAllowed"] == definition["PrivateKeyAllowed"]
        assert answer["CustomAliasAllowed"] == definition["CustomAliasAllowed"]
        assert answer["SupportedOperations"] == definition["SupportedOperations"]
        assert answer["PasswordOptions"]["Style"] == "Default"
        ids = default_job_type_ids(definition["Capability"])
        assert answer["InventoryJobType"] == str(ids.inventory)
    akv, camera, iis, akamai = created
    assert akv["EntryParameters"][0]["Type"] == "String"  # written "string" in the manifest
    assert akv["Properties"][1]["DefaultValue"] == "standard,premium"
    assert store_types.get_store_type(engine, 100).properties[1].choices == ("standard", "premium")
    assert camera["EntryParameters"][0]["Options"] == ",HTTPS,EAP-TLS-client,TLS-DATE-client"
    assert camera["EntryParameters"][1]["RequiredWhen"]["OnReenrollment"] is True
    assert iis["Properties"][1] == {
        "StoreTypeId": 102,
        "Name": "WinRM Protocol",
        "DisplayName": "WinRM Protocol",
        "Type": "MultipleChoice",
        "DependsOn": "",
        "DefaultValue": "https,http,ssh",
        "Required": True,
    }
    assert akamai["StorePathValue"] == '["Production","Staging"]'
    assert akamai["Properties"][0]["Type"] == "Secret"
    assert len(akamai["EntryParameters"]) == 35
    assert [item["StoreType"] for item in client.get(f"{URL}/Name/akv").json()] == [100]


def test_creates_what_the_go_client_posts(client: TestClient) -> None:
    """kfutil posts the Go client's CertificateStoreType: StoreType 0, the response's …JobType keys."""
    created = create(
        client,
        {
            "Name": "Go Store",
            "ShortName": "GoStore",
            "StoreType": 0,
            "Properties": [
                {
                    "StoreTypeId": 0,
                    "Name": "Flag",
                    "DisplayName": "Flag",
                    "Type": "bool",
                    "DependsOn": None,
                    "DefaultValue": False,
                    "Required": False,
                }
            ],  # fmt: skip
            "PrivateKeyAllowed": "optional",
            "InventoryJobType": INVENTORY_GUID.upper(),
        },
    )

    assert created["StoreType"] == 100
    assert created["Properties"][0]["DefaultValue"] == "false"
    assert created["Properties"][0]["Type"] == "Bool"
    assert created["PrivateKeyAllowed"] == "Optional"
    assert created["InventoryJobType"] == INVENTORY_GUID


def test_new_ids_follow_the_largest(client: TestClient) -> None:
    first = create(client, {"Name": "A", "ShortName": "A"})
    second = create(client, {"Name": "B", "ShortName": "B"})
    assert client.delete(f"{URL}/{first['StoreType']}").status_code == 204
    third = create(client, {"Name": "C", "ShortName": "C"})

    assert (first["StoreType"], second["StoreType"], third["StoreType"]) == (100, 101, 102)


def test_concurrent_creates_get_distinct_ids(engine: Engine) -> None:
    count = 4
    barrier = threading.Barrier(count)
    ids: list[int] = []

    def create_one(index: int) -> None:
        barrier.wait()
        ids.append(store_types.create_store_type(engine, StoreTypeRequest(name=f"T{index}", short_name=f"T{index}")).id)

    threads = [threading.Thread(target=create_one, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(ids) == list(range(FIRST_CUSTOM_ID, FIRST_CUSTOM_ID + count))


def _too_many() -> list[dict[str, Any]]:
    return [{"Name": f"p{index}", "Type": "String"} for index in range(MAX_PROPERTIES + 1)]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"Name": None}, "Name is required"),
        ({"ShortName": None}, "ShortName is required"),
        ({"Name": "   "}, "Name is required"),
        ({"Name": "pem file"}, "The Name 'pem file' is taken by StoreType 2"),
        ({"ShortName": "jks"}, "The ShortName 'jks' is taken by StoreType 1"),
        ({"ShortName": "Other", "Capability": "pem"}, "The Capability 'pem' is taken"),
        ({"ShortName": "Has Space"}, "ShortName may not contain spaces"),
        ({"ShortName": "S" * 65}, "ShortName may be at most 64 characters"),
        ({"Name": "N" * 256}, "Name may be at most 255 characters"),
        ({"InventoryJobTypeId": "not-a-guid"}, "InventoryJobTypeId must be a GUID"),
        ({"ManagementJobType": "123"}, "ManagementJobType must be a GUID"),
        ({"Properties": [{"Name": "Region", "Type": 0}, {"Name": "region", "Type": 0}]}, "names 'Region' twice"),
        ({"EntryParameters": [{"Name": "e"}, {"Name": "E"}]}, "EntryParameters names 'e' twice"),
        ({"Properties": [{"Name": "x", "Type": "Number"}]}, "Properties[0].Type must be one of String (0)"),
        ({"Properties": [{"Name": "x", "Type": 7}]}, "Properties[0].Type must be one of"),
        ({"Properties": [{"Name": "x", "Type": True}]}, "Properties[0].Type must be one of"),
        ({"Properties": _too_many()}, f"Properties may hold at most {MAX_PROPERTIES} items"),
        ({"Properties": [{"DisplayName": "x"}]}, "Properties[0].Name is required"),
        ({"Properties": [{"Name": "x", "DefaultValue": "v" * 4097}]}, "DefaultValue may be at most 4096"),
        ({"Properties": "Region"}, "Properties must be an array"),
        ({"StorePathValue": "v" * 4097}, "StorePathValue may be at most 4096"),
        ({"PrivateKeyAllowed": "Sometimes"}, "PrivateKeyAllowed must be one of Forbidden (0), Optional (1)"),
        ({"PasswordOptions": {"Style": "Fancy"}}, "PasswordOptions.Style must be one of Default (0), Custom (1)"),
        ({"SupportedOperations": {"Add": "yes"}}, "SupportedOperations.Add must be true or false"),
        ({"LocalStore": 1}, "LocalStore must be true or false"),
        ({"JobProperties": [1]}, "JobProperties[0] must be a string"),
        ({"ServerRegistration": "many"}, "ServerRegistration must be a 32-bit integer"),
    ],
)
def test_create_refusals(client: TestClient, engine: Engine, change: dict[str, Any], fragment: str) -> None:
    before = snapshot(engine)
    definition = {key: value for key, value in {**COMMAND_TYPE, **change}.items() if value is not None}

    assert_refused(client.post(URL, json=definition), 400, INVALID, fragment)
    assert snapshot(engine) == before


def test_a_body_that_is_not_an_object_is_refused(client: TestClient, engine: Engine) -> None:
    before = snapshot(engine)

    assert_refused(client.post(URL, json=[COMMAND_TYPE]), 400, INVALID, "JSON object")
    assert_refused(client.post(URL, content=b"{"), 400, INVALID, "not valid JSON")
    assert snapshot(engine) == before


# -- update ------------------------------------------------------------------------------------------------------


def test_updates_a_custom_type(client: TestClient) -> None:
    created = create(client, COMMAND_TYPE)

    response = client.put(
        URL,
        json={
            "storeType": created["StoreType"],
            "name": "Widget Store 2",
            "shortName": "Widget",
            "properties": [{"name": "Zone", "type": "String", "required": True}],
            "privateKeyAllowed": "Forbidden",
        },
    )

    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["Name"] == "Widget Store 2"
    assert updated["Properties"] == [
        {"StoreTypeId": 100, "Name": "Zone", "DisplayName": "Zone", "Type": "String", "DependsOn": "",
         "Required": True}
    ]  # fmt: skip
    # What the request leaves out takes its default, as Command binds it; the job-type GUIDs stay.
    assert (updated["LocalStore"], updated["EntryParameters"], updated["PrivateKeyAllowed"]) == (False, [], "Forbidden")
    assert updated["InventoryJobType"] == INVENTORY_GUID
    assert updated["ManagementJobType"] == created["ManagementJobType"]
    assert client.get(f"{URL}/100").json() == updated


def test_a_new_capability_carries_the_scheduled_jobs_of_its_stores(client: TestClient, engine: Engine) -> None:
    create(client, {"Name": "Widget Store", "ShortName": "Widget"})
    agent_id = add_agent(engine)
    store_id = add_store(engine, agent_id, store_type_id=100)
    job_id = add_job(
        engine, agent_id, next_run_at=BASE_TIME, requested_at=BASE_TIME, store_id=store_id,
        capability="CertStores.Widget.Inventory",
    )  # fmt: skip
    other_job = add_job(engine, agent_id, next_run_at=BASE_TIME, requested_at=BASE_TIME)

    response = client.put(URL, json={"StoreType": 100, "Name": "Widget Store", "ShortName": "Widget",
                                     "Capability": "Gadget"})  # fmt: skip

    assert response.status_code == 200, response.text
    gadget = default_job_type_ids("Gadget")
    assert response.json()["InventoryJobType"] == str(gadget.inventory)
    from orchjobs.store.tables import scheduled_job

    with engine.connect() as conn:
        rows = {row.id: row for row in conn.execute(select(scheduled_job))}
    assert (rows[job_id].capability, rows[job_id].job_type_guid) == ("CertStores.Gadget.Inventory", gadget.inventory)
    assert (rows[other_job].capability, rows[other_job].job_type_guid) == ("CertStores.PEM.Inventory", None)


@pytest.mark.parametrize(
    ("body", "status", "code", "fragment"),
    [
        ({"StoreType": 2, "Name": "PEM File", "ShortName": "PEM"}, 400, INVALID, "built in and cannot be changed"),
        ({"StoreType": 999, "Name": "X", "ShortName": "X"}, 404, NOT_FOUND, "999 was not found"),
        ({"Name": "X", "ShortName": "X"}, 400, INVALID, "StoreType is required"),
        ({"StoreType": "x", "Name": "X", "ShortName": "X"}, 400, INVALID, "StoreType is required"),
        # Past int32, the ids' type in the database: refused before the database sees it (was a 500 on PostgreSQL).
        ({"StoreType": 2**31, "Name": "X", "ShortName": "X"}, 400, INVALID, "got 2147483648"),
        ({"StoreType": 100, "Name": "Java Keystore", "ShortName": "X"}, 400, INVALID, "is taken by StoreType 1"),
        ({"StoreType": 100, "Name": "X", "ShortName": "has space"}, 400, INVALID, "may not contain spaces"),
    ],
)
def test_update_refusals(
    client: TestClient, engine: Engine, body: dict[str, Any], status: int, code: str, fragment: str
) -> None:
    create(client, COMMAND_TYPE)
    before = snapshot(engine)

    assert_refused(client.put(URL, json=body), status, code, fragment)
    assert snapshot(engine) == before


# -- delete ------------------------------------------------------------------------------------------------------


def test_deletes_a_custom_type(client: TestClient) -> None:
    create(client, COMMAND_TYPE)

    response = client.delete(f"{URL}/100")

    assert response.status_code == 204, response.text
    assert client.get(f"{URL}/100").status_code == 404


def add_container(engine: Engine, store_type_id: int, name: str = "Web servers") -> int:
    with engine.begin() as conn:
        stmt = insert(certificate_store_container).values(name=name, store_type_id=store_type_id)
        return int(conn.execute(stmt).inserted_primary_key[0])


def test_delete_refusals(client: TestClient, engine: Engine) -> None:
    create(client, COMMAND_TYPE)
    create(client, {"Name": "Boxed", "ShortName": "Boxed"})
    agent_id = add_agent(engine)
    stores = sorted(add_store(engine, agent_id, path=f"/s{index}", store_type_id=100) for index in range(7))
    container_id = add_container(engine, 101)
    before = snapshot(engine)

    assert_refused(client.delete(f"{URL}/2"), 400, INVALID, "PEM File (StoreType 2) is built in")
    refused = client.delete(f"{URL}/100")
    assert_refused(refused, 400, INVALID, "is used by 7 certificate stores (")
    assert ", ".join(str(store_id) for store_id in stores[:5]) + ", …)" in refused.json()["Message"]
    assert_refused(client.delete(f"{URL}/101"), 400, INVALID, f"used by 1 container ({container_id})")
    assert_refused(client.delete(f"{URL}/999"), 404, NOT_FOUND, "999 was not found")
    assert_refused(client.delete(f"{URL}/x"), 400, INVALID, "integer")
    assert snapshot(engine) == before


def test_bulk_deletes_all_or_nothing(client: TestClient, engine: Engine) -> None:
    for index in range(3):
        create(client, {"Name": f"T{index}", "ShortName": f"T{index}"})
    add_store(engine, add_agent(engine), store_type_id=102)
    before = snapshot(engine)

    refused = client.request("DELETE", URL, json=[100, 999, 1, 102])

    assert_refused(refused, 400, BULK, "3 of the 4 store types cannot be deleted")
    assert [(item["Id"], item["Reason"].split(" (")[0]) for item in refused.json()["FailedOperations"]] == [
        (999, "Certificate store type 999 was not found."),
        (1, "Java Keystore"),
        (102, "T2"),
    ]
    assert snapshot(engine) == before

    assert client.request("DELETE", URL, json=[100, "101"]).status_code == 204
    assert names(client.get(URL)) == ["JKS", "PEM", "T2"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"Ids": [100]}, "JSON array of store type ids"),
        ([], "at least one store type id"),
        (["x", 1.5, True], 'not: "x", 1.5, true'),
    ],
)
def test_bulk_delete_refusals(client: TestClient, engine: Engine, body: Any, fragment: str) -> None:
    create(client, COMMAND_TYPE)
    before = snapshot(engine)

    assert_refused(client.request("DELETE", URL, json=body), 400, INVALID, fragment)
    assert snapshot(engine) == before
