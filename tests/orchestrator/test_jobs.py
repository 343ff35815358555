"""Job handlers: what each job does with its configuration, and the completion it reports."""

import base64
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orchjobs.orchestrator import jobs
from orchjobs.orchestrator.custom import (
    DEFAULT_MAX_DATA_BYTES,
    CustomJobContext,
    CustomJobHandler,
    CustomJobOutcome,
    CustomJobType,
    CustomJobTypes,
    JobFields,
    JobResult,
    JsonValue,
    echo_fields,
)
from orchjobs.orchestrator.jobs import JobContext, JobOutcome, inventory_delta, log_tail
from orchjobs.orchestrator.pem_store import PemStore, StoredCertificate
from orchjobs.settings import Settings
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


# -- custom job handlers -------------------------------------------------------------------------------------------


class Recorder:
    """A handler that records what it was given and returns a set outcome."""

    def __init__(self, outcome: object) -> None:
        self.outcome = outcome
        self.calls: list[tuple[JobFields, CustomJobContext]] = []

    def __call__(self, fields: JobFields, context: CustomJobContext) -> CustomJobOutcome:
        self.calls.append((fields, context))
        return self.outcome  # type: ignore[return-value]  # some tests return what a handler must not


def run_custom(
    tmp_path: Path, handler: CustomJobHandler, *, max_data_bytes: int = DEFAULT_MAX_DATA_BYTES
) -> JobOutcome:
    context = JobContext(
        capability="Custom.RebootServer",
        job_id="job-1",
        config={"AuditId": 7, "JobCancelled": False, "JobFields": {"Host": "web-01", "Force": "true", "Delay": 5}},
        store=PemStore(tmp_path),
        log_path=tmp_path / "orchestrator.log",
        upload_inventory=Uploads(),
        custom_jobs=CustomJobTypes([CustomJobType("rebootserver", handler)]),  # names compare case-insensitively
        max_data_bytes=max_data_bytes,
    )
    return jobs.execute(context)


def test_a_custom_job_runs_its_types_handler_with_the_fields_and_context(tmp_path: Path) -> None:
    handler = Recorder(CustomJobOutcome(JobResult.WARNING, "Rebooted late.", data={"Uptime": 0, "Host": "web-01"}))

    outcome = run_custom(tmp_path, handler)

    assert outcome == JobOutcome(3, "Rebooted late.", data='{"Uptime": 0, "Host": "web-01"}')
    [(fields, context)] = handler.calls
    assert fields == {"Host": "web-01", "Force": "true", "Delay": 5}  # as the server sent them
    assert (context.job_type, context.job_id) == ("RebootServer", "job-1")
    assert (context.store_dir, context.log_path) == (tmp_path.resolve(), tmp_path / "orchestrator.log")
    assert context.logger.name == "orchjobs.orchestrator.RebootServer"


@pytest.mark.parametrize(
    ("data", "uploaded"),
    [
        ("plain text, sent as it is", "plain text, sent as it is"),
        ("", ""),
        (None, None),
        ([1, 2.5, True, None, "é"], '[1, 2.5, true, null, "é"]'),
        ({"Nested": {"List": []}}, '{"Nested": {"List": []}}'),
    ],
)
def test_result_data_is_a_string_as_it_is_or_a_json_value_as_its_text(
    tmp_path: Path, data: JsonValue, uploaded: str | None
) -> None:
    outcome = run_custom(tmp_path, Recorder(CustomJobOutcome(data=data)))
    assert (outcome.status, outcome.data) == (2, uploaded)


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        (CustomJobOutcome(data={"When": {1, 2}}), "The result data cannot be sent as JSON: Object of type set"),
        (CustomJobOutcome(data=float("nan")), "The result data cannot be sent as JSON: Out of range float"),
        (CustomJobOutcome(data="bad name: \udcff"), "The result data is not valid Unicode text: surrogates"),
        ({"Result": 2}, "The RebootServer handler returned dict, not a CustomJobOutcome."),
        (None, "The RebootServer handler returned NoneType, not a CustomJobOutcome."),
    ],
)
def test_a_result_that_cannot_be_uploaded_fails_the_run(tmp_path: Path, returned: object, message: str) -> None:
    outcome = run_custom(tmp_path, Recorder(returned))
    assert (outcome.status, outcome.data) == (4, None)
    assert outcome.message.startswith(message), outcome.message


