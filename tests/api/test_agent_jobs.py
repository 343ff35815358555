"""Dispatch and the job calls under /KeyfactorAgents/Jobs, through HTTP, on both databases.

Agents, sessions, stores and scheduled jobs are arranged straight in the database; the runs are handed out with
`hand_out_due_jobs` (what Register and Heartbeat call) at chosen times; the app's clock is fixed to NOW.
"""

import base64
import json
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import Engine, func, insert, select, update
from starlette.testclient import TestClient

from orchjobs.domain.app_settings import ServiceSettings
from orchjobs.domain.capabilities import capability_guid
from orchjobs.domain.jobs import MAX_MESSAGE_LENGTH
from orchjobs.service.dispatch import HandedOutJob, hand_out_due_jobs
from orchjobs.service.sweeper import Sweeper, fail_overdue_runs, start_sweeper
from orchjobs.settings import Settings
from orchjobs.store.engine import make_engine
from orchjobs.store.tables import (
    agent,
    agent_capability,
    agent_event,
    app_setting,
    certificate_store_entry,
    job_history,
    job_result_data,
    scheduled_job,
)
from tests import factories
from tests.conftest import api_client
from tests.orchestrator.certificates import make_certificate

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
INVENTORY = "CertStores.PEM.Inventory"
MANAGEMENT = "CertStores.PEM.Management"
REENROLLMENT = "CertStores.PEM.Reenrollment"
FETCH_LOGS = "Custom.FetchLogs"
ALL_CAPABILITIES = (INVENTORY, MANAGEMENT, REENROLLMENT, FETCH_LOGS, "Custom.RestartWebService")
CERT_A, CERT_B = (base64.b64encode(make_certificate(name).der).decode() for name in ("a.example", "b.example"))


# --- arranging ---------------------------------------------------------------------------------


def add_agent(engine: Engine, *, name: str = "web01.example.com", status: int = 2) -> uuid.UUID:
    agent_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(
            insert(agent).values(
                id=agent_id, client_machine=name, username="orchestrator", status=status, last_seen=NOW
            )
        )
        conn.execute(insert(agent_capability), [{"agent_id": agent_id, "capability": c} for c in ALL_CAPABILITIES])
    return agent_id


def open_session(engine: Engine, agent_id: uuid.UUID, *, expires_at: datetime = NOW + timedelta(hours=1)) -> str:
    return factories.add_session(engine, agent_id, created_at=NOW, expires_at=expires_at)


def add_store(engine: Engine, agent_id: uuid.UUID, *, properties: str | None = None) -> uuid.UUID:
    return factories.add_store(engine, agent_id, properties=properties)


def add_entry(engine: Engine, store_id: uuid.UUID, alias: str, certificate: str = CERT_A) -> None:
    factories.add_entry(engine, store_id, alias, certificate)


def add_job(
    engine: Engine,
    agent_id: uuid.UUID,
    *,
    next_run_at: datetime | None = NOW,
    capability: str | None = INVENTORY,
    **values: Any,
) -> uuid.UUID:
    return factories.add_job(
        engine, agent_id, next_run_at=next_run_at, requested_at=NOW - timedelta(days=1), capability=capability, **values
    )


def set_app_setting(engine: Engine, short_name: str, value: int) -> None:
    with engine.begin() as conn:
        conn.execute(update(app_setting).where(app_setting.c.short_name == short_name).values(value=str(value)))


def hand_out(engine: Engine, agent_id: uuid.UUID, *, now: datetime = NOW) -> list[HandedOutJob]:
    return hand_out_due_jobs(engine, agent_id=agent_id, capabilities=ALL_CAPABILITIES, now=now)


def runs(engine: Engine, job_id: uuid.UUID) -> list[Any]:
    """The job's history rows, oldest first."""
    with engine.connect() as conn:
        stmt = select(job_history).where(job_history.c.job_id == job_id).order_by(job_history.c.id)
        return list(conn.execute(stmt))


def job_row(engine: Engine, job_id: uuid.UUID) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(scheduled_job).where(scheduled_job.c.id == job_id)).first()


def events(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(agent_event).order_by(agent_event.c.id)))


def entries(engine: Engine, store_id: uuid.UUID) -> dict[str, tuple[str, bool]]:
    return factories.store_entries(engine, store_id)


def snapshot(engine: Engine) -> tuple[Any, ...]:
    """Everything a refused call must leave as it was."""
    with engine.connect() as conn:
        return tuple(
            sorted(tuple(str(value) for value in row) for row in conn.execute(select(table)))
            for table in (scheduled_job, job_history, job_result_data, certificate_store_entry)
        )


