"""/KeyfactorAgents/Session: registration, approval, identity, enrolment, heartbeat, client certificates."""

import base64
import ipaddress
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import Engine, func, insert, select, update
from starlette.testclient import TestClient

from orchjobs.errors import IdentityTakenError
from orchjobs.service.orchestrator_ca import agent_id_of, load_or_create_ca
from orchjobs.service.sessions import Identity, Registration, register
from orchjobs.service.users import create_user
from orchjobs.settings import Settings
from orchjobs.store.tables import agent, agent_capability, agent_event, agent_session, job_type, scheduled_job
from tests.conftest import ADMIN, SteppingClock, api_client
from tests.live import free_port, read_log, server_environment, stop

REGISTER = "/KeyfactorAgents/Session/Register"
HEARTBEAT = "/KeyfactorAgents/Session/Heartbeat"
NAME = "web-prd-01.corp.example.com"
INVENTORY_GUID = "a809ce1f-1eea-4738-a38e-15708c89c981"
FETCH_LOGS_GUID = "0D8CF0C8-56CA-4B8A-B16A-C062018E170D"
V2_19 = 563031557799936  # the C agent's packed AgentVersion of 2.19.0.0


def registration(**overrides: Any) -> dict[str, Any]:
    """A Register body as the C agent sends it (agent-protocol.md §4.1)."""
    body: dict[str, Any] = {
        "AgentPlatform": 5,
        "AgentVersion": V2_19,
        "TenantId": "00000000-0000-0000-0000-000000000000",
        "ClientMachine": NAME,
        "CSR": None,
        "AgentId": "",
        "Capabilities": ["CertStores.PEM.Inventory", "CertStores.PEM.Management", "Custom.FetchLogs"],
        "ClientParameters": {},
    }
    body.update(overrides)
    return body


def make_csr(common_name: str) -> tuple[str, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .sign(key, hashes.SHA256())
    )
    return base64.b64encode(csr.public_bytes(serialization.Encoding.DER)).decode(), key


@contextmanager
def agent_client(
    settings: Settings, auth: tuple[str, str] | None = ADMIN, clock: SteppingClock | None = None
) -> Iterator[TestClient]:
    """An orchestrator's client: no Command headers, Basic credentials (or none)."""
    with api_client(settings, auth=auth, headers=None, clock=clock) as client:
        yield client


def agent_row(engine: Engine, agent_id: str | uuid.UUID) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(agent).where(agent.c.id == uuid.UUID(str(agent_id)))).one()


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def set_status(engine: Engine, agent_id: str, status: int) -> None:
    with engine.begin() as conn:
        conn.execute(update(agent).where(agent.c.id == uuid.UUID(agent_id)).values(status=status))


def assert_refused(response: httpx.Response, code_string: str, *, http_status: int = 200) -> str:
    assert response.status_code == http_status, response.text
    result = response.json()["Result"]
    assert result["Status"] == 3
    assert result["Error"]["CodeString"] == code_string
    assert "Session" not in response.json()
    message: str = result["Error"]["Message"]
    return message


def test_a_new_orchestrator_is_new_gets_a_session_and_no_jobs(settings: Settings, engine: Engine) -> None:
    capabilities = [INVENTORY_GUID, "CertStores.PEM.Management", FETCH_LOGS_GUID]
    with agent_client(settings) as client:
        response = client.post(REGISTER, json=registration(Capabilities=capabilities))
    assert response.status_code == 200
    body = response.json()
    assert body["Result"] == {"Status": 1}
    session = body["Session"]
    assert len(session["Token"]) == 36 and uuid.UUID(session["Token"])
    assert session["Jobs"] == []
    assert session["HeartbeatInterval"] == 5
    assert "Certificate" not in session
    row = agent_row(engine, session["AgentId"])
    assert (row.status, row.client_machine, row.username, row.platform, row.version) == (
        1,
        NAME,
        "admin",
        5,
        "2.19.0.0",
    )
    with engine.connect() as conn:
        stored = set(conn.execute(select(agent_capability.c.capability)).scalars())
        expires_at = conn.execute(select(agent_session.c.expires_at)).scalar_one()
    # GUIDs of the C agent's capabilities map back to their names; FetchLogs adds Command's LOGS.
    assert stored == {"CertStores.PEM.Inventory", "CertStores.PEM.Management", "Custom.FetchLogs", "LOGS"}
    assert abs(expires_at - (datetime.now(UTC) + timedelta(hours=24))) < timedelta(minutes=1)


