"""The protocol client and the run loop against a scripted server (httpx.MockTransport): registration and
identity, job order and completions, sessions that end, refusals, and stopping on a signal."""

import json
import os
import signal
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from orchjobs.orchestrator.client import resolve_endpoint
from orchjobs.orchestrator.custom import (
    CustomJobContext,
    CustomJobOutcome,
    CustomJobType,
    CustomJobTypes,
    JobFields,
    JobResult,
)
from orchjobs.orchestrator.identity import STATE_FILE
from orchjobs.orchestrator.runner import CAPABILITIES_ENV, DEFAULT_CAPABILITIES, LOG_FILE, reported_capabilities, run
from tests.orchestrator.certificates import make_certificate
from tests.orchestrator.fake_server import BASE_URL, FakeServer, ScriptedJob, basic, invalid_session

NAME = "web-prd-01.corp.example.com"


def run_against(server: FakeServer, store_dir: Path, **options: Any) -> int:
    options.setdefault("once", True)
    return run(
        url=BASE_URL,
        name=NAME,
        store_dir=store_dir,
        username="orchestrator",
        password="secret",
        transport=server.transport(),
        **options,
    )


def completions(server: FakeServer) -> dict[str, dict[str, Any]]:
    return {body["JobId"]: body for body in server.bodies("Jobs/Complete")}


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [
        ("Jobs/Configuration", "http://h:8080/KeyfactorAgents/Jobs/Configuration"),
        ("/Jobs/Configuration", "http://h:8080/KeyfactorAgents/Jobs/Configuration"),
        ("KeyfactorAgents/Jobs/Configuration", "http://h:8080/KeyfactorAgents/Jobs/Configuration"),
        ("/KeyfactorAgents/Jobs/Configuration", "http://h:8080/KeyfactorAgents/Jobs/Configuration"),
    ],
)
def test_endpoints_resolve_like_the_c_agent(endpoint: str, url: str) -> None:
    assert resolve_endpoint("http://h:8080/KeyfactorAgents/", endpoint) == url


def test_capabilities_are_the_defaults_plus_extras_each_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CAPABILITIES_ENV, "Custom.Report, custom.echo")
    assert reported_capabilities(["Custom.Echo", "custom.fetchlogs"]) == [
        "CertStores.PEM.Inventory",
        "CertStores.PEM.Management",
        "CertStores.PEM.Discovery",
        "CertStores.JKS.Discovery",
        "Custom.FetchLogs",
        "Custom.Echo",
        "Custom.Report",
    ]


def test_a_new_orchestrator_registers_and_keeps_its_agent_id_across_runs(tmp_path: Path) -> None:
    server = FakeServer()

    assert run_against(server, tmp_path, capabilities=["Custom.Echo"]) == 0
    assert run_against(server, tmp_path) == 0

    first, second = server.bodies("Session/Register")
    assert first["AgentId"] == ""
    assert second["AgentId"] == server.agent_id
    assert first["ClientMachine"] == NAME
    assert first["Capabilities"] == [
        "CertStores.PEM.Inventory",
        "CertStores.PEM.Management",
        "CertStores.PEM.Discovery",
        "CertStores.JKS.Discovery",
        "Custom.FetchLogs",
        "Custom.Echo",
    ]
    assert (first["AgentPlatform"], first["AgentVersion"], first["CSR"]) == (1, "1.0.0.0", None)
    assert json.loads((tmp_path / STATE_FILE).read_text()) == {"ClientMachine": NAME, "AgentId": server.agent_id}
    assert set(server.authorizations) == {basic("orchestrator", "secret")}
    # once: Register, then one Heartbeat with the session's token
    assert server.routes == ["Session/Register", "Session/Heartbeat"] * 2
    assert server.bodies("Session/Heartbeat")[0]["SessionToken"] == "token-1"


def test_a_saved_agent_id_is_not_reused_under_another_name(tmp_path: Path) -> None:
    server = FakeServer()
    run_against(server, tmp_path)

    run(url=BASE_URL, name="other", store_dir=tmp_path, once=True, transport=server.transport())

    assert server.bodies("Session/Register")[1]["AgentId"] == ""