@contextmanager
def agent_client(settings: Settings) -> Iterator[TestClient]:
    """A client as an orchestrator sees the server: no Basic credentials, no Command header, clock at NOW."""
    with api_client(settings, auth=None, headers=None, clock=lambda: NOW) as test_client:
        yield test_client


@pytest.fixture
def agents(settings: Settings) -> Iterator[TestClient]:
    with agent_client(settings) as test_client:
        yield test_client


@pytest.fixture(autouse=True)
def default_app_settings(engine: Engine) -> Iterator[None]:
    """Tests change JobRetries and friends; a PostgreSQL test database is reused, so they are put back."""
    yield
    with engine.begin() as conn:
        for name, value in ServiceSettings().as_values().items():
            conn.execute(update(app_setting).where(app_setting.c.short_name == name).values(value=str(value)))


def post(client: TestClient, call: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/KeyfactorAgents/Jobs/{call}", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def assert_refused(answer: dict[str, Any], code: str, fragment: str) -> None:
    assert answer["Result"]["Status"] == 3, answer
    assert answer["Result"]["Error"]["CodeString"] == code
    assert fragment in answer["Result"]["Error"]["Message"]


# --- dispatch ----------------------------------------------------------------------------------


def test_dispatch_starts_a_waiting_run_and_hands_a_job_out_once(engine: Engine) -> None:
    agent_id = add_agent(engine)
    job_id = add_job(engine, agent_id, schedule={"Interval": {"Minutes": 60}}, priority=3)

    handed = hand_out(engine, agent_id)

    assert handed == [HandedOutJob(job_type_id=capability_guid(INVENTORY), job_id=job_id, schedule="I_60", priority=3)]
    assert str(handed[0].job_type_id) == "a809ce1f-1eea-4738-a38e-15708c89c981"
    (run,) = runs(engine, job_id)
    assert (run.status, run.result, run.job_type, run.client_machine) == (1, 0, "Inventory", "web01.example.com")
    assert (run.agent_id, run.operation_start, run.operation_end) == (agent_id, NOW, None)
    assert (run.schedule, run.schedule_type, run.target_path) == (
        '{"Interval": {"Minutes": 60}}',
        "I_60",
        "/etc/ssl/app.pem",
    )
    job = job_row(engine, job_id)
    assert (job.running_history_id, job.next_run_at) == (run.id, NOW + timedelta(minutes=60))
    # In flight: not handed out again, even once it is due again.
    assert hand_out(engine, agent_id) == []
    assert hand_out(engine, agent_id, now=NOW + timedelta(hours=2)) == []
    assert len(runs(engine, job_id)) == 1


def test_dispatch_hands_out_only_due_jobs_of_the_agent_it_can_run(engine: Engine) -> None:
    agent_id, other = add_agent(engine), add_agent(engine, name="db01")
    due = add_job(engine, agent_id)
    add_job(engine, agent_id, next_run_at=NOW + timedelta(seconds=1))  # not yet due
    add_job(engine, agent_id, next_run_at=None)  # nothing scheduled
    add_job(engine, agent_id, capability=None)  # no capability: never handed out
    add_job(engine, agent_id, capability="CertStores.JKS.Inventory")  # the agent cannot run it
    add_job(engine, other)  # someone else's

    assert [job.job_id for job in hand_out(engine, agent_id)] == [due]
    assert hand_out_due_jobs(engine, agent_id=agent_id, capabilities=[], now=NOW) == []


def test_capabilities_match_case_insensitively_and_by_known_guid(engine: Engine) -> None:
    agent_id = add_agent(engine)
    by_name = add_job(engine, agent_id, capability="certstores.pem.INVENTORY")
    logs = add_job(engine, agent_id, type_name="FetchLogs", capability=FETCH_LOGS)

    found = hand_out_due_jobs(
        engine,
        agent_id=agent_id,
        # Agents before v2.16.1 report the GUIDs of their capabilities.
        capabilities=["CERTSTORES.PEM.Inventory", "0D8CF0C8-56CA-4B8A-B16A-C062018E170D"],
        now=NOW,
    )

    assert {job.job_id: job.job_type_id for job in found} == {
        by_name: capability_guid(INVENTORY),
        logs: uuid.UUID("0d8cf0c8-56ca-4b8a-b16a-c062018e170d"),
    }


@pytest.mark.parametrize("status", [1, 3])
def test_an_orchestrator_that_is_not_approved_gets_no_jobs(engine: Engine, status: int) -> None:
    agent_id = add_agent(engine, status=status)
    add_job(engine, agent_id)
    assert hand_out(engine, agent_id) == []


def test_one_shot_and_calendar_jobs_move_to_their_next_run(engine: Engine) -> None:
    agent_id = add_agent(engine)
    immediate = add_job(engine, agent_id, schedule={"Immediate": True})
    once = add_job(engine, agent_id, schedule={"ExactlyOnce": {"Time": "2026-11-29T11:00:00Z"}})
    daily = add_job(engine, agent_id, schedule={"Daily": {"Time": "2026-01-01T08:30:00Z"}})
    broken = add_job(engine, agent_id, schedule={"Fortnightly": {}})

    handed = {job.job_id: job.schedule for job in hand_out(engine, agent_id)}

    assert handed == {immediate: None, once: "O_2026-11-29T11:00", daily: "D_08:30", broken: None}
    assert job_row(engine, immediate).next_run_at is None
    assert job_row(engine, once).next_run_at is None
    assert job_row(engine, daily).next_run_at == datetime(2026, 11, 30, 8, 30, tzinfo=UTC)
    assert job_row(engine, broken).next_run_at is None  # an unreadable schedule runs once


# --- configuration -----------------------------------------------------------------------------


def test_configuration_makes_the_run_in_process_and_describes_an_inventory(engine: Engine, agents: TestClient) -> None:
    agent_id = add_agent(engine)
    store_id = add_store(engine, agent_id)
    add_entry(engine, store_id, "aa11")
    job_id = add_job(engine, agent_id, store_id=store_id)
    hand_out(engine, agent_id)
    token = open_session(engine, agent_id)

    answer = post(agents, "Configuration", {"sessionToken": token, "JOBID": str(job_id)})

    (run,) = runs(engine, job_id)
    assert run.status == 2
    assert answer == {
        "AuditId": run.id,
        "JobCancelled": False,
        "InventoryEndpoint": "Jobs/Inventory",
        "Job": {
            "ClientMachine": "web01.example.com",
            "StorePath": "/etc/ssl/app.pem",
            "StorePassword": None,
            "Category": 0,
            "Inventory": [{"Alias": "aa11", "PrivateKeyEntry": False, "Thumbprints": []}],
        },
        "Result": {"Status": 1},
    }
    # Asking again (an agent's HTTP retry) answers the same and keeps the run InProcess.
    assert post(agents, "Configuration", {"SessionToken": token, "JobId": str(job_id)})["AuditId"] == run.id
    assert runs(engine, job_id)[0].status == 2


def test_configuration_of_a_management_job(engine: Engine, agents: TestClient) -> None:
    agent_id = add_agent(engine)
    store_id = add_store(engine, agent_id, properties='{"separatePrivateKey": false, "PrivateKeyPath": "/k.pem"}')
    fields = {"OperationType": "Add", "Alias": "ab12", "EntryContents": CERT_A, "Overwrite": True}
    job_id = add_job(engine, agent_id, type_name="Management", capability=MANAGEMENT, store_id=store_id, fields=fields)
    hand_out(engine, agent_id)

    answer = post(agents, "Configuration", {"SessionToken": open_session(engine, agent_id), "JobId": str(job_id)})

    job = answer["Job"]
    assert (job["OperationType"], job["StorePath"], job["Alias"], job["EntryContents"]) == (
        2,
        "/etc/ssl/app.pem",
        "ab12",
        CERT_A,
    )
    assert (job["PrivateKeyEntry"], job["Overwrite"], job["StoreType"]) == (False, True, "PEM")
    # A string of JSON whose values are strings: the C agent crashes on anything else.
    assert json.loads(job["Properties"]) == {"separatePrivateKey": "false", "PrivateKeyPath": "/k.pem"}


def test_configuration_of_fetch_logs_and_custom_jobs(engine: Engine, agents: TestClient) -> None:
    agent_id = add_agent(engine)
    logs = add_job(engine, agent_id, type_name="FetchLogs", capability=FETCH_LOGS)
    small = add_job(
        engine, agent_id, type_name="FetchLogs", capability=FETCH_LOGS, fields={"MaxCharactersToReturn": 10}
    )
    custom_fields = {"ServiceName": "W3SVC", "DelaySeconds": "30"}
    custom = add_job(
        engine, agent_id, type_name="RestartWebService", capability="Custom.RestartWebService", fields=custom_fields
    )
    hand_out(engine, agent_id)
    token = open_session(engine, agent_id)

    assert post(agents, "Configuration", {"SessionToken": token, "JobId": str(logs)})["MaxCharactersToReturn"] == 4000
    assert post(agents, "Configuration", {"SessionToken": token, "JobId": str(small)})["MaxCharactersToReturn"] == 10
    assert post(agents, "Configuration", {"SessionToken": token, "JobId": str(custom)})["JobFields"] == custom_fields


def test_configuration_of_a_job_that_is_not_the_callers_is_refused_and_recorded(
    engine: Engine, agents: TestClient
) -> None:
    mine, theirs = add_agent(engine), add_agent(engine, name="db01")
    their_job = add_job(engine, theirs)
    not_handed_out = add_job(engine, mine, next_run_at=NOW + timedelta(days=1))
    hand_out(engine, theirs)
    token = open_session(engine, mine)
    before = snapshot(engine)

    for job_id in (str(their_job), str(not_handed_out), str(uuid.uuid4()), "not-a-guid", None):
        assert_refused(post(agents, "Configuration", {"SessionToken": token, "JobId": job_id}), "A0100004", "")

    assert snapshot(engine) == before
    recorded = events(engine)
    assert [(event.kind, event.agent_id) for event in recorded] == [("ConfigurationRefused", mine)] * 5
    assert recorded[0].job_id == their_job
    assert "not a job of this orchestrator" in recorded[0].message
    assert "no run in flight" in recorded[1].message


def test_job_calls_need_a_live_session_of_an_approved_orchestrator(engine: Engine, agents: TestClient) -> None:
    agent_id = add_agent(engine)
    job_id = add_job(engine, agent_id)
    hand_out(engine, agent_id)
    expired = open_session(engine, agent_id, expires_at=NOW - timedelta(seconds=1))
    new_agent = add_agent(engine, name="new01", status=1)

    for body in (
        {"JobId": str(job_id)},
        {"SessionToken": 42, "JobId": str(job_id)},
        {"SessionToken": str(uuid.uuid4()), "JobId": str(job_id)},
        {"SessionToken": expired, "JobId": str(job_id)},
        {"SessionToken": open_session(engine, new_agent), "JobId": str(job_id)},
    ):
        for call in ("Configuration", "Inventory", "Enroll", "Complete"):
            assert_refused(post(agents, call, body), "A0100001", "register again")
    assert runs(engine, job_id)[0].status == 1


def test_a_body_that_is_not_a_json_object_is_a_400_envelope(agents: TestClient) -> None:
    response = agents.post("/KeyfactorAgents/Jobs/Complete", content=b"[1, 2]")
    assert response.status_code == 400
    assert response.json()["Result"]["Status"] == 3


# --- inventory ---------------------------------------------------------------------------------


def inventory_item(alias: str, status: int, certificates: list[str] | None = None, key: bool = False) -> dict[str, Any]:
    return {
        "Alias": alias,
        "ItemStatus": status,
        "PrivateKeyEntry": key,
        "UseChainLevel": False,
        "Certificates": certificates or [],
    }


def inventory_run(engine: Engine) -> tuple[uuid.UUID, uuid.UUID, str]:
    """(store, job, session token) of an Inventory run in flight whose store holds `kept` and `gone`."""
    agent_id = add_agent(engine)
    store_id = add_store(engine, agent_id)
    add_entry(engine, store_id, "kept")
    add_entry(engine, store_id, "gone")
    add_entry(engine, store_id, "changed")
    job_id = add_job(engine, agent_id, store_id=store_id)
    hand_out(engine, agent_id)
    return store_id, job_id, open_session(engine, agent_id)


def test_inventory_applies_the_delta_to_the_store(engine: Engine, agents: TestClient) -> None:
    store_id, job_id, token = inventory_run(engine)
    items = [
        inventory_item("kept", 4),
        inventory_item("gone", 3),
        {"alias": "changed", "itemstatus": 2, "certificates": [CERT_B], "privatekeyentry": True},
        inventory_item("new", 1, [CERT_B], key=True),
        inventory_item("absent", 3),  # removing what is not there is no error
    ]

    answer = post(agents, "Inventory", {"SessionToken": token, "JobId": str(job_id), "Inventory": items})

    assert answer == {"Result": {"Status": 1}}
    assert entries(engine, store_id) == {"kept": (CERT_A, False), "changed": (CERT_B, True), "new": (CERT_B, True)}


@pytest.mark.parametrize(
    ("inventory", "fragment"),
    [
        ("all of them", "must be a list"),
        ([inventory_item("x", 1)], "no certificate"),
        ([inventory_item("x", 5)], "ItemStatus 5"),
        ([inventory_item("x", True)], "ItemStatus True"),  # type: ignore[arg-type]
        ([inventory_item("", 4)], "needs an Alias"),
        ([inventory_item("ok", 3), "item"], "item 1"),
    ],
)
def test_a_malformed_inventory_is_refused_and_changes_nothing(
    engine: Engine, agents: TestClient, inventory: Any, fragment: str
) -> None:
    _, job_id, token = inventory_run(engine)
    before = snapshot(engine)

    answer = post(agents, "Inventory", {"SessionToken": token, "JobId": str(job_id), "Inventory": inventory})

    assert_refused(answer, "A0100005", fragment)
    assert snapshot(engine) == before
    assert [event.kind for event in events(engine)] == ["InventoryRefused"]


def test_an_inventory_over_the_item_limit_is_refused(engine: Engine, settings: Settings) -> None:
    _, job_id, token = inventory_run(engine)
    before = snapshot(engine)
    limited = settings.model_copy(update={"max_inventory_items": 2})
    items = [inventory_item(f"a{n}", 1, [CERT_A]) for n in range(3)]

    with agent_client(limited) as client:
        answer = post(client, "Inventory", {"SessionToken": token, "JobId": str(job_id), "Inventory": items})

    assert_refused(answer, "A0100005", "holds 3 items; at most 2")
    assert snapshot(engine) == before


def test_inventory_for_a_job_that_is_not_an_inventory_is_refused(engine: Engine, agents: TestClient) -> None:
    agent_id = add_agent(engine)
    job_id = add_job(engine, agent_id, type_name="FetchLogs", capability=FETCH_LOGS)
    hand_out(engine, agent_id)
    body = {"SessionToken": open_session(engine, agent_id), "JobId": str(job_id), "Inventory": []}
    assert_refused(post(agents, "Inventory", body), "A0100005", "not the inventory of a certificate store")


# --- enrollment --------------------------------------------------------------------------------


def csr_for(common_name: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .sign(key, hashes.SHA256())
    )
    return base64.b64encode(csr.public_bytes(serialization.Encoding.DER)).decode()


def test_reenrollment_configuration_and_enrollment(engine: Engine, agents: TestClient) -> None:
    agent_id = add_agent(engine)
    store_id = add_store(engine, agent_id)
    fields = {"Subject": "CN=app.example.com,O=Example", "KeyType": "ECC", "KeySize": "256"}
    job_id = add_job(
        engine, agent_id, type_name="Reenrollment", capability=REENROLLMENT, store_id=store_id, fields=fields
    )
    hand_out(engine, agent_id)
    token = open_session(engine, agent_id)

    config = post(agents, "Configuration", {"SessionToken": token, "JobId": str(job_id)})
    assert (config["KeyType"], config["KeySize"], config["Subject"]) == ("ECC", 256, "CN=app.example.com,O=Example")
    assert (config["EnrollEndpoint"], config["StorePath"], config["Entropy"]) == ("Jobs/Enroll", "/etc/ssl/app.pem", "")
    # The store has no properties of its own; it is handed every property of the PEM type, defaults filled in, as
    # strings: Keyfactor's C orchestrator crashes on a Reenrollment whose separatePrivateKey is missing.
    assert json.loads(config["Properties"]) == {"separatePrivateKey": "false", "privateKeyPath": ""}

    answer = post(
        agents, "Enroll", {"SessionToken": token, "JobId": str(job_id), "CSRText": csr_for("app.example.com")}
    )

    certificate = x509.load_der_x509_certificate(base64.b64decode(answer["Certificate"]))
    assert certificate.subject.rfc4514_string() == "CN=app.example.com"
    assert certificate.issuer.rfc4514_string() == "CN=orchjobs orchestrator CA,O=orchjobs"
    usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.SERVER_AUTH]  # not a client certificate of the orchestrator

    # A CSR for another name than the job asked for, or none at all, is refused.
    other = post(agents, "Enroll", {"SessionToken": token, "JobId": str(job_id), "CSRText": csr_for("evil.example")})
    assert_refused(other, "A0100005", "another identity")
    assert_refused(post(agents, "Enroll", {"SessionToken": token, "JobId": str(job_id)}), "A0100005", "CSRText")