def test_keys_are_case_insensitive_and_versions_may_be_strings(settings: Settings, engine: Engine) -> None:
    body = {"clientMachine": NAME, "agentId": "", "capabilities": [], "agentPlatform": 7, "agentVersion": "10.4.1"}
    with agent_client(settings) as client:
        response = client.post(REGISTER, json=body)
    assert response.json()["Result"] == {"Status": 1}
    row = agent_row(engine, response.json()["Session"]["AgentId"])
    assert (row.platform, row.version) == (7, "10.4.1")


def test_an_approved_orchestrator_is_seen_and_its_capabilities_kept(settings: Settings, engine: Engine) -> None:
    with agent_client(settings) as client:
        agent_id = client.post(REGISTER, json=registration()).json()["Session"]["AgentId"]
        set_status(engine, agent_id, 2)
        with engine.begin() as conn:
            conn.execute(update(agent).values(last_seen=datetime(2026, 1, 1, tzinfo=UTC)))
        again = client.post(REGISTER, json=registration(AgentId=agent_id, Capabilities=[INVENTORY_GUID]))
    assert again.json()["Result"] == {"Status": 1}
    assert again.json()["Session"]["AgentId"] == agent_id
    assert again.json()["Session"]["Jobs"] == []
    row = agent_row(engine, agent_id)
    assert abs(row.last_seen - datetime.now(UTC)) < timedelta(minutes=1)
    assert row.last_error_code is None
    with engine.connect() as conn:
        assert list(conn.execute(select(agent_capability.c.capability)).scalars()) == ["CertStores.PEM.Inventory"]


def test_auto_approve_approves_at_the_first_registration(settings: Settings, engine: Engine) -> None:
    with agent_client(settings.model_copy(update={"auto_approve": True})) as client:
        response = client.post(REGISTER, json=registration())
    assert response.json()["Result"] == {"Status": 1}
    assert agent_row(engine, response.json()["Session"]["AgentId"]).status == 2


def add_due_job(engine: Engine, agent_id: str, *, schedule: str | None = '{"Interval": {"Minutes": 60}}') -> str:
    job_id = uuid.uuid4()
    past = datetime.now(UTC) - timedelta(minutes=1)
    with engine.begin() as conn:
        inventory = conn.execute(select(job_type.c.id).where(job_type.c.name == "Inventory")).scalar_one()
        conn.execute(
            insert(scheduled_job).values(
                id=job_id,
                agent_id=uuid.UUID(agent_id),
                job_type_id=inventory,
                capability="CertStores.PEM.Inventory",
                schedule=schedule,
                requested_at=past,
                next_run_at=past,
            )
        )
    return str(job_id)


