"""GET /KeyfactorAPI/CertificateStores/{id}/Inventory: what the last inventory of a store found, in Command's shape,
paged with v10's `query.*` names (and `pq.*`, and none); on both databases."""

import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, insert
from starlette.testclient import TestClient

from orchjobs.store.tables import agent
from tests.factories import BASE_TIME, add_entry, add_store
from tests.orchestrator.certificates import MadeCertificate, make_certificate

STORES = "/KeyfactorAPI/CertificateStores"
INVALID = "0xA0110001"
NOT_FOUND = "0xA0110014"
BAD_SORT = "0xA011004A"


def add_agent(engine: Engine) -> uuid.UUID:
    agent_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(insert(agent).values(id=agent_id, client_machine="web01", username="svc", last_seen=BASE_TIME))
    return agent_id


def inventory(client: TestClient, store_id: uuid.UUID, **params: str) -> list[dict[str, Any]]:
    response = client.get(f"{STORES}/{store_id}/Inventory", params=params)
    assert response.status_code == 200, response.text
    answer: list[dict[str, Any]] = response.json()
    return answer


def names(items: list[dict[str, Any]]) -> list[str]:
    return [item["Name"] for item in items]


@pytest.fixture
def store(engine: Engine) -> tuple[uuid.UUID, dict[str, MadeCertificate]]:
    """A store of five entries (a01…a05), a05 holding the same certificate as a01, and another store."""
    agent_id = add_agent(engine)
    store_id = add_store(engine, agent_id)
    made = {alias: make_certificate(f"{alias}.example.com") for alias in ("a01", "a02", "a03", "a04")}
    made["a05"] = made["a01"]
    for alias, certificate in made.items():
        add_entry(engine, store_id, alias, certificate.pem, key=alias == "a02")
    other = add_store(engine, agent_id, path="/etc/ssl/other.pem")
    add_entry(engine, other, "z99", make_certificate("other.example.com").pem)
    return store_id, made


def test_one_item_per_alias_in_commands_shape(
    client: TestClient, store: tuple[uuid.UUID, dict[str, MadeCertificate]]
) -> None:
    store_id, made = store

    items = inventory(client, store_id)

    assert names(items) == ["a01", "a02", "a03", "a04", "a05"]
    first = items[0]
    cert = made["a01"].certificate
    certificate_id = first["Certificates"][0]["Id"]
    assert first == {
        "Name": "a01",
        "Certificates": [
            {
                "Id": certificate_id,
                "IssuedDN": "CN=a01.example.com",
                "SerialNumber": f"{cert.serial_number:X}",
                "NotBefore": cert.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "NotAfter": cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "SigningAlgorithm": "ecdsa-with-SHA256",
                "IssuerDN": "CN=a01.example.com",
                "Thumbprint": made["a01"].alias.upper(),
                "Metadata": {},
            }
        ],
        "Parameters": {},
        "PrivateKeyEntry": False,
    }
    assert items[4]["Certificates"][0]["Id"] == certificate_id
    assert [item["PrivateKeyEntry"] for item in items] == [False, True, False, False, False]
    listed = client.get(f"/KeyfactorAPI/Certificates/{certificate_id}").json()
    assert listed["Thumbprint"] == made["a01"].alias.upper()


def test_pages_with_query_pq_and_unprefixed_names(
    client: TestClient, store: tuple[uuid.UUID, dict[str, MadeCertificate]]
) -> None:
    store_id, _made = store

    assert names(inventory(client, store_id, **{"query.returnLimit": "2", "query.pageReturned": "2"})) == ["a03", "a04"]
    assert names(inventory(client, store_id, **{"Query.ReturnLimit": "2", "query.pageReturned": "3"})) == ["a05"]
    assert inventory(client, store_id, **{"query.returnLimit": "2", "query.pageReturned": "4"}) == []
    assert names(inventory(client, store_id, **{"pq.returnLimit": "3"})) == ["a01", "a02", "a03"]
    assert names(inventory(client, store_id, returnLimit="1", pageReturned="5")) == ["a05"]
    descending = {"query.sortField": "Name", "query.sortAscending": "1", "query.returnLimit": "2"}
    assert names(inventory(client, store_id, **descending)) == ["a05", "a04"]
    assert names(inventory(client, store_id, **{"query.sortField": "alias", "query.sortAscending": "0"}))[0] == "a01"


def test_reads_every_page_as_kfutil_does(
    client: TestClient, store: tuple[uuid.UUID, dict[str, MadeCertificate]]
) -> None:
    store_id, _made = store
    seen: list[str] = []
    for page in range(1, 10):
        items = inventory(client, store_id, **{"query.pageReturned": str(page), "query.returnLimit": "2"})
        if not items:
            break
        seen.extend(names(items))

    assert seen == ["a01", "a02", "a03", "a04", "a05"]


def test_a_store_without_entries_has_an_empty_inventory(client: TestClient, engine: Engine) -> None:
    store_id = add_store(engine, add_agent(engine))

    assert inventory(client, store_id) == []


@pytest.mark.parametrize(
    ("path", "params", "status", "code", "fragment"),
    [
        (str(uuid.UUID(int=7)), {}, 404, NOT_FOUND, "was not found"),
        ("not-a-guid", {}, 400, INVALID, "is not a certificate store id"),
        ("{store}", {"query.sortField": "Thumbprint"}, 400, BAD_SORT, "Thumbprint"),
        ("{store}", {"query.returnLimit": "0"}, 400, INVALID, "ReturnLimit"),
        ("{store}", {"query.pageReturned": "x"}, 400, INVALID, "PageReturned must be an integer"),
        ("{store}", {"query.sortAscending": "2"}, 400, INVALID, "SortAscending"),
        ("{store}", {"pq.queryString": "Name -eq a01"}, 400, INVALID, "takes no query"),
    ],
)
def test_refusals(
    client: TestClient,
    store: tuple[uuid.UUID, dict[str, MadeCertificate]],
    path: str,
    params: dict[str, str],
    status: int,
    code: str,
    fragment: str,
) -> None:
    response = client.get(f"{STORES}/{path.format(store=store[0])}/Inventory", params=params)

    assert response.status_code == status, response.text
    assert response.json()["ErrorCode"] == code
    assert fragment in response.json()["Message"], response.json()["Message"]