# --- completion --------------------------------------------------------------------------------


def running_job(engine: Engine, **job: Any) -> tuple[uuid.UUID, uuid.UUID, int, str]:
    """(agent, job, AuditId, session token) of a run in flight, configured (InProcess)."""
    agent_id = add_agent(engine)
    job_id = add_job(engine, agent_id, **job)
    hand_out(engine, agent_id)
    (run,) = runs(engine, job_id)
    with engine.begin() as conn:
        conn.execute(update(job_history).where(job_history.c.id == run.id).values(status=2))
    return agent_id, job_id, run.id, open_session(engine, agent_id)


def complete(client: TestClient, token: str, job_id: uuid.UUID, audit_id: int, status: Any, **extra: Any) -> Any:
    body = {"SessionToken": token, "JobId": str(job_id), "AuditId": audit_id, "Status": status, **extra}
    return post(client, "Complete", body)


def test_a_successful_run_completes_and_its_recurring_job_stays(engine: Engine, agents: TestClient) -> None:
    _, job_id, audit_id, token = running_job(engine, schedule={"Interval": {"Minutes": 60}})

    answer = complete(agents, token, job_id, audit_id, 2, Message="Inventory: 3 certificates")

    assert answer == {"Result": {"Status": 1}}
    (run,) = runs(engine, job_id)
    assert (run.status, run.result, run.message, run.operation_end) == (3, 2, "Inventory: 3 certificates", NOW)
    job = job_row(engine, job_id)
    assert (job.running_history_id, job.retry_count, job.next_run_at) == (None, 0, NOW + timedelta(minutes=60))
    assert [j.job_id for j in hand_out(engine, job.agent_id, now=NOW + timedelta(minutes=60))] == [job_id]


