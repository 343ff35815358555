"""Discovery on the orchestrator protocol (docs/orchestrator-protocol.md "Discovery"), through HTTP, on both
databases: the configuration of a discovery run, and `Jobs/Discovery`, whose paths become unapproved stores.

Agents, sessions and Discovery jobs are arranged straight in the database; runs are handed out as Register does.
"""

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select
from starlette.testclient import TestClient

from orchjobs.domain.discovery import MAX_LOCATIONS
from orchjobs.domain.store_types import (
    JKS,
    PEM,
    PropertyDefinition,
    PropertyType,
    default_job_type_ids,
    definitions_to_json,
)
from orchjobs.service.dispatch import hand_out_due_jobs
from orchjobs.settings import Settings
from orchjobs.store.tables import (
    agent,
    agent_capability,
    agent_event,
    certificate_store,
    certificate_store_type,
    job_history,
    scheduled_job,
)
from tests import factories
from tests.conftest import api_client

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
PEM_DISCOVERY = "CertStores.PEM.Discovery"
CAPABILITIES = (PEM_DISCOVERY, "CertStores.JKS.Discovery", "CertStores.PEM.Inventory", "Custom.FetchLogs")
FIELDS = {
    "StoreType": PEM.id,
    "ClientMachine": "",
    "Dirs": "/etc/ssl, /opt/app",
    "IgnoredDirs": "/etc/ssl/private",
    "Extensions": "pem,crt",
    "NamePatterns": "",
    "SymLinks": True,
    "Compatibility": False,
    "ServerUsername": "ignored",
}
CUSTOM_TYPE_ID = 100


# --- arranging ---------------------------------------------------------------------------------


def add_agent(engine: Engine, name: str = "web01.example.com") -> uuid.UUID:
    agent_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(
            insert(agent).values(id=agent_id, client_machine=name, username="orchestrator", status=2, last_seen=NOW)
        )
        conn.execute(insert(agent_capability), [{"agent_id": agent_id, "capability": c} for c in CAPABILITIES])
    return agent_id


def open_session(engine: Engine, agent_id: uuid.UUID) -> str:
    return factories.add_session(engine, agent_id, created_at=NOW, expires_at=NOW + timedelta(hours=1))


def add_discovery(engine: Engine, agent_id: uuid.UUID, **fields: Any) -> uuid.UUID:
    return factories.add_job(
        engine,
        agent_id,
        next_run_at=NOW,
        requested_at=NOW - timedelta(hours=1),
        type_name="Discovery",
        capability=PEM_DISCOVERY,
        store_id=None,
        target_path=None,
        fields={**FIELDS, **fields},
    )


def discovery_run(engine: Engine, **fields: Any) -> tuple[uuid.UUID, uuid.UUID, str]:
    """(agent, job, session token) of a Discovery run in flight."""
    agent_id = add_agent(engine)
    job_id = add_discovery(engine, agent_id, **fields)
    hand_out_due_jobs(engine, agent_id=agent_id, capabilities=CAPABILITIES, now=NOW)
    return agent_id, job_id, open_session(engine, agent_id)


def add_custom_store_type(engine: Engine) -> None:
    """A custom type with a defaulted, a required and an optional property."""
    definitions = (
        PropertyDefinition("Region", "Region", PropertyType.STRING, default_value="eu-west-1"),
        PropertyDefinition("ApiKey", "API key", PropertyType.SECRET, required=True),
        PropertyDefinition("Verify", "Verify", PropertyType.BOOL),
    )
    guids = default_job_type_ids("Vault")
    with engine.begin() as conn:
        conn.execute(
            insert(certificate_store_type).values(
                id=CUSTOM_TYPE_ID,
                name="Vault",
                short_name="Vault",
                capability="Vault",
                properties=definitions_to_json(definitions),
                inventory_job_type=guids.inventory,
                management_job_type=guids.management,
                discovery_job_type=guids.discovery,
                enrollment_job_type=guids.enrollment,
            )
        )


