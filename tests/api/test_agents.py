"""/KeyfactorAPI/Agents: the list and its query fields, one agent, and the actions (Approve, Disapprove,
Reset, FetchLogs, SetAuthCertificateReenrollment) with their effects and their refusals."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, insert, select
from starlette.testclient import TestClient

from orchjobs.settings import Settings
from orchjobs.store.tables import (
    agent,
    agent_capability,
    agent_session,
    certificate_store,
    certificate_store_entry,
    job_history,
    job_type,
    scheduled_job,
)
from tests import factories
from tests.conftest import api_client
from tests.factories import BASE_TIME, add_history
from tests.orchestrator.certificates import make_certificate

URL = "/KeyfactorAPI/Agents"
NOW = datetime(2026, 11, 29, 9, 30, tzinfo=UTC)
WEB = uuid.UUID("10000000-0000-4000-8000-00000000000a")
DB = uuid.UUID("20000000-0000-4000-8000-00000000000b")
MAC = uuid.UUID("30000000-0000-4000-8000-00000000000c")
UNKNOWN = uuid.UUID("99999999-0000-4000-8000-000000000099")


# -- arranging rows --------------------------------------------------------------------------

CERTIFICATE = make_certificate("stored.example").pem


def add_agent(engine: Engine, agent_id: uuid.UUID, *capabilities: str, **overrides: Any) -> uuid.UUID:
    row: dict[str, Any] = {
        "id": agent_id,
        "client_machine": f"host-{str(agent_id)[:2]}.corp.example.com",
        "username": "svc-orchestrator",
        "platform": 1,
        "version": "10.4.1.0",
        "status": 2,
        "last_seen": BASE_TIME,
    }
    row.update(overrides)
    with engine.begin() as conn:
        conn.execute(insert(agent).values(row))
        if capabilities:
            conn.execute(insert(agent_capability), [{"agent_id": agent_id, "capability": c} for c in capabilities])
    return agent_id


def add_store(engine: Engine, agent_id: uuid.UUID, *, entries: int = 1) -> uuid.UUID:
    store_id = factories.add_store(engine, agent_id, path=f"/etc/ssl/{uuid.uuid4()}.pem")
    for number in range(entries):
        factories.add_entry(engine, store_id, f"cert-{number}", CERTIFICATE)
    return store_id


def add_job(engine: Engine, agent_id: uuid.UUID, *, store_id: uuid.UUID | None = None) -> uuid.UUID:
    job_id = uuid.uuid4()
    with engine.begin() as conn:
        inventory = conn.execute(select(job_type.c.id).where(job_type.c.name == "Inventory")).scalar_one()
        conn.execute(
            insert(scheduled_job).values(
                id=job_id,
                agent_id=agent_id,
                job_type_id=inventory,
                certificate_store_id=store_id,
                schedule='{"Interval": {"Minutes": 60}}',
                requested_at=BASE_TIME,
                next_run_at=BASE_TIME,
            )
        )
    return job_id


def add_session(engine: Engine, agent_id: uuid.UUID) -> str:
    return factories.add_session(engine, agent_id, created_at=BASE_TIME, expires_at=BASE_TIME + timedelta(days=1))


def agent_rows(engine: Engine) -> dict[uuid.UUID, tuple[Any, ...]]:
    """Every agent's (status, thumbprint, legacy_thumbprint, auth_certificate_reenrollment)."""
    columns = (agent.c.id, agent.c.status, agent.c.thumbprint, agent.c.legacy_thumbprint)
    with engine.connect() as conn:
        rows = conn.execute(select(*columns, agent.c.auth_certificate_reenrollment))
        return {row[0]: tuple(row[1:]) for row in rows}


def owned(engine: Engine, agent_id: uuid.UUID) -> dict[str, int]:
    """How many rows of each kind belong to the agent."""
    entries = (
        select(func.count())
        .select_from(certificate_store_entry.join(certificate_store))
        .where(certificate_store.c.agent_id == agent_id)
    )
    counts = {
        "stores": select(func.count()).select_from(certificate_store).where(certificate_store.c.agent_id == agent_id),
        "entries": entries,
        "jobs": select(func.count()).select_from(scheduled_job).where(scheduled_job.c.agent_id == agent_id),
        "sessions": select(func.count()).select_from(agent_session).where(agent_session.c.agent_id == agent_id),
        "history": select(func.count()).select_from(job_history).where(job_history.c.agent_id == agent_id),
        "capabilities": select(func.count())
        .select_from(agent_capability)
        .where(agent_capability.c.agent_id == agent_id),
    }
    with engine.connect() as conn:
        return {name: int(conn.execute(stmt).scalar_one()) for name, stmt in counts.items()}