def test_a_completed_one_shot_job_is_deleted_and_its_history_stays(engine: Engine, agents: TestClient) -> None:
    _, job_id, audit_id, token = running_job(engine, schedule={"Immediate": True})

    complete(agents, token, job_id, audit_id, 3, Message="The certificate is already in the store.")

    assert job_row(engine, job_id) is None
    (run,) = runs(engine, job_id)
    assert (run.status, run.result, run.message) == (3, 3, "The certificate is already in the store.")


def test_a_failed_run_is_retried_after_the_delay_until_the_retries_are_spent(
    engine: Engine, agents: TestClient
) -> None:
    set_app_setting(engine, "JobRetries", 1)
    set_app_setting(engine, "JobRetryDelay", 10)
    agent_id, job_id, audit_id, token = running_job(engine, schedule={"Immediate": True})

    complete(agents, token, job_id, audit_id, 4, Message="Store not found")

    (first,) = runs(engine, job_id)
    assert (first.status, first.result, first.message) == (5, 4, "Store not found")
    job = job_row(engine, job_id)
    assert (job.retry_count, job.running_history_id, job.next_run_at) == (1, None, NOW + timedelta(minutes=10))
    assert hand_out(engine, agent_id, now=NOW + timedelta(minutes=9)) == []
    assert [j.job_id for j in hand_out(engine, agent_id, now=NOW + timedelta(minutes=10))] == [job_id]

    second = runs(engine, job_id)[1]
    complete(agents, token, job_id, second.id, 4, Message="Store still not found")

    first, second = runs(engine, job_id)
    assert (first.status, second.status, second.result, second.message) == (5, 3, 4, "Store still not found")
    assert job_row(engine, job_id) is None  # the last attempt failed: the one-shot job is over
    assert hand_out(engine, agent_id, now=NOW + timedelta(days=1)) == []