def test_due_jobs_are_handed_out_to_approved_orchestrators_only(settings: Settings, engine: Engine) -> None:
    with agent_client(settings) as client:
        session = client.post(REGISTER, json=registration()).json()["Session"]
        job_id = add_due_job(engine, session["AgentId"])
        body = registration(AgentId=session["AgentId"])
        assert client.post(REGISTER, json=body).json()["Session"]["Jobs"] == []  # New
        set_status(engine, session["AgentId"], 2)
        jobs = client.post(REGISTER, json=body).json()["Session"]["Jobs"]
        assert jobs == [
            {
                "JobTypeId": INVENTORY_GUID,
                "JobId": job_id,
                "ConfigurationEndpoint": "Jobs/Configuration",
                "CompletionEndpoint": "Jobs/Complete",
                "Schedule": "I_60",
                "Priority": 5,
            }
        ]
        # In flight now: not handed out again until it completes.
        latest = client.post(REGISTER, json=body).json()["Session"]
        assert latest["Jobs"] == []
        immediate = add_due_job(engine, session["AgentId"], schedule=None)
        heartbeat = client.post(HEARTBEAT, json={"SessionToken": latest["Token"]}).json()
    assert heartbeat["SessionValid"] is True
    assert [(job["JobId"], job["Schedule"]) for job in heartbeat["Jobs"]] == [(immediate, None)]