def everything(engine: Engine) -> tuple[Any, ...]:
    """A snapshot of all the state the actions touch, to prove a refused request changed nothing."""
    with engine.connect() as conn:
        tables = (agent, agent_capability, agent_session, certificate_store, certificate_store_entry, scheduled_job)
        return tuple(sorted(map(repr, conn.execute(select(table)).all())) for table in tables)


def ids_of(items: list[dict[str, Any]]) -> list[str]:
    return [item["AgentId"] for item in items]


@pytest.fixture
def client_at_now(settings: Settings) -> Iterator[TestClient]:
    """The administrator's client on an app whose clock stands at NOW."""
    with api_client(settings, clock=lambda: NOW) as test_client:
        yield test_client


# -- GET /Agents -----------------------------------------------------------------------------


def test_lists_agents_with_commands_fields(client: TestClient, engine: Engine) -> None:
    add_agent(
        engine,
        WEB,
        "LOGS",
        "CertStores.PEM.Inventory",
        "Custom.FetchLogs",
        "certstores.JKS.Management",
        client_machine="web01.corp.example.com",
        username="CORP\\svc-web",
        platform=7,
        version="10.4.1.0",
        status=2,
        last_seen=BASE_TIME + timedelta(microseconds=123456),
        thumbprint="AB12CD34",
        legacy_thumbprint="0011FF",
        auth_certificate_reenrollment=2,
        last_error_code=-2147483648,
        last_error_message="The certificate has expired.",
        blueprint="web-servers",
    )
    add_agent(engine, DB, client_machine="db01", status=1, platform=0, version="")

    items = client.get(URL).json()

    assert items == [
        {
            "AgentId": str(WEB),
            "ClientMachine": "web01.corp.example.com",
            "Username": "CORP\\svc-web",
            "AgentPlatform": 7,
            "Version": "10.4.1.0",
            "Status": 2,
            "LastSeen": "2026-11-20T12:00:00.123456Z",
            "Capabilities": ["certstores.JKS.Management", "CertStores.PEM.Inventory", "Custom.FetchLogs", "LOGS"],
            "Blueprint": "web-servers",
            "Thumbprint": "AB12CD34",
            "LegacyThumbprint": "0011FF",
            "AuthCertificateReenrollment": "2",
            "LastErrorCode": -2147483648,
            "LastErrorMessage": "The certificate has expired.",
        },
        {
            "AgentId": str(DB),
            "ClientMachine": "db01",
            "Username": "svc-orchestrator",
            "AgentPlatform": 0,
            "Version": "",
            "Status": 1,
            "LastSeen": "2026-11-20T12:00:00Z",
            "Capabilities": [],
            "AuthCertificateReenrollment": "0",
        },
    ]


def test_an_unknown_platform_number_is_shown_as_unknown(client: TestClient, engine: Engine) -> None:
    # Both published clients crash on an AgentPlatform outside 0..7.
    add_agent(engine, WEB, platform=42)
    assert client.get(URL).json()[0]["AgentPlatform"] == 0


def test_capabilities_of_a_page_are_loaded_in_one_query(client: TestClient, engine: Engine) -> None:
    for number in range(6):
        add_agent(engine, uuid.UUID(int=number + 1), "LOGS", f"Custom.Job{number}")
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    # Every engine of this process: the app's is the only one that works during the request.
    event.listen(Engine, "before_cursor_execute", record)
    try:
        items = client.get(URL, params={"ReturnLimit": 5}).json()
    finally:
        event.remove(Engine, "before_cursor_execute", record)

    assert len(items) == 5 and all(len(item["Capabilities"]) == 2 for item in items)
    assert len([s for s in statements if "agent_capability" in s]) == 1


