"""Job handlers: what each job does with its configuration, and the completion it reports."""

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from orchjobs.orchestrator import jobs
from orchjobs.orchestrator.jobs import JobContext, inventory_delta, log_tail
from orchjobs.orchestrator.pem_store import PemStore, StoredCertificate
from tests.orchestrator.certificates import MadeCertificate, make_certificate

INVENTORY = "CertStores.PEM.Inventory"
MANAGEMENT = "CertStores.PEM.Management"


@pytest.fixture(scope="module")
def web() -> MadeCertificate:
    return make_certificate("web.example.com")


@pytest.fixture(scope="module")
def api() -> MadeCertificate:
    return make_certificate("api.example.com")


class Uploads:
    """Inventory uploads a handler made, as (endpoint, items)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[dict[str, Any]]]] = []

    def __call__(self, endpoint: str, items: list[dict[str, Any]]) -> None:
        self.calls.append((endpoint, items))


def run(tmp_path: Path, capability: str, config: dict[str, Any], uploads: Uploads | None = None) -> jobs.JobOutcome:
    context = JobContext(
        capability=capability,
        job_id="8d0c5f0a-2b7e-4c61-a1f9-5e3d2c1b0a99",
        config=config,
        store=PemStore(tmp_path),
        log_path=tmp_path / "orchestrator.log",
        upload_inventory=uploads or Uploads(),
    )
    return jobs.execute(context)


# -- inventory -------------------------------------------------------------------------------------------------


def test_inventory_delta_adds_new_keeps_known_and_removes_gone(web: MadeCertificate, api: MadeCertificate) -> None:
    local = [StoredCertificate(web.alias, web.der, True), StoredCertificate(api.alias, api.der, False)]
    known = [
        {"Alias": web.alias.upper(), "PrivateKeyEntry": False},  # the server's alias may be upper case
        {"alias": "ab" * 20, "privateKeyEntry": True},
    ]

    items = inventory_delta(local, known)

    assert items == [
        {"Alias": web.alias, "ItemStatus": 4, "PrivateKeyEntry": False, "UseChainLevel": False, "Certificates": []},
        {
            "Alias": api.alias,
            "ItemStatus": 1,
            "PrivateKeyEntry": False,
            "UseChainLevel": False,
            "Certificates": [base64.b64encode(api.der).decode()],
        },
        {"Alias": "ab" * 20, "ItemStatus": 3, "PrivateKeyEntry": False, "UseChainLevel": False, "Certificates": []},
    ]


def test_inventory_job_uploads_the_delta_then_succeeds(tmp_path: Path, web: MadeCertificate) -> None:
    (tmp_path / "app.pem").write_text(web.pem + web.key_pem)
    uploads = Uploads()
    config = {"InventoryEndpoint": "Jobs/Inventory", "Job": {"StorePath": "app.pem", "Inventory": []}}

    outcome = run(tmp_path, INVENTORY, config, uploads)

    assert outcome.status == 2
    assert "1 certificates (1 new" in outcome.message
    [(endpoint, items)] = uploads.calls
    assert endpoint == "Jobs/Inventory"
    assert [(item["Alias"], item["ItemStatus"], item["PrivateKeyEntry"]) for item in items] == [(web.alias, 1, True)]


def test_inventory_of_a_path_outside_the_store_fails_without_uploading(tmp_path: Path, web: MadeCertificate) -> None:
    store = tmp_path / "stores"
    store.mkdir()
    (tmp_path / "secret.pem").write_text(web.pem)
    uploads = Uploads()
    context = JobContext(
        capability=INVENTORY,
        job_id="job",
        config={"InventoryEndpoint": "Jobs/Inventory", "Job": {"StorePath": "../secret.pem"}},
        store=PemStore(store),
        log_path=tmp_path / "log",
        upload_inventory=uploads,
    )

    outcome = jobs.execute(context)

    assert outcome.status == 4
    assert "outside the store directory" in outcome.message
    assert uploads.calls == []


def test_an_inventory_job_without_endpoint_or_job_fails(tmp_path: Path) -> None:
    assert run(tmp_path, INVENTORY, {"Job": {"StorePath": "app.pem"}}).message == (
        "The inventory job has no InventoryEndpoint."
    )
    assert run(tmp_path, INVENTORY, {"InventoryEndpoint": "x"}).message == "The job configuration has no Job object."


def test_an_unexpected_exception_becomes_status_4(tmp_path: Path, web: MadeCertificate) -> None:
    (tmp_path / "app.pem").write_text(web.pem)

    def broken_upload(_endpoint: str, _items: list[dict[str, Any]]) -> None:
        raise RuntimeError("connection reset")

    context = JobContext(
        capability=INVENTORY,
        job_id="job",
        config={"InventoryEndpoint": "Jobs/Inventory", "Job": {"StorePath": "app.pem"}},
        store=PemStore(tmp_path),
        log_path=tmp_path / "log",
        upload_inventory=broken_upload,
    )

    assert jobs.execute(context) == jobs.JobOutcome(4, "RuntimeError: connection reset")


# -- management ------------------------------------------------------------------------------------------------


def test_management_add_appends_then_a_second_add_is_a_warning(
    tmp_path: Path, web: MadeCertificate, api: MadeCertificate
) -> None:
    path = tmp_path / "app.pem"
    path.write_text(web.pem)
    config = {"Job": {"OperationType": 2, "StorePath": "app.pem", "EntryContents": base64.b64encode(api.der).decode()}}

    assert run(tmp_path, MANAGEMENT, config) == jobs.JobOutcome(2)
    assert path.read_text() == web.pem + api.pem

    duplicate = run(tmp_path, MANAGEMENT, config)
    assert duplicate.status == 3
    assert "already in the store" in duplicate.message
    assert path.read_text() == web.pem + api.pem


def test_management_remove_deletes_by_alias(tmp_path: Path, web: MadeCertificate, api: MadeCertificate) -> None:
    path = tmp_path / "app.pem"
    path.write_text(web.pem + api.pem)

    outcome = run(tmp_path, MANAGEMENT, {"Job": {"OperationType": 3, "StorePath": "app.pem", "Alias": web.alias}})

    assert outcome == jobs.JobOutcome(2)
    assert path.read_text() == api.pem


def test_management_remove_of_an_absent_alias_succeeds_with_a_note(tmp_path: Path, web: MadeCertificate) -> None:
    (tmp_path / "app.pem").write_text(web.pem)

    outcome = run(tmp_path, MANAGEMENT, {"Job": {"OperationType": 3, "StorePath": "app.pem", "Alias": "ab" * 20}})

    assert outcome.status == 2
    assert "was not in the store" in outcome.message


@pytest.mark.parametrize(
    ("job", "message"),
    [
        ({"OperationType": 4}, "Management operation 4 is not supported"),
        ({"OperationType": 2, "PrivateKeyEntry": True, "EntryContents": "x"}, "(PFX) is not supported"),
        ({"OperationType": 2}, "no EntryContents"),
        ({"OperationType": 2, "EntryContents": "bm90IGEgY2VydA=="}, "not a valid X.509 certificate"),
        ({"OperationType": 3}, "no Alias"),
        ({"OperationType": 2, "StorePath": "/etc/passwd", "EntryContents": "x"}, None),
    ],
)
def test_management_jobs_that_cannot_run_fail_with_a_message(
    tmp_path: Path, web: MadeCertificate, job: dict[str, Any], message: str | None
) -> None:
    (tmp_path / "app.pem").write_text(web.pem)
    job = {"StorePath": "app.pem", **job}

    outcome = run(tmp_path, MANAGEMENT, {"Job": job})

    assert outcome.status == 4
    assert (message or "outside the store directory") in outcome.message
    assert (tmp_path / "app.pem").read_text() == web.pem


# -- custom jobs and FetchLogs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [
        {"JobFields": {"Greeting": "hello", "Count": 3}},
        {"Job": {"JobFields": {"Greeting": "hello", "Count": 3}}},
        {"Job": {"Fields": '{"Greeting": "hello", "Count": 3}'}},
    ],
)
def test_a_custom_job_returns_its_fields_as_data(tmp_path: Path, config: dict[str, Any]) -> None:
    outcome = run(tmp_path, "Custom.Echo", config)

    assert outcome.status == 2
    assert json.loads(outcome.data or "") == {"Greeting": "hello", "Count": 3}


def test_a_custom_job_without_fields_returns_an_empty_object(tmp_path: Path) -> None:
    assert run(tmp_path, "Custom.Echo", {}).data == "{}"


def test_fetch_logs_returns_the_tail_of_the_log_from_a_line_start(tmp_path: Path) -> None:
    lines = [f"2026-11-29 12:00:{second:02d} INFO line {second}\n" for second in range(50)]
    (tmp_path / "orchestrator.log").write_text("".join(lines))

    outcome = run(tmp_path, "Custom.FetchLogs", {"MaxCharactersToReturn": 100})

    assert outcome.status == 2
    assert outcome.log is not None
    assert 0 < len(outcome.log) <= 100
    assert outcome.log == "".join(lines)[-len(outcome.log) :]
    assert outcome.log.startswith("2026-11-29")


def test_fetch_logs_returns_a_short_log_whole(tmp_path: Path) -> None:
    (tmp_path / "orchestrator.log").write_text("one\ntwo\n")
    assert run(tmp_path, "Custom.FetchLogs", {}).log == "one\ntwo\n"


def test_log_tail_keeps_a_tail_that_already_starts_a_line(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_text("aaaa\nbbbb\n")
    assert log_tail(path, 5) == "bbbb\n"
    assert log_tail(path, 4) == "bbb\n"  # a single partial line is still better than nothing


def test_fetch_logs_without_a_log_fails(tmp_path: Path) -> None:
    outcome = run(tmp_path, "Custom.FetchLogs", {"MaxCharactersToReturn": 100})
    assert outcome.status == 4
    assert "cannot be read" in outcome.message


def test_an_unknown_capability_fails(tmp_path: Path) -> None:
    assert run(tmp_path, "CertStores.JKS.Inventory", {}) == jobs.JobOutcome(
        4, "This orchestrator cannot run CertStores.JKS.Inventory jobs."
    )