def test_a_success_after_a_failure_renews_the_retry_budget(engine: Engine, agents: TestClient) -> None:
    agent_id, job_id, audit_id, token = running_job(engine, schedule={"Interval": {"Minutes": 60}})
    complete(agents, token, job_id, audit_id, 4)
    assert job_row(engine, job_id).retry_count == 1

    hand_out(engine, agent_id, now=NOW + timedelta(minutes=5))
    complete(agents, token, job_id, runs(engine, job_id)[1].id, 2)

    job = job_row(engine, job_id)
    assert (job.retry_count, job.running_history_id) == (0, None)
    assert [(run.status, run.result) for run in runs(engine, job_id)] == [(5, 4), (3, 2)]


@pytest.mark.parametrize(
    ("status", "fragment"),
    [(0, "not a final status"), (1, "not a final status"), (5, "not a valid status"), ("2", "not a valid status")],
)
def test_a_bad_status_is_refused_and_recorded(engine: Engine, agents: TestClient, status: Any, fragment: str) -> None:
    _, job_id, audit_id, token = running_job(engine)
    before = snapshot(engine)

    assert_refused(complete(agents, token, job_id, audit_id, status), "A0100005", fragment)

    assert snapshot(engine) == before
    assert [(event.kind, event.job_id) for event in events(engine)] == [("CompleteRefused", job_id)]