def stores(engine: Engine) -> list[Any]:
    columns = (
        certificate_store.c.agent_id,
        certificate_store.c.store_type_id,
        certificate_store.c.client_machine,
        certificate_store.c.store_path,
        certificate_store.c.approved,
        certificate_store.c.create_if_missing,
        certificate_store.c.properties,
    )
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(select(*columns).order_by(certificate_store.c.store_path))]


def events(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(agent_event).order_by(agent_event.c.id)))


def snapshot(engine: Engine) -> tuple[Any, ...]:
    """Everything a refused call must leave as it was."""
    with engine.connect() as conn:
        return tuple(
            sorted(tuple(str(value) for value in row) for row in conn.execute(select(table)))
            for table in (certificate_store, scheduled_job, job_history)
        )


@pytest.fixture
def agents(settings: Settings) -> Iterator[TestClient]:
    """A client as an orchestrator sees the server: no Basic credentials, no Command header, clock at NOW."""
    with api_client(settings, auth=None, headers=None, clock=lambda: NOW) as test_client:
        yield test_client


def post(client: TestClient, call: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/KeyfactorAgents/Jobs/{call}", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def upload(client: TestClient, token: str, job_id: uuid.UUID, locations: Any) -> dict[str, Any]:
    return post(client, "Discovery", {"SessionToken": token, "JobId": str(job_id), "Locations": locations})


def assert_refused(answer: dict[str, Any], code: str, fragment: str) -> None:
    assert answer["Result"]["Status"] == 3, answer
    assert answer["Result"]["Error"]["CodeString"] == code
    assert fragment in answer["Result"]["Error"]["Message"], answer


# --- configuration -----------------------------------------------------------------------------


def test_the_configuration_of_a_discovery_run(engine: Engine, agents: TestClient) -> None:
    _, job_id, token = discovery_run(engine)

    answer = post(agents, "Configuration", {"SessionToken": token, "JobId": str(job_id)})

    (run,) = factories_runs(engine, job_id)
    assert answer == {
        "AuditId": run.id,
        "JobCancelled": False,
        "DiscoveryEndpoint": "Jobs/Discovery",
        "Job": {
            "ClientMachine": "web01.example.com",
            "Dirs": "/etc/ssl,/opt/app",
            "IgnoredDirs": "/etc/ssl/private",
            "Extensions": "pem,crt",
            "NamePatterns": "",
            "SymLinks": True,
            "Compatibility": False,
        },
        "Result": {"Status": 1},
    }
    assert run.status == 2  # InProcess


def test_the_configuration_reads_lenient_field_values(engine: Engine, agents: TestClient) -> None:
    _, job_id, token = discovery_run(
        engine, ClientMachine="files.example.com", Dirs=["/a", " /b "], SymLinks="TRUE", Compatibility=None
    )

    job = post(agents, "Configuration", {"SessionToken": token, "JobId": str(job_id)})["Job"]

    assert (job["ClientMachine"], job["Dirs"], job["SymLinks"], job["Compatibility"]) == (
        "files.example.com",
        "/a,/b",
        True,
        False,
    )


def factories_runs(engine: Engine, job_id: uuid.UUID) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(job_history).where(job_history.c.job_id == job_id)))


# --- the upload --------------------------------------------------------------------------------


def test_an_upload_creates_unapproved_stores_with_the_types_default_properties(
    engine: Engine, agents: TestClient
) -> None:
    agent_id, job_id, token = discovery_run(engine)

    answer = upload(agents, token, job_id, ["/etc/ssl/b.pem", "/etc/ssl/a.pem", "/etc/ssl/b.pem"])

    assert answer == {"Result": {"Status": 1}}
    defaults = json.dumps({"separatePrivateKey": "false", "privateKeyPath": ""})
    assert stores(engine) == [
        (agent_id, PEM.id, "web01.example.com", "/etc/ssl/a.pem", False, False, defaults),
        (agent_id, PEM.id, "web01.example.com", "/etc/ssl/b.pem", False, False, defaults),
    ]
    assert events(engine) == []