def arrange_fleet(engine: Engine) -> None:
    add_agent(
        engine,
        WEB,
        "LOGS",
        "CertStores.PEM.Inventory",
        client_machine="web01.corp.example.com",
        username="CORP\\svc-web",
        platform=7,
        version="10.4.1.0",
        status=2,
        last_seen=datetime(2026, 11, 28, 23, 0, tzinfo=UTC),
    )
    add_agent(
        engine,
        DB,
        "Custom.FetchLogs",
        "CertStores.JKS.Management",
        client_machine="db01.corp.example.com",
        username="CORP\\svc-db",
        platform=1,
        version="12.1.0",
        status=1,
        last_seen=datetime(2026, 11, 27, 8, 0, tzinfo=UTC),
    )
    add_agent(
        engine,
        MAC,
        client_machine="mac-build.local",
        username="builder",
        platform=3,
        version="9.0",
        status=3,
        last_seen=datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
    )


# (query, agents it selects, in the default order: AgentId ascending)
QUERIES: list[tuple[str, list[uuid.UUID]]] = [
    ('ClientMachine -eq "web01.corp.example.com"', [WEB]),  # what kfutil sends
    ('ClientMachine -eq "WEB01.CORP.EXAMPLE.COM"', [WEB]),
    ('ClientMachine -contains "corp"', [WEB, DB]),
    ('clientmachine -ne "mac-build.local"', [WEB, DB]),
    (f'AgentId -eq "{str(DB).lower()}"', [DB]),  # kfutil sends the lowercase GUID
    (f'AgentId -eq "{str(DB).upper()}"', [DB]),
    (f"AgentId -ne {WEB}", [DB, MAC]),
    ('Identity -eq "corp\\svc-web"', [WEB]),
    ('Username -startswith "CORP\\"', [WEB, DB]),
    ('LastSeen -ge "2026-11-27"', [WEB, DB]),
    ('LastSeen -lt "2026-11-27T09:00:00Z"', [DB, MAC]),
    ("LastSeen -eq 2026-11-20", [MAC]),
    ("Platform -eq 7", [WEB]),
    ('Platform -eq ".NET"', [DB]),
    ("AgentPlatform -eq UniversalOrchestrator", [WEB]),
    ("Platform -eq Mac", [MAC]),
    ('Status -eq "2"', [WEB]),
    ("Status -eq New", [DB]),
    ("Status -ne Disapproved", [WEB, DB]),
    ('Version -startswith "1"', [WEB, DB]),
    ('Version -eq "9.0"', [MAC]),
    ('Capabilities -contains "LOGS"', [WEB, DB]),  # Custom.FetchLogs contains "logs" too
    ('Status -eq 2 AND Capabilities -contains "LOGS"', [WEB]),  # Command's documented example
    ('Capabilities -eq "logs"', [WEB]),
    ('Capabilities -eq "certstores.pem.inventory"', [WEB]),
    ('Capabilities -ne "LOGS"', [DB, MAC]),
    ('Capabilities -notcontains "pem"', [DB, MAC]),
    ('Capabilities -startswith "custom."', [DB]),
    ('Capabilities -endswith ".management"', [DB]),
    ("Capabilities -eq NULL", [MAC]),
    ("Capabilities -ne NULL", [WEB, DB]),
    ('NOT Capabilities -contains "logs"', [MAC]),
    ('Capabilities -contains "%"', []),  # LIKE wildcards are literal
    ("(Status -eq 1 OR Status -eq 3) AND Capabilities -ne NULL", [DB]),
]


def test_every_query_field(client: TestClient, engine: Engine) -> None:
    arrange_fleet(engine)
    for query, expected in QUERIES:
        response = client.get(URL, params={"pq.queryString": query})
        assert response.status_code == 200, (query, response.json())
        assert ids_of(response.json()) == [str(agent_id) for agent_id in expected], query
    unprefixed = client.get(URL, params={"QueryString": 'ClientMachine -eq "db01.corp.example.com"'}).json()
    assert ids_of(unprefixed) == [str(DB)]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("Nope -eq 1", "0xA0110040"),
        ('Capabilities -gt "a"', "0xA0110040"),
        ("Capabilities -lt NULL", "0xA0110040"),
        ("Status -eq 4", "0xA0110040"),
        ("Platform -eq Windows", "0xA0110040"),
        ("AgentId -eq web01", "0xA0110040"),
        ("LastSeen -gt yesterday", "0xA0110040"),
        ("Status -eq 2 AND", "0xA0110040"),
    ],
)
def test_a_bad_query_is_400(client: TestClient, query: str, code: str) -> None:
    response = client.get(URL, params={"pq.queryString": query})
    assert response.status_code == 400
    assert response.json()["ErrorCode"] == code
    assert "position" in response.json()["Message"]