def test_job_calls_accept_a_live_token_of_an_approved_orchestrator_only(settings: Settings, engine: Engine) -> None:
    with agent_client(settings) as client:
        session = client.post(REGISTER, json=registration()).json()["Session"]

        def configuration_code(token: str) -> str:
            body = {"SessionToken": token, "JobId": str(uuid.uuid4())}
            return str(
                client.post("/KeyfactorAgents/Jobs/Configuration", json=body).json()["Result"]["Error"]["CodeString"]
            )

        assert configuration_code(session["Token"]) == "A0100001"  # still New
        set_status(engine, session["AgentId"], 2)
        # Approved: the session is accepted; the made-up JobId is what is refused now.
        assert configuration_code(session["Token"]) == "A0100004"
        assert configuration_code(str(uuid.uuid4())) == "A0100001"
        with engine.begin() as conn:
            conn.execute(update(agent_session).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        assert configuration_code(session["Token"]) == "A0100001"
    with engine.connect() as conn:
        stored = set(conn.execute(select(agent_capability.c.capability)).scalars())
    assert stored == {"CertStores.PEM.Inventory", "CertStores.PEM.Management", "Custom.FetchLogs", "LOGS"}


def test_csr_enrolment_returns_a_certificate_of_our_ca(settings: Settings, engine: Engine) -> None:
    csr, key = make_csr(NAME.upper())
    with agent_client(settings.model_copy(update={"auto_approve": True})) as client:
        response = client.post(REGISTER, json=registration(CSR=csr))
    assert response.json()["Result"] == {"Status": 1}
    session = response.json()["Session"]
    assert session["Jobs"] == []  # the agent discards jobs in this answer
    certificate = x509.load_der_x509_certificate(base64.b64decode(session["Certificate"]))
    ca = load_or_create_ca(engine, settings=settings, now=datetime.now(UTC))
    certificate.verify_directly_issued_by(ca.certificate)
    assert certificate.public_key() == key.public_key()
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value.lower() == NAME
    assert agent_id_of(certificate) == uuid.UUID(session["AgentId"])
    usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert timedelta(days=364) < certificate.not_valid_after_utc - datetime.now(UTC) < timedelta(days=366)
    thumbprint = certificate.fingerprint(hashes.SHA1()).hex().upper()
    assert agent_row(engine, session["AgentId"]).thumbprint == thumbprint


@pytest.mark.parametrize(
    ("csr", "expected"),
    [
        (make_csr("someone-else.corp.example.com")[0], "asks for another identity"),
        ("bm90IGEgQ1NS", "not a base64 DER"),
        ("%%% not base64 %%%", "not a base64 DER"),
    ],
)
def test_a_bad_csr_is_refused_and_nothing_is_created(
    settings: Settings, engine: Engine, csr: str, expected: str
) -> None:
    with agent_client(settings) as client:
        message = assert_refused(client.post(REGISTER, json=registration(CSR=csr)), "A0110001")
    assert expected in message
    assert count(engine, agent) == 0
    assert count(engine, agent_session) == 0


def test_a_disapproved_orchestrator_is_refused(settings: Settings, engine: Engine) -> None:
    with agent_client(settings) as client:
        session = client.post(REGISTER, json=registration()).json()["Session"]
        set_status(engine, session["AgentId"], 3)
        message = assert_refused(client.post(REGISTER, json=registration(AgentId=session["AgentId"])), "A0100002")
        assert "disapproved" in message
        # Without its AgentId it is still found by name and identity, and still refused.
        assert_refused(client.post(REGISTER, json=registration()), "A0100002")
        heartbeat = client.post(HEARTBEAT, json={"SessionToken": session["Token"]})
    assert_refused(heartbeat, "A0100002")
    assert heartbeat.json()["SessionValid"] is False
    row = agent_row(engine, session["AgentId"])
    assert (row.last_error_code, row.last_error_message) == (0xA0100002, message)
    assert count(engine, agent_session) == 1


def test_heartbeat_tells_whether_the_session_is_valid(settings: Settings, engine: Engine) -> None:
    with agent_client(settings, auth=None) as anonymous:
        with agent_client(settings) as client:
            token = client.post(REGISTER, json=registration()).json()["Session"]["Token"]
        valid = anonymous.post(HEARTBEAT, json={"AgentPlatform": 5, "ClientMachine": NAME, "SessionToken": token})
        assert valid.status_code == 200
        assert valid.json() == {"HeartbeatInterval": 5, "SessionValid": True, "Jobs": [], "Result": {"Status": 1}}
        for forged in ({"SessionToken": str(uuid.uuid4())}, {"SessionToken": 42}, {}):
            invalid = anonymous.post(HEARTBEAT, json=forged)
            assert invalid.json()["Result"] == {"Status": 1}
            assert invalid.json()["SessionValid"] is False
        with engine.begin() as conn:
            conn.execute(update(agent_session).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        assert anonymous.post(HEARTBEAT, json={"sessiontoken": token}).json()["SessionValid"] is False


def test_a_short_session_expires(settings: Settings) -> None:
    clock = SteppingClock()
    with agent_client(settings.model_copy(update={"session_hours": 0.0001}), clock=clock) as client:
        token = client.post(REGISTER, json=registration()).json()["Session"]["Token"]
        clock.advance(seconds=0.5)
        assert client.post(HEARTBEAT, json={"SessionToken": token}).json()["SessionValid"] is False


def test_another_identity_cannot_take_a_client_machine(settings: Settings, engine: Engine) -> None:
    create_user(
        engine, username="intruder", password="intruder-password", roles=["Orchestrator"], now=datetime.now(UTC)
    )
    with agent_client(settings) as owner:
        agent_id = owner.post(REGISTER, json=registration()).json()["Session"]["AgentId"]
    with agent_client(settings, auth=("intruder", "intruder-password")) as intruder:
        by_name = intruder.post(REGISTER, json=registration(ClientMachine=NAME.upper()))
        by_id = intruder.post(REGISTER, json=registration(AgentId=agent_id, ClientMachine="elsewhere"))
        own = intruder.post(REGISTER, json=registration(ClientMachine="intruder-box"))
    assert "another identity" in assert_refused(by_name, "A0100003")
    assert_refused(by_id, "A0100003")
    assert own.json()["Result"] == {"Status": 1}
    with engine.connect() as conn:
        events = conn.execute(select(agent_event)).all()
    assert [(event.kind, str(event.agent_id)) for event in events] == [("RegistrationRefused", agent_id)] * 2
    assert "intruder" in events[0].message
    assert count(engine, agent) == 2


def test_simultaneous_first_registrations_of_one_name_make_one_orchestrator(settings: Settings, engine: Engine) -> None:
    identities = [Identity(username="alice"), Identity(username="bob"), Identity(username="alice")] * 2
    barrier = threading.Barrier(len(identities))
    results: list[Any] = [None] * len(identities)

    def register_as(index: int) -> None:
        barrier.wait()
        try:
            results[index] = register(
                engine,
                Registration(client_machine=NAME),
                identity=identities[index],
                settings=settings,
                now=datetime.now(UTC),
            )
        except IdentityTakenError as refusal:
            results[index] = refusal

    threads = [threading.Thread(target=register_as, args=(index,)) for index in range(len(identities))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert count(engine, agent) == 1
    refused = [result for result in results if isinstance(result, IdentityTakenError)]
    winners = {str(identities[index]) for index, result in enumerate(results) if result not in refused}
    assert len(winners) == 1
    assert {result.agent_id for result in results if result not in refused} == {agent_row_id(engine)}
    assert all(result.code == "0xA0100003" for result in refused)


def agent_row_id(engine: Engine) -> uuid.UUID:
    with engine.connect() as conn:
        return uuid.UUID(str(conn.execute(select(agent.c.id)).scalar_one()))


def test_the_same_user_registering_by_name_reuses_its_orchestrator(settings: Settings, engine: Engine) -> None:
    with agent_client(settings) as client:
        first = client.post(REGISTER, json=registration()).json()["Session"]
        second = client.post(REGISTER, json=registration(AgentId="")).json()["Session"]
        unknown = client.post(REGISTER, json=registration(AgentId=str(uuid.uuid4()))).json()["Session"]
    # A domain-qualified form of the same user is the same identity.
    with agent_client(settings, auth=("CORP\\admin", ADMIN[1])) as client:
        qualified = client.post(REGISTER, json=registration()).json()["Session"]
    assert first["AgentId"] == second["AgentId"] == unknown["AgentId"] == qualified["AgentId"]
    assert len({first["Token"], second["Token"], unknown["Token"], qualified["Token"]}) == 4
    assert count(engine, agent) == 1


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"text"', b""])
def test_a_body_that_is_not_a_json_object_is_400(settings: Settings, raw: bytes) -> None:
    with agent_client(settings) as client:
        for path in (REGISTER, HEARTBEAT):
            response = client.post(path, content=raw, headers={"Content-Type": "application/json"})
            assert response.status_code == 400
            assert response.json()["Result"]["Status"] == 3
            assert response.json()["Result"]["Error"]["Message"]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("AgentPlatform", 9, "AgentPlatform 9 is unknown"),
        ("AgentPlatform", "5", "AgentPlatform must be an integer"),
        ("AgentVersion", -1, "AgentVersion"),
        ("AgentVersion", 1.5, "AgentVersion"),
        ("Capabilities", "CertStores.PEM.Inventory", "Capabilities must be a list"),
        ("ClientMachine", "", "ClientMachine must be a non-empty string"),
        ("ClientMachine", None, "ClientMachine must be a non-empty string"),
        ("AgentId", "not-a-guid", "AgentId must be a GUID"),
        ("CSR", 12, "CSR must be a string"),
    ],
)
def test_malformed_fields_are_refused_clearly(
    settings: Settings, engine: Engine, field: str, value: Any, expected: str
) -> None:
    with agent_client(settings) as client:
        response = client.post(REGISTER, json=registration(**{field: value}))
    assert expected in assert_refused(response, "A0110001")
    assert count(engine, agent) == 0


def test_bad_or_missing_credentials_are_401(settings: Settings, engine: Engine) -> None:
    with agent_client(settings, auth=None) as anonymous:
        for auth in (None, ("admin", "wrong-password"), ("nobody", "whatever-password")):
            response = anonymous.post(REGISTER, json=registration(), auth=auth)
            assert_refused(response, "A0110011", http_status=401)
            assert response.headers["www-authenticate"].startswith("Basic")
    assert count(engine, agent) == 0


def enrol(client: TestClient, name: str = NAME) -> tuple[dict[str, Any], str]:
    """Enrol over Basic: the session and the certificate's PEM without newlines, as the agent's -a header."""
    csr, _key = make_csr(name)
    session = client.post(REGISTER, json=registration(CSR=csr, ClientMachine=name)).json()["Session"]
    der = base64.b64decode(session["Certificate"])
    pem = x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM).decode()
    return session, pem.replace("\n", "")