def test_known_paths_are_skipped_and_other_types_and_orchestrators_do_not_count(
    engine: Engine, agents: TestClient
) -> None:
    agent_id, job_id, token = discovery_run(engine, ClientMachine="files.example.com")
    other = add_agent(engine, "web02.example.com")
    known = factories.add_store(engine, agent_id, path="/etc/ssl/known.pem", properties='{"separatePrivateKey": true}')
    factories.add_store(engine, agent_id, path="/etc/ssl/jks.pem", store_type_id=JKS.id)
    factories.add_store(engine, other, path="/etc/ssl/theirs.pem")

    paths = ["/etc/ssl/known.pem", "/etc/ssl/jks.pem", "/etc/ssl/theirs.pem"]
    assert upload(agents, token, job_id, paths) == {"Result": {"Status": 1}}
    assert upload(agents, token, job_id, paths) == {"Result": {"Status": 1}}  # a second upload changes nothing

    found = {(row[0], row[1], row[3]): row for row in stores(engine)}
    assert len(found) == 5
    mine = {key[1:]: row for key, row in found.items() if key[0] == agent_id}
    assert mine[(PEM.id, "/etc/ssl/known.pem")][4:] == (True, False, '{"separatePrivateKey": true}')  # untouched
    assert mine[(PEM.id, "/etc/ssl/jks.pem")][2:5] == ("files.example.com", "/etc/ssl/jks.pem", False)
    assert mine[(PEM.id, "/etc/ssl/theirs.pem")][4] is False
    assert mine[(JKS.id, "/etc/ssl/jks.pem")][4] is True
    with engine.connect() as conn:
        assert conn.execute(select(certificate_store.c.id).where(certificate_store.c.id == known)).scalar() == known


def test_an_empty_upload_is_accepted(engine: Engine, agents: TestClient) -> None:
    _, job_id, token = discovery_run(engine)
    assert upload(agents, token, job_id, []) == {"Result": {"Status": 1}}
    assert stores(engine) == []


def test_a_custom_type_gets_every_property_required_ones_left_empty(engine: Engine, agents: TestClient) -> None:
    add_custom_store_type(engine)
    agent_id, job_id, token = discovery_run(engine, StoreType=str(CUSTOM_TYPE_ID))

    assert upload(agents, token, job_id, ["vault://secret/app"]) == {"Result": {"Status": 1}}

    ((owner, type_id, _, path, approved, _, properties),) = stores(engine)
    assert (owner, type_id, path, approved) == (agent_id, CUSTOM_TYPE_ID, "vault://secret/app", False)
    assert json.loads(properties) == {"Region": "eu-west-1", "ApiKey": "", "Verify": "false"}