def test_unknown_field_lists_the_agent_fields(client: TestClient) -> None:
    message = client.get(URL, params={"pq.queryString": "JobType -eq x"}).json()["Message"]
    assert "unknown field 'JobType' for Agents" in message
    assert "Capabilities" in message and "Identity" in message


def test_default_order_is_agent_id_ascending_and_pages_are_stable(client: TestClient, engine: Engine) -> None:
    ids = [uuid.UUID(int=n) for n in (0x5, 0x3, 0xF1, 0x2, 0x9, 0x7, 0x1)]
    for agent_id in ids:
        add_agent(engine, agent_id, client_machine="same-name")  # equal sort keys: only the id orders them
    seen = []
    for page in (1, 2, 3):
        seen += ids_of(client.get(URL, params={"pq.pageReturned": page, "pq.returnLimit": 3}).json())
    assert seen == [str(agent_id) for agent_id in sorted(ids)]
    assert client.get(URL, params={"PageReturned": 4, "ReturnLimit": 3}).json() == []
    by_name = ids_of(client.get(URL, params={"SortField": "ClientMachine", "SortAscending": 1}).json())
    assert by_name == [str(agent_id) for agent_id in sorted(ids, reverse=True)]


def test_sorts_by_fields_both_ways(client: TestClient, engine: Engine) -> None:
    arrange_fleet(engine)
    by_seen = ids_of(client.get(URL, params={"pq.sortField": "LastSeen", "pq.sortAscending": 0}).json())
    assert by_seen == [str(MAC), str(DB), str(WEB)]
    by_machine = ids_of(client.get(URL, params={"SortField": "clientmachine", "SortAscending": 1}).json())
    assert by_machine == [str(WEB), str(MAC), str(DB)]
    by_platform = ids_of(client.get(URL, params={"SortField": "Platform"}).json())
    assert by_platform == [str(DB), str(MAC), str(WEB)]
    descending_ids = ids_of(client.get(URL, params={"SortAscending": 1}).json())
    assert descending_ids == [str(MAC), str(DB), str(WEB)]


@pytest.mark.parametrize("field", ["Bogus", "Capabilities"])
def test_an_invalid_sort_field_is_commands_code(client: TestClient, field: str) -> None:
    response = client.get(URL, params={"pq.sortField": field})
    assert response.status_code == 400
    assert response.json() == {"ErrorCode": "0xA011004A", "Message": f"Invalid sort field: {field}."}


def test_bad_paging_parameters_are_400(client: TestClient) -> None:
    for params in ({"pq.pageReturned": 0}, {"pq.returnLimit": "x"}, {"pq.sortAscending": 3}):
        response = client.get(URL, params=params)
        assert response.status_code == 400, params
        assert response.json()["ErrorCode"] == "0xA0110001"


# -- GET /Agents/{id} ------------------------------------------------------------------------


def test_gets_one_agent(client: TestClient, engine: Engine) -> None:
    arrange_fleet(engine)
    listed = {item["AgentId"]: item for item in client.get(URL).json()}
    for agent_id in (WEB, DB, MAC):
        for spelled in (str(agent_id), str(agent_id).upper(), "{" + str(agent_id) + "}"):
            response = client.get(f"{URL}/{spelled}")
            assert response.status_code == 200
            assert response.json() == listed[str(agent_id)]
    assert client.get(f"/keyfactorapi/agents/{WEB}").json()["AgentId"] == str(WEB)


def test_get_one_agent_errors(client: TestClient) -> None:
    missing = client.get(f"{URL}/{UNKNOWN}")
    assert missing.status_code == 404
    assert missing.json() == {"ErrorCode": "0xA0110014", "Message": f"Orchestrator {UNKNOWN} was not found."}
    for bad in ("not-a-guid", "1234", "10000000-0000-4000-8000-00000000000g"):
        response = client.get(f"{URL}/{bad}")
        assert response.status_code == 400, bad
        assert response.json()["ErrorCode"] == "0xA0110001"
        assert "GUID" in response.json()["Message"]