def test_a_result_may_be_given_as_its_number() -> None:
    assert CustomJobOutcome(3).result is JobResult.WARNING  # type: ignore[arg-type]


def test_a_handler_that_raises_fails_the_run_with_the_exception(tmp_path: Path) -> None:
    def broken(fields: JobFields, context: CustomJobContext) -> CustomJobOutcome:
        raise ConnectionRefusedError(f"{fields['Host']} did not answer")

    assert run_custom(tmp_path, broken) == JobOutcome(4, "ConnectionRefusedError: web-01 did not answer")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: CustomJobOutcome(JobResult.IN_PROCESS), "ValueError: A custom job's result is Success, Warning or"),
        (lambda: CustomJobOutcome(message=None), "TypeError: A custom job's message is a string, not NoneType."),
    ],
)
def test_an_outcome_a_handler_cannot_report_fails_the_run(
    tmp_path: Path, make: Callable[[], CustomJobOutcome], message: str
) -> None:
    outcome = run_custom(tmp_path, lambda _fields, _context: make())
    assert outcome.status == 4
    assert outcome.message.startswith(message), outcome.message


def test_result_data_over_the_limit_fails_the_run_without_uploading(tmp_path: Path) -> None:
    limit = 10
    fits = run_custom(tmp_path, Recorder(CustomJobOutcome(data="é" * 5)), max_data_bytes=limit)  # 10 bytes in UTF-8
    too_big = run_custom(
        tmp_path, Recorder(CustomJobOutcome(JobResult.SUCCESS, "Done.", data="é" * 6)), max_data_bytes=limit
    )
    without_message = run_custom(tmp_path, Recorder(CustomJobOutcome(data=["x" * 20])), max_data_bytes=limit)

    assert (fits.status, fits.data) == (2, "é" * 5)
    assert too_big == JobOutcome(
        4,
        "The result data (12 bytes) is over the 10-byte upload limit and was not sent. The job reported Success: Done.",
    )
    assert without_message.message.endswith(
        "(24 bytes) is over the 10-byte upload limit and was not sent. The job reported Success."
    )


def test_the_default_limit_is_the_servers_default() -> None:
    assert Settings.model_fields["max_job_data_bytes"].default == DEFAULT_MAX_DATA_BYTES


def test_a_custom_job_type_without_a_handler_echoes_its_fields(tmp_path: Path) -> None:
    context = JobContext(
        capability="Custom.Other",
        job_id="job-1",
        config={"JobFields": {"B": "2", "A": "1"}},
        store=PemStore(tmp_path),
        log_path=tmp_path / "log",
        upload_inventory=Uploads(),
        custom_jobs=CustomJobTypes([CustomJobType("RebootServer", Recorder(None))]),
    )
    assert jobs.execute(context) == JobOutcome(2, data='{"B": "2", "A": "1"}')  # in the order the server sent


# -- the registry ----------------------------------------------------------------------------------------------------


def test_the_registry_finds_handlers_by_name_in_any_case_and_names_the_capabilities() -> None:
    reboot, report = Recorder(None), Recorder(None)
    registry = CustomJobTypes([CustomJobType("RebootServer", reboot), CustomJobType("Report", report)])

    assert registry.handler("REBOOTSERVER") is reboot
    assert registry.handler("report") is report
    assert registry.handler("Unknown") is echo_fields
    assert registry.capabilities == ["Custom.RebootServer", "Custom.Report"]
    assert len(registry) == 2


def test_the_registry_takes_a_name_twice_only_with_the_same_handler() -> None:
    reboot = Recorder(None)
    assert len(CustomJobTypes([CustomJobType("Reboot", reboot), CustomJobType("reboot", reboot)])) == 1
    with pytest.raises(ValueError, match="The custom job type reboot is given twice, with different handlers."):
        CustomJobTypes([CustomJobType("Reboot", reboot), CustomJobType("reboot")])


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "A custom job type needs a name."),
        ("  ", "A custom job type needs a name."),
        ("Reboot Server", "holds a space or one of . , = :"),
        ("Reboot.Server", "holds a space or one of . , = :"),
        ("Reboot,Report", "holds a space or one of . , = :"),
        ("x" * 249, "is 249 characters long; at most 248."),
        ("fetchlogs", "FetchLogs is built in"),
    ],
)
def test_a_name_the_orchestrator_cannot_report_is_refused(name: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        CustomJobType(name)
    assert CustomJobType("x" * 248).capability == "Custom." + "x" * 248