def test_x_arr_client_cert_counts_only_from_a_trusted_proxy(settings: Settings, engine: Engine) -> None:
    with agent_client(settings) as client:
        session, header = enrol(client)
    cert_only = registration(AgentId=session["AgentId"])
    with agent_client(settings, auth=None) as untrusted:
        refused = untrusted.post(REGISTER, json=cert_only, headers={"X-ARR-ClientCert": header})
    assert_refused(refused, "A0110011", http_status=401)
    trusted_settings = settings.model_copy(update={"trusted_proxies": "10.0.0.0/8, testclient"})
    with agent_client(trusted_settings, auth=None) as proxied:
        accepted = proxied.post(REGISTER, json=cert_only, headers={"X-ARR-ClientCert": header})
        base64_der = header.replace("-----BEGIN CERTIFICATE-----", "").replace("-----END CERTIFICATE-----", "")
        as_der = proxied.post(REGISTER, json=registration(), headers={"x-arr-clientcert": base64_der})
        foreign = _self_signed_pem(NAME).replace("\n", "")
        not_ours = proxied.post(REGISTER, json=cert_only, headers={"X-ARR-ClientCert": foreign})
        garbage = proxied.post(REGISTER, json=cert_only, headers={"X-ARR-ClientCert": "-----BEGIN nonsense"})
    assert accepted.json()["Result"] == {"Status": 1}
    assert accepted.json()["Session"]["AgentId"] == session["AgentId"]
    # Without an AgentId, the certificate's orchestrator is found by name and thumbprint.
    assert as_der.json()["Session"]["AgentId"] == session["AgentId"]
    assert_refused(not_ours, "A0110011", http_status=401)
    assert_refused(garbage, "A0110011", http_status=401)