def test_agents_need_authentication(settings: Any) -> None:
    from tests.conftest import api_client

    with api_client(settings, auth=None) as anonymous:
        assert anonymous.get(URL).status_code == 401
        assert anonymous.post(URL + "/Approve", json=[str(WEB)]).status_code == 401
        assert anonymous.post(f"{URL}/{WEB}/FetchLogs").status_code == 401


# -- Approve / Disapprove --------------------------------------------------------------------


def test_approve_sets_status_approved_in_one_request(client: TestClient, engine: Engine) -> None:
    add_agent(engine, WEB, status=1)
    add_agent(engine, DB, status=3)
    add_agent(engine, MAC, status=1)
    token = add_session(engine, WEB)

    response = client.post(URL + "/Approve", json=[str(WEB).upper(), str(DB), str(WEB)])

    assert response.status_code == 204 and response.content == b""
    statuses = {agent_id: row[0] for agent_id, row in agent_rows(engine).items()}
    assert statuses == {WEB: 2, DB: 2, MAC: 1}
    assert owned(engine, WEB)["sessions"] == 1 and token
    assert client.post("/keyfactorapi/agents/approve", json=[str(WEB)]).status_code == 204  # a no-op, any case


def test_disapprove_ends_the_agents_sessions(client: TestClient, engine: Engine) -> None:
    add_agent(engine, WEB, status=2)
    add_agent(engine, DB, status=2)
    add_session(engine, WEB)
    add_session(engine, WEB)
    add_session(engine, DB)

    response = client.post(URL + "/Disapprove", json=[str(WEB)])

    assert response.status_code == 204
    assert {agent_id: row[0] for agent_id, row in agent_rows(engine).items()} == {WEB: 3, DB: 2}
    assert owned(engine, WEB)["sessions"] == 0
    assert owned(engine, DB)["sessions"] == 1


@pytest.mark.parametrize("action", ["Approve", "Disapprove", "Reset"])
def test_an_unknown_id_refuses_the_whole_bulk_request(client: TestClient, engine: Engine, action: str) -> None:
    add_agent(engine, WEB, status=1, thumbprint="AA")
    add_session(engine, WEB)
    add_job(engine, WEB, store_id=add_store(engine, WEB))
    other_unknown = uuid.UUID(int=7)
    before = everything(engine)

    response = client.post(f"{URL}/{action}", json=[str(WEB), str(UNKNOWN), str(other_unknown)])

    assert response.status_code == 400
    body = response.json()
    assert body["ErrorCode"] == "0xA0110050"
    assert body["FailedOperations"] == [
        {"Id": str(UNKNOWN), "Reason": f"Orchestrator {UNKNOWN} was not found."},
        {"Id": str(other_unknown), "Reason": f"Orchestrator {other_unknown} was not found."},
    ]
    assert "2 of the 3" in body["Message"]
    assert everything(engine) == before


BAD_BODIES: list[tuple[Any, str]] = [
    ({"AgentIds": [str(WEB)]}, "JSON array"),
    (str(WEB), "JSON array"),
    ([], "at least one id"),
    ([str(WEB), "web01"], '"web01"'),
    ([str(WEB), 42], "42"),
    ([str(WEB), None], "null"),
    ([[str(WEB)]], "GUID strings"),
]


@pytest.mark.parametrize("action", ["Approve", "Disapprove", "Reset"])
def test_a_malformed_body_is_400_and_changes_nothing(client: TestClient, engine: Engine, action: str) -> None:
    add_agent(engine, WEB, status=1)
    add_session(engine, WEB)
    before = everything(engine)
    for payload, fragment in BAD_BODIES:
        response = client.post(f"{URL}/{action}", json=payload)
        assert response.status_code == 400, payload
        assert response.json()["ErrorCode"] == "0xA0110001"
        assert fragment in response.json()["Message"], (payload, response.json())
    for raw in (b"", b"[not json", b"\xff\xfe"):
        response = client.post(f"{URL}/{action}", content=raw, headers={"content-type": "application/json"})
        assert response.status_code == 400, raw
    assert everything(engine) == before


# -- Reset -----------------------------------------------------------------------------------