def test_completions_that_are_not_the_callers_run_are_refused_and_recorded(engine: Engine, agents: TestClient) -> None:
    _, job_id, audit_id, token = running_job(engine)
    intruder = open_session(engine, add_agent(engine, name="intruder01"))
    before = snapshot(engine)

    attempts = [
        (intruder, job_id, audit_id, "not a job of this orchestrator"),  # someone else's job
        (token, uuid.uuid4(), audit_id, "not a job of this orchestrator"),  # an unknown job
        (token, job_id, audit_id + 1, "is not the run"),  # another run's AuditId
        (token, job_id, None, "is not the run"),
    ]
    for session, target, audit, fragment in attempts:
        assert_refused(complete(agents, session, target, audit, 2), "A0100004", fragment)

    assert snapshot(engine) == before
    assert [event.kind for event in events(engine)] == ["CompleteRefused"] * 4
    assert all("Jobs/Complete refused (A0100004)" in event.message for event in events(engine))


def test_completing_twice_is_refused_and_changes_nothing(engine: Engine, agents: TestClient) -> None:
    _, job_id, audit_id, token = running_job(engine, schedule={"Interval": {"Minutes": 60}})
    complete(agents, token, job_id, audit_id, 2, Message="first")
    before = snapshot(engine)

    assert_refused(complete(agents, token, job_id, audit_id, 4, Message="second"), "A0100004", "no run in flight")

    assert snapshot(engine) == before
    assert runs(engine, job_id)[0].message == "first"