def test_the_run_then_completes_as_any_other(engine: Engine, agents: TestClient) -> None:
    _, job_id, token = discovery_run(engine)
    audit_id = post(agents, "Configuration", {"SessionToken": token, "JobId": str(job_id)})["AuditId"]
    upload(agents, token, job_id, ["/etc/ssl/a.pem"])

    body = {"SessionToken": token, "JobId": str(job_id), "AuditId": audit_id, "Status": 2, "Message": "1 found"}
    assert post(agents, "Complete", body) == {"Result": {"Status": 1}}

    (run,) = factories_runs(engine, job_id)
    assert (run.status, run.result, run.message) == (3, 2, "1 found")
    # The run is over (and its one-shot job gone): a later upload is refused.
    assert_refused(upload(agents, token, job_id, ["/etc/ssl/b.pem"]), "A0100004", "is not a job of this orchestrator")
    assert len(stores(engine)) == 1


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("locations", "fragment"), [("/etc/ssl/a.pem", "must be a list"), (None, "must be a list")])
def test_an_upload_that_is_not_a_list_is_refused_recorded_and_changes_nothing(
    engine: Engine, agents: TestClient, locations: Any, fragment: str
) -> None:
    _, job_id, token = discovery_run(engine)
    before = snapshot(engine)

    assert_refused(upload(agents, token, job_id, locations), "A0100005", fragment)

    assert snapshot(engine) == before
    assert [(event.kind, event.job_id) for event in events(engine)] == [("DiscoveryRefused", job_id)]
    assert fragment in events(engine)[0].message


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("/etc/ssl/a\x00.pem", "Location 1 ('/etc/ssl/a\\x00.pem') holds a NUL character"),
        ("", "Location 1 must be a non-empty string, not ''"),
        ("   ", "Location 1 must be a non-empty string, not '   '"),
        (7, "Location 1 must be a non-empty string, not '7'"),
        ({"Path": "/a"}, "Location 1 must be a non-empty string, not \"{'Path': '/a'}\""),
        ("/" + "a" * 1024, "Location 1 is 1025 characters long; at most 1024 are accepted"),
        ("/etc/ssl/a\x01.pem", "Location 1 ('/etc/ssl/a\\x01.pem') holds a control character"),
        ("/etc/ssl/a\n.pem", "Location 1 ('/etc/ssl/a\\n.pem') holds a control character"),
    ],
)
def test_an_entry_that_cannot_be_a_path_is_refused_alone_and_named_in_the_runs_message(
    engine: Engine, agents: TestClient, bad: Any, reason: str
) -> None:
    agent_id, job_id, token = discovery_run(engine)
    audit_id = post(agents, "Configuration", {"SessionToken": token, "JobId": str(job_id)})["AuditId"]
    note = f"Discovery refused 1 of the 3 locations uploaded: {reason}."

    answer = upload(agents, token, job_id, ["/etc/ssl/a.pem", bad, "/opt/app/b.crt"])

    # A warning: the two paths are stores, the entry that could not be one is named.
    error = {"Code": 0x0005, "CodeString": "A0100005", "Message": note}
    assert answer == {"Result": {"Status": 2, "Error": error}}
    assert [(row[0], row[3]) for row in stores(engine)] == [(agent_id, "/etc/ssl/a.pem"), (agent_id, "/opt/app/b.crt")]
    (event,) = events(engine)
    assert (event.kind, event.job_id) == ("DiscoveryRefused", job_id)
    assert event.message == f"Jobs/Discovery refused (A0100005): {note} The other 2 were recorded."
    # The completion is recorded, and its message says what was refused (the orchestrator's own does not know).
    body = {"SessionToken": token, "JobId": str(job_id), "AuditId": audit_id, "Status": 2, "Message": "3 found"}
    assert post(agents, "Complete", body) == {"Result": {"Status": 1}}
    (run,) = factories_runs(engine, job_id)
    assert (run.status, run.result, run.message) == (3, 2, f"3 found {note}")


def test_refusals_of_several_uploads_add_up_in_the_runs_message(engine: Engine, agents: TestClient) -> None:
    _, job_id, token = discovery_run(engine)
    audit_id = post(agents, "Configuration", {"SessionToken": token, "JobId": str(job_id)})["AuditId"]
    bad = [f"/etc/ssl/{n}\x00.pem" for n in range(7)]

    assert upload(agents, token, job_id, ["/etc/ssl/a.pem", *bad])["Result"]["Status"] == 2
    assert upload(agents, token, job_id, ["\x00"])["Result"]["Status"] == 2
    body = {"SessionToken": token, "JobId": str(job_id), "AuditId": audit_id, "Status": 2}
    assert post(agents, "Complete", body) == {"Result": {"Status": 1}}

    (run,) = factories_runs(engine, job_id)
    first = "; ".join(f"Location {n + 1} ('/etc/ssl/{n}\\x00.pem') holds a NUL character" for n in range(5))
    assert run.message == (
        f"Discovery refused 7 of the 8 locations uploaded: {first}; and 2 more. "
        "Discovery refused 1 of the 1 locations uploaded: Location 0 ('\\x00') holds a NUL character."
    )
    assert len(stores(engine)) == 1