def arrange_agent_with_work(engine: Engine, agent_id: uuid.UUID, **overrides: Any) -> None:
    values = {"status": 2, "thumbprint": "AB12", "legacy_thumbprint": "CD34", "auth_certificate_reenrollment": 1}
    add_agent(engine, agent_id, "LOGS", "CertStores.PEM.Inventory", **(values | overrides))
    first = add_store(engine, agent_id, entries=3)
    add_store(engine, agent_id, entries=0)
    add_job(engine, agent_id, store_id=first)
    add_job(engine, agent_id)
    add_session(engine, agent_id)
    add_history(engine, agent_id=agent_id, result=4, status=3)
    add_history(engine, agent_id=agent_id, result=2, status=3)


def test_reset_removes_jobs_stores_and_sessions_and_keeps_history(client: TestClient, engine: Engine) -> None:
    arrange_agent_with_work(engine, WEB)
    arrange_agent_with_work(engine, DB, status=3)
    arrange_agent_with_work(engine, MAC)
    untouched = owned(engine, MAC)
    assert untouched == {"stores": 2, "entries": 3, "jobs": 2, "sessions": 1, "history": 2, "capabilities": 2}

    response = client.post(URL + "/Reset", json=[str(WEB), str(DB)])

    assert response.status_code == 204
    for agent_id in (WEB, DB):
        assert owned(engine, agent_id) == {
            "stores": 0, "entries": 0, "jobs": 0, "sessions": 0, "history": 2, "capabilities": 2
        }  # fmt: skip
        # Status New, certificates forgotten; the reenrollment request is not a certificate and stays.
        assert agent_rows(engine)[agent_id] == (1, None, None, 1)
    assert owned(engine, MAC) == untouched
    assert agent_rows(engine)[MAC] == (2, "AB12", "CD34", 1)


def test_reset_one_agent(client: TestClient, engine: Engine) -> None:
    arrange_agent_with_work(engine, WEB)
    arrange_agent_with_work(engine, DB)

    response = client.post(f"{URL}/{WEB}/Reset")

    assert response.status_code == 204
    assert owned(engine, WEB) == {"stores": 0, "entries": 0, "jobs": 0, "sessions": 0, "history": 2, "capabilities": 2}
    assert agent_rows(engine)[WEB][:3] == (1, None, None)
    assert owned(engine, DB)["stores"] == 2
    assert client.post(f"/KeyfactorApi/agents/{str(DB).upper()}/reset").status_code == 204
    assert owned(engine, DB)["jobs"] == 0


def test_reset_one_agent_errors_change_nothing(client: TestClient, engine: Engine) -> None:
    arrange_agent_with_work(engine, WEB)
    before = everything(engine)
    missing = client.post(f"{URL}/{UNKNOWN}/Reset")
    assert missing.status_code == 404
    assert missing.json()["ErrorCode"] == "0xA0110014"
    malformed = client.post(f"{URL}/nope/Reset")
    assert malformed.status_code == 400
    assert everything(engine) == before


# -- FetchLogs -------------------------------------------------------------------------------


def scheduled_jobs(engine: Engine) -> list[dict[str, Any]]:
    stmt = select(scheduled_job, job_type.c.name.label("job_type_name")).join(job_type)
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(stmt)]


@pytest.mark.parametrize("capability", ["LOGS", "Custom.FetchLogs", "custom.fetchlogs"])
def test_fetch_logs_schedules_an_immediate_job(client_at_now: TestClient, engine: Engine, capability: str) -> None:
    add_agent(engine, WEB, "CertStores.PEM.Inventory", capability, status=2)

    response = client_at_now.post(f"{URL}/{WEB}/FetchLogs")

    assert response.status_code == 204 and response.content == b""
    [job] = scheduled_jobs(engine)
    assert job["job_type_name"] == "FetchLogs"
    assert job["agent_id"] == WEB
    assert job["capability"] == "Custom.FetchLogs"
    assert job["schedule"] is None and job["schedule_type"] is None
    assert job["certificate_store_id"] is None
    assert job["requested_at"] == NOW and job["next_run_at"] == NOW
    assert job["priority"] == 5 and job["retry_count"] == 0 and job["running_history_id"] is None