def test_a_certificate_cannot_register_another_orchestrator(settings: Settings, engine: Engine) -> None:
    trusted = settings.model_copy(update={"trusted_proxies": "testclient"})
    with agent_client(trusted) as client:
        _mine, header = enrol(client, "box-a")
        theirs, _ = enrol(client, "box-b")
        response = client.post(
            REGISTER,
            json=registration(AgentId=theirs["AgentId"], ClientMachine="box-b"),
            headers={"X-ARR-ClientCert": header},
        )
    assert_refused(response, "A0100003")


def test_an_administrator_can_require_a_new_certificate(settings: Settings, engine: Engine) -> None:
    trusted = settings.model_copy(update={"trusted_proxies": "testclient"})
    with agent_client(trusted, auth=None) as client:
        with agent_client(settings) as basic:
            session, header = enrol(basic)
        old = agent_row(engine, session["AgentId"]).thumbprint
        with engine.begin() as conn:
            conn.execute(update(agent).values(auth_certificate_reenrollment=2))
        body = registration(AgentId=session["AgentId"])
        assert_refused(client.post(REGISTER, json=body, headers={"X-ARR-ClientCert": header}), "A0100008")
        renewed = client.post(
            REGISTER, json={**body, "CSR": make_csr(NAME)[0]}, headers={"X-ARR-ClientCert": header}
        ).json()["Session"]
    assert renewed["Certificate"]
    row = agent_row(engine, session["AgentId"])
    assert (row.legacy_thumbprint, row.auth_certificate_reenrollment) == (old, 0)
    assert row.thumbprint != old