def test_an_upload_over_the_limit_is_refused(engine: Engine, agents: TestClient) -> None:
    _, job_id, token = discovery_run(engine)
    before = snapshot(engine)

    answer = upload(agents, token, job_id, [f"/s/{n}.pem" for n in range(MAX_LOCATIONS + 1)])

    assert_refused(answer, "A0100005", f"holds {MAX_LOCATIONS + 1} paths; at most {MAX_LOCATIONS}")
    assert snapshot(engine) == before
    assert [event.kind for event in events(engine)] == ["DiscoveryRefused"]


def test_an_upload_at_the_limit_is_accepted(engine: Engine, agents: TestClient) -> None:
    _, job_id, token = discovery_run(engine)
    assert upload(agents, token, job_id, [f"/s/{n}.pem" for n in range(MAX_LOCATIONS)]) == {"Result": {"Status": 1}}
    assert len(stores(engine)) == MAX_LOCATIONS


def test_an_upload_for_a_job_that_is_not_a_discovery_is_refused(engine: Engine, agents: TestClient) -> None:
    agent_id = add_agent(engine)
    store_id = factories.add_store(engine, agent_id)
    job_id = factories.add_job(engine, agent_id, next_run_at=NOW, requested_at=NOW, store_id=store_id)
    hand_out_due_jobs(engine, agent_id=agent_id, capabilities=CAPABILITIES, now=NOW)
    token = open_session(engine, agent_id)
    before = snapshot(engine)

    assert_refused(upload(agents, token, job_id, ["/etc/ssl/a.pem"]), "A0100005", "is not a discovery")

    assert snapshot(engine) == before
    assert [event.kind for event in events(engine)] == ["DiscoveryRefused"]


@pytest.mark.parametrize("store_type", [None, 99, "PEM", 2**40, True])
def test_an_upload_for_a_job_without_an_existing_store_type_is_refused(
    engine: Engine, agents: TestClient, store_type: Any
) -> None:
    _, job_id, token = discovery_run(engine, StoreType=store_type)
    before = snapshot(engine)

    assert_refused(upload(agents, token, job_id, ["/etc/ssl/a.pem"]), "A0100005", "names no certificate store type")

    assert snapshot(engine) == before
    assert [event.kind for event in events(engine)] == ["DiscoveryRefused"]


def test_an_upload_for_someone_elses_or_an_idle_job_is_refused(engine: Engine, agents: TestClient) -> None:
    _, job_id, _ = discovery_run(engine)
    other = add_agent(engine, "web02.example.com")
    idle = add_discovery(engine, other)  # never handed out
    token = open_session(engine, other)
    before = snapshot(engine)

    assert_refused(upload(agents, token, job_id, ["/a.pem"]), "A0100004", "is not a job of this orchestrator")
    assert_refused(upload(agents, token, idle, ["/a.pem"]), "A0100004", "has no run in flight")
    assert_refused(upload(agents, token, "not-a-guid", ["/a.pem"]), "A0100004", "is not the GUID")  # type: ignore[arg-type]

    assert snapshot(engine) == before
    assert [(event.kind, event.agent_id) for event in events(engine)] == [("DiscoveryRefused", other)] * 3


def test_an_upload_without_a_live_session_is_refused(engine: Engine, agents: TestClient) -> None:
    _, job_id, _ = discovery_run(engine)
    before = snapshot(engine)

    assert_refused(upload(agents, str(uuid.uuid4()), job_id, ["/a.pem"]), "A0100001", "")
    assert_refused(post(agents, "Discovery", {"JobId": str(job_id), "Locations": []}), "A0100001", "")

    assert snapshot(engine) == before
    assert events(engine) == []  # an unknown session names no orchestrator


def test_a_body_that_is_not_a_json_object_is_a_400_envelope(agents: TestClient) -> None:
    response = agents.post("/KeyfactorAgents/Jobs/Discovery", content=b"[1, 2]")
    assert response.status_code == 400
    assert response.json()["Result"]["Status"] == 3