def test_fetch_logs_refusals_change_nothing(client: TestClient, engine: Engine) -> None:
    add_agent(engine, WEB, "LOGS", status=1)
    add_agent(engine, DB, "LOGS", status=3)
    add_agent(engine, MAC, "CertStores.PEM.Inventory", "Custom.FetchLogsArchive", status=2)
    before = everything(engine)

    cases = [
        (WEB, 400, "is New, not Approved"),
        (DB, 400, "is Disapproved, not Approved"),
        (MAC, 400, "did not report the Custom.FetchLogs (or LOGS) capability"),
        (UNKNOWN, 404, "was not found"),
    ]
    for agent_id, status, fragment in cases:
        response = client.post(f"{URL}/{agent_id}/FetchLogs")
        assert response.status_code == status, agent_id
        assert fragment in response.json()["Message"]
    assert client.post(f"{URL}/logs-please/FetchLogs").status_code == 400
    assert everything(engine) == before


# -- SetAuthCertificateReenrollment ----------------------------------------------------------

REENROLL = URL + "/SetAuthCertificateReenrollment"


def reenrollment(engine: Engine) -> dict[uuid.UUID, int]:
    return {agent_id: row[3] for agent_id, row in agent_rows(engine).items()}


def test_set_auth_certificate_reenrollment(client: TestClient, engine: Engine) -> None:
    add_agent(engine, WEB)
    add_agent(engine, DB)

    response = client.post(REENROLL, json={"OrchestratorIds": [str(WEB), str(UNKNOWN)], "Status": "2"})

    assert response.status_code == 200
    assert response.json() == {"FailedOrchestratorIds": [str(UNKNOWN)], "Status": 2}
    assert reenrollment(engine) == {WEB: 2, DB: 0}
    assert client.get(f"{URL}/{WEB}").json()["AuthCertificateReenrollment"] == "2"

    # The v11 SDK's camelCase body, with StatusEnum (which wins over Status).
    response = client.post(REENROLL, json={"orchestratorIds": [str(WEB), str(DB)], "status": "", "statusEnum": 1})
    assert response.json() == {"FailedOrchestratorIds": [], "Status": 1}
    assert reenrollment(engine) == {WEB: 1, DB: 1}

    for status, expected in ((0, 0), ("Required", 2), ("1", 1)):
        response = client.post(REENROLL, json={"OrchestratorIds": [str(DB)], "Status": status})
        assert response.json() == {"FailedOrchestratorIds": [], "Status": expected}
        assert reenrollment(engine)[DB] == expected


def test_set_auth_certificate_reenrollment_errors_change_nothing(client: TestClient, engine: Engine) -> None:
    add_agent(engine, WEB)
    before = everything(engine)
    bodies: list[Any] = [
        {"OrchestratorIds": [str(WEB)], "Status": "3"},
        {"OrchestratorIds": [str(WEB)], "Status": -1},
        {"OrchestratorIds": [str(WEB)], "Status": 2**70},
        {"OrchestratorIds": [str(WEB)], "Status": True},
        {"OrchestratorIds": [str(WEB)], "Status": "Maybe"},
        {"OrchestratorIds": [str(WEB)], "Status": "²"},
        {"OrchestratorIds": [str(WEB)]},
        {"OrchestratorIds": [str(WEB)], "Status": "1", "StatusEnum": 9},
        {"Status": "1"},
        {"OrchestratorIds": [], "Status": "1"},
        {"OrchestratorIds": ["web01"], "Status": "1"},
        {"OrchestratorIds": str(WEB), "Status": "1"},
        [str(WEB)],
    ]
    for payload in bodies:
        response = client.post(REENROLL, json=payload)
        assert response.status_code == 400, payload
        assert response.json()["ErrorCode"] == "0xA0110001", payload
    assert everything(engine) == before


def test_reset_closes_runs_in_flight_as_failed(client: TestClient, engine: Engine) -> None:
    add_agent(engine, WEB, "LOGS", status=2)
    job_id = add_job(engine, WEB)
    running = add_history(engine, agent_id=WEB, job_id=job_id, result=0, status=2, operation_end=None)
    with engine.begin() as conn:
        conn.execute(scheduled_job.update().where(scheduled_job.c.id == job_id).values(running_history_id=running))

    assert client.post(f"{URL}/{WEB}/Reset").status_code == 204

    with engine.connect() as conn:
        row = conn.execute(select(job_history).where(job_history.c.id == running)).one()
    assert (row.status, row.result) == (3, 4)
    assert row.operation_end is not None
    assert "reset" in row.message