def test_a_reset_orchestrator_is_claimed_again_by_its_certificate(settings: Settings, engine: Engine) -> None:
    trusted = settings.model_copy(update={"trusted_proxies": "testclient"})
    with agent_client(settings) as basic:
        session, header = enrol(basic)
    thumbprint = agent_row(engine, session["AgentId"]).thumbprint
    with engine.begin() as conn:  # what Reset does: New, certificates forgotten
        conn.execute(update(agent).values(status=1, thumbprint=None, legacy_thumbprint=None))
    with agent_client(trusted, auth=None) as client:
        response = client.post(
            REGISTER, json=registration(AgentId=session["AgentId"]), headers={"X-ARR-ClientCert": header}
        )
    assert response.json()["Result"] == {"Status": 1}
    assert agent_row(engine, session["AgentId"]).thumbprint == thumbprint


def _self_signed_pem(name: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


# A real TLS server: `orchjobs serve --ssl-* --client-cert optional`, and an orchestrator with our certificate.


def _server_certificate(directory: Path) -> Path:
    """A test CA and a server certificate for 127.0.0.1 it signed; returns the CA's PEM file."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test server CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (directory / "server.pem").write_bytes(server.public_bytes(serialization.Encoding.PEM))
    (directory / "server.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    (directory / "server-ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return directory / "server-ca.pem"


def test_register_over_tls_with_a_client_certificate(database_url: str, tmp_path: Path) -> None:
    server_ca = _server_certificate(tmp_path)
    env = server_environment(database_url, tmp_path)
    exported = subprocess.run(
        [sys.executable, "-m", "orchjobs", "ca", "export", str(tmp_path / "orchestrator-ca.pem")],
        env=env,
        capture_output=True,
        check=False,
    )
    assert exported.returncode == 0, exported.stderr.decode()
    port = free_port()
    command = [
        sys.executable, "-m", "orchjobs", "serve", "--host", "127.0.0.1", "--port", str(port),
        "--ssl-certfile", str(tmp_path / "server.pem"), "--ssl-keyfile", str(tmp_path / "server.key"),
        "--ssl-ca-certs", str(tmp_path / "orchestrator-ca.pem"), "--client-cert", "optional",
    ]  # fmt: skip
    base_url = f"https://127.0.0.1:{port}"
    trust = ssl.create_default_context(cafile=str(server_ca))
    with (tmp_path / "server.log").open("w+b") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_for_tls(process, base_url, trust, log)
            with httpx.Client(base_url=base_url, verify=trust, auth=ADMIN) as basic:
                csr, key = make_csr(NAME)
                enrolled = basic.post(REGISTER, json=registration(CSR=csr)).json()["Session"]
            with httpx.Client(base_url=base_url, verify=trust) as nobody:
                anonymous = nobody.post(REGISTER, json=registration())
            assert_refused(anonymous, "A0110011", http_status=401)

            (tmp_path / "agent.pem").write_bytes(
                x509.load_der_x509_certificate(base64.b64decode(enrolled["Certificate"])).public_bytes(
                    serialization.Encoding.PEM
                )
            )
            (tmp_path / "agent.key").write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            )
            mutual = ssl.create_default_context(cafile=str(server_ca))
            mutual.load_cert_chain(str(tmp_path / "agent.pem"), str(tmp_path / "agent.key"))
            with httpx.Client(base_url=base_url, verify=mutual) as by_certificate:
                response = by_certificate.post(REGISTER, json=registration(AgentId=enrolled["AgentId"]))
            assert response.status_code == 200, response.text
            assert response.json()["Result"] == {"Status": 1}
            assert response.json()["Session"]["AgentId"] == enrolled["AgentId"]
            assert response.headers["strict-transport-security"] == "max-age=31536000"  # served over HTTPS
        finally:
            stop(process)


def _wait_for_tls(process: subprocess.Popen[bytes], base_url: str, trust: ssl.SSLContext, log: Any) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"orchjobs serve exited with status {process.returncode}:\n{read_log(log)}")
        try:
            httpx.post(base_url + HEARTBEAT, json={}, verify=trust, timeout=0.5)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"orchjobs serve did not answer over TLS within 20 s:\n{read_log(log)}")