def test_handed_out_jobs_run_in_the_c_agent_order_and_report_their_outcomes(tmp_path: Path) -> None:
    web, api = make_certificate("web.example.com"), make_certificate("api.example.com")
    (tmp_path / "app.pem").write_text(web.pem)
    logs = ScriptedJob("Custom.FetchLogs", {"MaxCharactersToReturn": 4000})
    inventory = ScriptedJob(
        "CertStores.PEM.Inventory", {"InventoryEndpoint": "Jobs/Inventory", "Job": {"StorePath": "app.pem"}}
    )
    echo = ScriptedJob("Custom.Echo", {"Job": {"JobFields": {"Greeting": "hello"}}})
    add = ScriptedJob(
        "CertStores.PEM.Management",
        {"Job": {"OperationType": 2, "StorePath": "app.pem", "EntryContents": api.pem}},
        priority=3,
    )
    escape = ScriptedJob("CertStores.PEM.Management", {"Job": {"OperationType": 3, "StorePath": "../x.pem"}})
    server = FakeServer(on_register=[[logs, inventory, echo, escape]], on_heartbeat=[[add]])

    assert run_against(server, tmp_path, capabilities=["Custom.Echo"]) == 0

    done = completions(server)
    order = [body["JobId"] for body in server.bodies("Jobs/Complete")]
    assert order == [escape.job_id, inventory.job_id, logs.job_id, echo.job_id, add.job_id]
    assert {job_id: body["Status"] for job_id, body in done.items()} == {
        escape.job_id: 4,
        inventory.job_id: 2,
        logs.job_id: 2,
        echo.job_id: 2,
        add.job_id: 2,
    }
    assert "outside the store directory" in done[escape.job_id]["Message"]
    assert json.loads(done[echo.job_id]["Data"]) == {"Greeting": "hello"}
    assert "Registered as web-prd-01.corp.example.com" in done[logs.job_id]["Log"]
    assert done[inventory.job_id]["AuditId"] == 1001
    assert all(body["SessionToken"] == "token-1" for body in done.values())
    [upload] = server.bodies("Jobs/Inventory")
    assert [(item["Alias"], item["ItemStatus"]) for item in upload["Inventory"]] == [(web.alias, 1)]
    assert (tmp_path / "app.pem").read_text() == web.pem + api.pem
    assert "Job" not in done[echo.job_id] and "Log" not in done[echo.job_id]


def test_a_job_type_the_orchestrator_never_reported_fails_with_a_message(tmp_path: Path) -> None:
    unknown = ScriptedJob("CertStores.JKS.Inventory", {})
    server = FakeServer(on_register=[[unknown]])

    run_against(server, tmp_path)

    [completion] = server.bodies("Jobs/Complete")
    assert completion["Status"] == 4
    assert "cannot run" in completion["Message"]


def test_an_expired_session_on_heartbeat_registers_again(tmp_path: Path) -> None:
    echo = ScriptedJob("Custom.Echo", {})
    expired = {"Result": {"Status": 3, "Error": {"CodeString": "A0100001", "Message": "Unknown session."}}}
    server = FakeServer(on_register=[[], [echo]], on_heartbeat=[expired])

    assert run_against(server, tmp_path, capabilities=["Custom.Echo"]) == 0

    assert server.routes == [
        "Session/Register",
        "Session/Heartbeat",
        "Session/Register",
        "Jobs/Configuration",
        "Jobs/Complete",
    ]
    assert server.bodies("Jobs/Complete")[0]["SessionToken"] == "token-2"


def test_a_session_that_ends_between_jobs_registers_again_and_goes_on(tmp_path: Path) -> None:
    first, second, third = (ScriptedJob("Custom.Echo", {}) for _ in range(3))
    server = FakeServer(on_register=[[first, second], [third]], refuse_configuration={first.job_id: "A0100001"})

    assert run_against(server, tmp_path, capabilities=["Custom.Echo"]) == 0

    # No completion for the refused job; the rest of the batch runs in the new session with what it handed out.
    assert list(completions(server)) == [second.job_id, third.job_id]
    assert {body["SessionToken"] for body in server.bodies("Jobs/Complete")} == {"token-2"}
    assert server.routes.count("Session/Register") == 2


def test_a_refused_registration_ends_a_once_run_with_exit_code_1(tmp_path: Path) -> None:
    server = FakeServer(refuse_register=("A0100002", "The orchestrator is disapproved."))

    assert run_against(server, tmp_path) == 1

    assert "The orchestrator is disapproved. (A0100002)" in (tmp_path / LOG_FILE).read_text()
    assert not (tmp_path / STATE_FILE).exists()


def test_an_unreachable_server_ends_a_once_run_with_exit_code_1(tmp_path: Path) -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    code = run(url=BASE_URL, name=NAME, store_dir=tmp_path, once=True, transport=httpx.MockTransport(unreachable))

    assert code == 1
    assert "connection refused" in (tmp_path / LOG_FILE).read_text()


def test_the_loop_heartbeats_registers_again_when_told_and_stops_on_request(tmp_path: Path) -> None:
    stop = threading.Event()
    echo = ScriptedJob("Custom.Echo", {})
    server = FakeServer(
        on_register=[[], [echo]],
        on_heartbeat=[[], invalid_session()],
        on_call=lambda route: stop.set() if route == "Jobs/Complete" else None,
    )

    thread = threading.Thread(
        target=run_against, args=(server, tmp_path), kwargs={"once": False, "poll_seconds": 0.01, "stop": stop}
    )
    thread.start()
    thread.join(timeout=10)

    assert not thread.is_alive()
    assert server.routes == [
        "Session/Register",
        "Session/Heartbeat",
        "Session/Heartbeat",
        "Session/Register",
        "Jobs/Configuration",
        "Jobs/Complete",
    ]