def test_fetch_logs_keeps_the_log_readable_through_the_api(
    engine: Engine, agents: TestClient, client: TestClient
) -> None:
    _, job_id, audit_id, token = running_job(engine, type_name="FetchLogs", capability=FETCH_LOGS)
    log = "2026-11-29 11:59:58 agent started\n2026-11-29 11:59:59 héllo ✓\n"

    complete(agents, token, job_id, audit_id, 2, Message="", Log=log)

    response = client.get("/KeyfactorAPI/OrchestratorJobs/JobStatus/Data", params={"jobHistoryId": audit_id})
    assert response.status_code == 200
    assert response.json() == {"JobHistoryId": audit_id, "Data": log}


def test_a_completion_with_nul_characters_is_kept_with_them_replaced_and_said_so(
    engine: Engine, agents: TestClient, client: TestClient
) -> None:
    # A log file may hold NUL bytes, and a message may quote one; the database's text holds none. Refusing the
    # completion would lose the run's report (the orchestrator would send the same one again), so it is kept.
    _, job_id, audit_id, token = running_job(engine, type_name="FetchLogs", capability=FETCH_LOGS)

    answer = complete(agents, token, job_id, audit_id, 3, Message="read /var/log/a\x00b", Log="line 1\x00\x00\nline 2")

    assert answer == {"Result": {"Status": 1}}
    (run,) = runs(engine, job_id)
    assert (run.status, run.result) == (3, 3)
    assert run.message == (
        "read /var/log/a\ufffdb NUL characters replaced by U+FFFD: 1 in the Message and 2 in the Log."
    )
    response = client.get("/KeyfactorAPI/OrchestratorJobs/JobStatus/Data", params={"jobHistoryId": audit_id})
    assert response.json() == {"JobHistoryId": audit_id, "Data": "line 1\ufffd\ufffd\nline 2"}


def test_a_nul_in_the_session_token_or_job_id_of_a_completion_is_refused_as_any_bad_one(
    engine: Engine, agents: TestClient
) -> None:
    _, job_id, audit_id, token = running_job(engine)
    before = snapshot(engine)

    assert_refused(complete(agents, token + "\x00", job_id, audit_id, 2), "A0100001", "")
    body = {"SessionToken": token, "JobId": f"{job_id}\x00", "AuditId": audit_id, "Status": 2}
    assert_refused(post(agents, "Complete", body), "A0100004", "\\x00")

    assert snapshot(engine) == before


def test_custom_job_data_is_kept_as_text_or_json(engine: Engine, agents: TestClient) -> None:
    _, job_id, audit_id, token = running_job(engine, type_name="HsmKeyAudit", capability="Custom.RestartWebService")
    complete(agents, token, job_id, audit_id, 2, Data={"WeakKeys": 0})
    with engine.connect() as conn:
        assert json.loads(conn.execute(select(job_result_data.c.data)).scalar_one()) == {"WeakKeys": 0}


def test_an_oversized_log_is_refused_and_changes_nothing(engine: Engine, settings: Settings) -> None:
    _, job_id, audit_id, token = running_job(engine, type_name="FetchLogs", capability=FETCH_LOGS)
    before = snapshot(engine)
    limited = settings.model_copy(update={"max_job_data_bytes": 10})

    with agent_client(limited) as client:
        answer = complete(client, token, job_id, audit_id, 2, Log="ééééé!")  # 11 bytes in UTF-8

    assert_refused(answer, "A0100005", "The Log is 11 bytes; at most 10 bytes")
    assert snapshot(engine) == before
    assert [event.kind for event in events(engine)] == ["CompleteRefused"]


def test_a_message_longer_than_the_limit_is_refused_and_changes_nothing(engine: Engine, agents: TestClient) -> None:
    _, job_id, audit_id, token = running_job(engine)
    before = snapshot(engine)

    answer = complete(agents, token, job_id, audit_id, 4, Message="m" * (MAX_MESSAGE_LENGTH + 1))

    assert_refused(answer, "A0100005", f"at most {MAX_MESSAGE_LENGTH} are accepted")
    assert snapshot(engine) == before
    assert complete(agents, token, job_id, audit_id, 4, Message="m" * MAX_MESSAGE_LENGTH) == {"Result": {"Status": 1}}


