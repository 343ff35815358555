"""A certificate store's whole life through the admin API, with the reference orchestrator doing the work as a user
would run it (`orchjobs orchestrator --once`): define the store, inventory it, import a certificate and add it (it
appears in the PEM file), remove it again (it leaves the file), discover a second store and approve it; every job
lands in JobHistory."""

import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine

from tests.live import ADMIN, API_HEADERS
from tests.orchestrator.certificates import make_certificate
from tests.orchestrator.test_end_to_end import NAME, admin_get, admin_post, registered_and_approved, run_orchestrator

PEM = 2
IMMEDIATE = {"Immediate": True}


def admin(base_url: str, method: str, path: str, body: Any, *, status: int) -> Any:
    response = httpx.request(method, f"{base_url}/KeyfactorAPI{path}", json=body, headers=API_HEADERS, auth=ADMIN)
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def history(base_url: str) -> dict[str, tuple[str, int, int]]:
    """(JobType, Status, Result) of every run, by JobId."""
    runs = admin_get(base_url, "/OrchestratorJobs/JobHistory")
    return {run["JobId"]: (run["JobType"], run["Status"], run["Result"]) for run in runs}


def inventory(base_url: str, store_id: str) -> set[str]:
    """The thumbprints the store's last inventory found."""
    items = admin_get(base_url, f"/CertificateStores/{store_id}/Inventory")
    return {certificate["Thumbprint"].lower() for item in items for certificate in item["Certificates"]}


def test_a_store_lives_through_the_api(live_server: str, engine: Engine, tmp_path: Path) -> None:
    store_dir = tmp_path / "stores"
    store_dir.mkdir()
    web, new = make_certificate("web.example.com"), make_certificate("new.example.com")
    pem_file = store_dir / "app.pem"
    pem_file.write_text(web.pem)
    agent_id = registered_and_approved(live_server, engine, store_dir)

    # Define the store with an inventory due now; the orchestrator inventories it.
    store = admin_post(
        live_server,
        "/CertificateStores",
        {"AgentId": str(agent_id), "CertStoreType": PEM, "ClientMachine": NAME, "Storepath": str(pem_file),
         "InventorySchedule": IMMEDIATE},
    )  # fmt: skip
    run_orchestrator(live_server, store_dir)
    assert inventory(live_server, store["Id"]) == {web.alias}
    assert history(live_server)[store["CertStoreInventoryJobId"]] == ("Inventory", 3, 2)

    # Import a certificate and add it to the store: it appears in the file.
    imported = admin_post(live_server, "/Certificates/Import", {"Certificate": new.pem})
    assert imported["Thumbprint"].lower() == new.alias
    (found,) = admin_get(live_server, "/Certificates", **{"pq.queryString": f'Thumbprint -eq "{new.alias}"'})
    added = admin_post(
        live_server,
        "/CertificateStores/Certificates/Add",
        {
            "CertificateId": found["Id"],
            "CertificateStores": [{"CertificateStoreId": store["Id"]}],
            "Schedule": IMMEDIATE,
        },
    )
    run_orchestrator(live_server, store_dir)
    assert history(live_server)[added[0]] == ("Management", 3, 2)
    assert new.pem.strip() in pem_file.read_text()
    admin(
        live_server,
        "POST",
        "/CertificateStores/Schedule",
        {"StoreIds": [store["Id"]], "Schedule": IMMEDIATE},
        status=204,
    )
    run_orchestrator(live_server, store_dir)
    assert inventory(live_server, store["Id"]) == {web.alias, new.alias}

    # Remove it again: it leaves the file.
    removed = admin_post(
        live_server,
        "/CertificateStores/Certificates/Remove",
        {"CertificateStores": [{"CertificateStoreId": store["Id"], "Alias": new.alias}], "Schedule": IMMEDIATE},
    )
    run_orchestrator(live_server, store_dir)
    assert history(live_server)[removed[0]] == ("Management", 3, 2)
    assert new.pem.strip() not in pem_file.read_text() and web.pem.strip() in pem_file.read_text()

    # Discover a second store; it awaits approval until approved.
    (store_dir / "found").mkdir()
    (store_dir / "found" / "other.pem").write_text(make_certificate("other.example.com").pem)
    discovery = {"Type": PEM, "AgentId": str(agent_id), "Dirs": str(store_dir / "found"), "Extensions": "pem"}
    admin(live_server, "PUT", "/CertificateStores/DiscoveryJob", discovery, status=204)
    run_orchestrator(live_server, store_dir)
    assert [run[:1] + run[1:] for run in history(live_server).values() if run[0] == "Discovery"] == [
        ("Discovery", 3, 2)
    ]
    stores = {item["Storepath"]: item for item in admin_get(live_server, "/CertificateStores")}
    discovered = stores[str(store_dir / "found" / "other.pem")]
    assert discovered["Approved"] is False and discovered["AgentId"] == str(agent_id)
    admin(live_server, "POST", "/CertificateStores/Approve", [{"Id": discovered["Id"]}], status=204)
    assert admin_get(live_server, f"/CertificateStores/{discovered['Id']}")["Approved"] is True
    assert uuid.UUID(discovered["Id"]) != uuid.UUID(store["Id"])