def test_sigterm_stops_the_loop_after_the_job_in_hand(tmp_path: Path) -> None:
    first, second = ScriptedJob("Custom.Echo", {}), ScriptedJob("Custom.Echo", {})

    def terminate_on_first_configuration(route: str) -> None:
        if route == "Jobs/Configuration" and len(server.bodies(route)) == 1:
            os.kill(os.getpid(), signal.SIGTERM)

    server = FakeServer(on_register=[[first, second]], on_call=terminate_on_first_configuration)
    previous = signal.getsignal(signal.SIGTERM)

    code = run_against(server, tmp_path, once=False, poll_seconds=0.01, capabilities=["Custom.Echo"])

    assert code == 0
    assert list(completions(server)) == [first.job_id]  # the second job is left for the server to hand out again
    assert signal.getsignal(signal.SIGTERM) is previous
    assert "Received SIGTERM" in (tmp_path / LOG_FILE).read_text()


# -- custom jobs -----------------------------------------------------------------------------------------------------


def reboot(fields: JobFields, context: CustomJobContext) -> CustomJobOutcome:
    context.logger.info("Rebooting %s", fields["Host"])
    return CustomJobOutcome(JobResult.SUCCESS, f"Rebooted {fields['Host']}.", data={"Host": fields["Host"], "Up": True})


def test_custom_job_types_are_reported_and_run_by_their_handlers(tmp_path: Path) -> None:
    rebooting = ScriptedJob("Custom.RebootServer", {"JobFields": {"Host": "web-01"}})
    echo = ScriptedJob("Custom.Report", {"JobFields": {"Period": "daily"}})
    server = FakeServer(on_register=[[rebooting, echo]])
    custom_jobs = CustomJobTypes([CustomJobType("RebootServer", reboot)])

    assert run_against(server, tmp_path, custom_jobs=custom_jobs, capabilities=["Custom.Report"]) == 0

    [registration] = server.bodies("Session/Register")
    assert registration["Capabilities"][len(DEFAULT_CAPABILITIES) :] == ["Custom.RebootServer", "Custom.Report"]
    done = completions(server)
    assert (done[rebooting.job_id]["Status"], done[rebooting.job_id]["Message"]) == (2, "Rebooted web-01.")
    assert json.loads(done[rebooting.job_id]["Data"]) == {"Host": "web-01", "Up": True}
    assert json.loads(done[echo.job_id]["Data"]) == {"Period": "daily"}  # no handler of its own: the echo
    log = (tmp_path / LOG_FILE).read_text()
    assert "Custom job type RebootServer (Custom.RebootServer) runs tests.orchestrator.test_runner:reboot" in log
    assert "INFO Rebooting web-01" in log  # the handler's own log line, where FetchLogs reads


def test_result_data_over_the_limit_is_reported_as_a_failure_without_it(tmp_path: Path) -> None:
    big = ScriptedJob("Custom.Echo", {"JobFields": {"Text": "x" * 100}})
    server = FakeServer(on_register=[[big]])

    run_against(server, tmp_path, capabilities=["Custom.Echo"], max_data_bytes=50)

    [completion] = server.bodies("Jobs/Complete")
    assert completion["Status"] == 4
    assert completion["Message"].startswith("The result data (112 bytes) is over the 50-byte upload limit")
    assert "Data" not in completion


def test_data_the_server_refuses_is_reported_as_a_failure_without_it(tmp_path: Path) -> None:
    big = ScriptedJob("Custom.Echo", {"JobFields": {"Text": "x" * 100}})
    server = FakeServer(on_register=[[big]], max_data_bytes=64)  # a server whose limit is below the orchestrator's

    assert run_against(server, tmp_path, capabilities=["Custom.Echo"]) == 0

    first, second = server.bodies("Jobs/Complete")
    assert (first["Status"], len(first["Data"])) == (2, 112)
    assert second["Status"] == 4
    assert second["Message"] == (
        "The server refused the result data: The Data is 112 bytes; at most 64 bytes are accepted."
    )
    assert "Data" not in second and second["AuditId"] == first["AuditId"]
    assert "The server refused the result of job" in (tmp_path / LOG_FILE).read_text()


def test_a_message_that_utf8_cannot_carry_is_sent_with_replacements(tmp_path: Path) -> None:
    def undecodable(_fields: JobFields, _context: CustomJobContext) -> CustomJobOutcome:
        return CustomJobOutcome(JobResult.WARNING, "Skipped the file caf\udce9.txt")

    job = ScriptedJob("Custom.Odd", {})
    server = FakeServer(on_register=[[job]])

    run_against(server, tmp_path, custom_jobs=CustomJobTypes([CustomJobType("Odd", undecodable)]))

    [completion] = server.bodies("Jobs/Complete")
    assert (completion["Status"], completion["Message"]) == (3, "Skipped the file caf?.txt")