# --- timeouts ----------------------------------------------------------------------------------


def test_the_sweeper_fails_an_overdue_run_and_retries_its_job(engine: Engine, agents: TestClient) -> None:
    agent_id, job_id, audit_id, token = running_job(engine, type_name="FetchLogs", capability=FETCH_LOGS)
    waiting_job = add_job(engine, agent_id, next_run_at=NOW + timedelta(minutes=30))
    hand_out(engine, agent_id, now=NOW + timedelta(minutes=30))  # Waiting, handed out half an hour later

    assert fail_overdue_runs(engine, now=NOW + timedelta(minutes=60)) == 0  # not overdue yet
    assert fail_overdue_runs(engine, now=NOW + timedelta(minutes=60, microseconds=1)) == 1

    (run,) = runs(engine, job_id)
    assert (run.status, run.result, run.operation_end) == (5, 4, NOW + timedelta(minutes=60, microseconds=1))
    assert run.message == "The orchestrator did not report back within 60 minutes."
    job = job_row(engine, job_id)
    assert (job.running_history_id, job.retry_count) == (None, 1)
    assert job.next_run_at == NOW + timedelta(minutes=65, microseconds=1)
    assert runs(engine, waiting_job)[0].status == 1

    # Nothing is lost: the job runs again, and the late report of the old run is refused.
    later = NOW + timedelta(minutes=66)
    assert {j.job_id for j in hand_out(engine, agent_id, now=later)} == {job_id}
    assert_refused(complete(agents, token, job_id, audit_id, 2), "A0100004", "is not the run")
    assert fail_overdue_runs(engine, now=later) == 0


def test_the_sweeper_fails_for_good_when_the_retries_are_spent(engine: Engine) -> None:
    set_app_setting(engine, "JobRetries", 0)
    set_app_setting(engine, "JobInProcessTimeout", 5)
    _, job_id, _, _ = running_job(engine, schedule={"Interval": {"Minutes": 60}})

    assert fail_overdue_runs(engine, now=NOW + timedelta(minutes=6)) == 1

    (run,) = runs(engine, job_id)
    assert (run.status, run.result, run.message) == (3, 4, "The orchestrator did not report back within 5 minutes.")
    job = job_row(engine, job_id)
    assert (job.running_history_id, job.retry_count, job.next_run_at) == (None, 0, NOW + timedelta(minutes=60))


def test_the_sweeper_leaves_runs_alone_when_the_timeout_is_zero(engine: Engine) -> None:
    set_app_setting(engine, "JobInProcessTimeout", 0)
    _, job_id, _, _ = running_job(engine)
    assert fail_overdue_runs(engine, now=NOW + timedelta(days=30)) == 0
    assert runs(engine, job_id)[0].status == 2


def test_the_sweeper_loop_survives_database_errors(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    _, job_id, _, _ = running_job(engine)
    broken = make_engine("sqlite:////nonexistent/directory/orchjobs.db")
    caplog.set_level(logging.WARNING, logger="orchjobs.service.sweeper")

    assert Sweeper(engine=broken, interval=60, clock=lambda: NOW).sweep_once() == 0
    assert "sweeper" in caplog.text
    broken.dispose()

    context = SimpleNamespace(
        engine=engine,
        settings=Settings(database_url="sqlite://", sweep_seconds=0.01),
        clock=lambda: NOW + timedelta(days=1),
    )
    sweeper = start_sweeper(context)
    try:
        deadline = time.monotonic() + 10
        while runs(engine, job_id)[0].status == 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        sweeper.stop()
    assert runs(engine, job_id)[0].status == 5


def test_heartbeat_hands_out_jobs_with_their_endpoints(engine: Engine, agents: TestClient) -> None:
    agent_id = add_agent(engine)
    job_id = add_job(engine, agent_id, type_name="FetchLogs", capability=FETCH_LOGS)
    token = open_session(engine, agent_id)

    answer = agents.post("/KeyfactorAgents/Session/Heartbeat", json={"SessionToken": token}).json()

    (item,) = answer["Jobs"]
    assert item["JobId"] == str(job_id)
    assert item["JobTypeId"].lower() == "0d8cf0c8-56ca-4b8a-b16a-c062018e170d"
    config = post(
        agents, item["ConfigurationEndpoint"].removeprefix("Jobs/"), {"SessionToken": token, "JobId": item["JobId"]}
    )
    assert config["MaxCharactersToReturn"] == 4000
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(job_history)).scalar_one() == 1
