"""/KeyfactorAPI/AgentPools through HTTP on both databases: the Default Agent Pool and its orchestrators, pools
created, read, listed, updated and deleted, and every refusal changing nothing."""

import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select
from starlette.testclient import TestClient

from orchjobs.settings import Settings
from orchjobs.store.tables import agent, agent_capability, agent_pool, agent_pool_agent
from tests.conftest import api_client
from tests.factories import BASE_TIME

URL = "/KeyfactorAPI/AgentPools"
INVALID = "0xA0110001"
NOT_FOUND = "0xA0110014"
DEFAULT_ID = "00000000-0000-0000-0000-000000000000"
DEFAULT_NAME = "Default Agent Pool"
WEB = uuid.UUID("10000000-0000-4000-8000-000000000001")
MAIL = uuid.UUID("20000000-0000-4000-8000-000000000002")
SSL = uuid.UUID("30000000-0000-4000-8000-000000000003")
NEW = uuid.UUID("40000000-0000-4000-8000-000000000004")


def add_agent(engine: Engine, agent_id: uuid.UUID, machine: str, *capabilities: str, status: int = 2) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(agent).values(
                id=agent_id, client_machine=machine, username="svc", version="10.4", status=status, last_seen=BASE_TIME
            )
        )
        if capabilities:
            conn.execute(
                insert(agent_capability), [{"agent_id": agent_id, "capability": name} for name in capabilities]
            )


def arrange_fleet(engine: Engine) -> None:
    """Three approved orchestrators (one reports SSL, one SslMonitoring) and one that is not approved."""
    add_agent(engine, WEB, "web01", "CertStores.PEM.Inventory")
    add_agent(engine, MAIL, "mail01", "sslmonitoring")
    add_agent(engine, SSL, "ssl01", "SSL")
    add_agent(engine, NEW, "new01", "SSL", status=1)


def member(agent_id: uuid.UUID, machine: str, *, discover: bool = False, monitor: bool = False) -> dict[str, Any]:
    allows = {WEB: (False, False), MAIL: (False, True), SSL: (True, True), NEW: (True, True)}[agent_id]
    return {
        "AgentId": str(agent_id),
        "EnableDiscover": discover,
        "EnableMonitor": monitor,
        "Version": "10.4",
        "AllowsDiscover": allows[0],
        "AllowsMonitor": allows[1],
        "ClientMachine": machine,
    }


def create(
    client: TestClient, name: str = "SSL scanners", agents: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    response = client.post(URL, json={"Name": name, "Agents": agents or []})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def snapshot(engine: Engine) -> tuple[Any, ...]:
    with engine.connect() as conn:
        return tuple(sorted(map(repr, conn.execute(select(table)).all())) for table in (agent_pool, agent_pool_agent))


def assert_refused(response: Any, status: int, code: str, fragment: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["ErrorCode"] == code
    assert fragment in response.json()["Message"], response.json()["Message"]


# -- the Default Agent Pool ----------------------------------------------------------------------


def test_the_default_pool_holds_every_approved_orchestrator_in_no_other_pool(
    client: TestClient, engine: Engine
) -> None:
    arrange_fleet(engine)
    default = {
        "AgentPoolId": DEFAULT_ID,
        "Name": DEFAULT_NAME,
        "DiscoverAgentsCount": 0,
        "MonitorAgentsCount": 0,
        "Agents": [member(MAIL, "mail01"), member(SSL, "ssl01"), member(WEB, "web01")],
    }
    assert client.get(URL).json() == [default]
    assert client.get(f"{URL}/{DEFAULT_ID}").json() == default
    assert client.get(f"{URL}/Agents").json() == default["Agents"]

    create(client, agents=[{"AgentId": str(SSL), "EnableDiscover": True}])

    assert client.get(f"{URL}/{DEFAULT_ID}").json()["Agents"] == [member(MAIL, "mail01"), member(WEB, "web01")]
    assert client.get(f"{URL}/Agents").json() == [member(MAIL, "mail01"), member(WEB, "web01")]


def test_the_default_pool_sets_its_orchestrators_discover_and_monitor(client: TestClient, engine: Engine) -> None:
    arrange_fleet(engine)

    response = client.put(
        URL,
        json={
            "AgentPoolId": DEFAULT_ID,
            "Name": "default agent pool",
            "Agents": [{"AgentId": str(SSL), "EnableDiscover": True, "EnableMonitor": True}, {"agentId": str(MAIL)}],
        },
    )

    assert response.status_code == 200, response.text
    assert response.json() == {
        "AgentPoolId": DEFAULT_ID,
        "Name": DEFAULT_NAME,
        "DiscoverAgentsCount": 1,
        "MonitorAgentsCount": 1,
        "Agents": [member(MAIL, "mail01"), member(SSL, "ssl01", discover=True, monitor=True), member(WEB, "web01")],
    }
    # Moved to another pool and back, an orchestrator starts again with neither.
    pool = create(client, agents=[{"AgentId": str(SSL)}])
    assert client.delete(f"{URL}/{pool['AgentPoolId']}").status_code == 204
    assert client.get(f"{URL}/Agents", params={"pq.queryString": 'ClientMachine -eq "ssl01"'}).json() == [
        member(SSL, "ssl01")
    ]


def test_the_default_pool_can_be_neither_deleted_nor_renamed(client: TestClient, engine: Engine) -> None:
    arrange_fleet(engine)
    before = snapshot(engine)

    assert_refused(client.delete(f"{URL}/{DEFAULT_ID}"), 400, INVALID, "The Default Agent Pool cannot be deleted")
    renamed = client.put(URL, json={"AgentPoolId": DEFAULT_ID, "Name": "Everything"})
    assert_refused(renamed, 400, INVALID, "The Default Agent Pool cannot be renamed")
    unapproved = client.put(
        URL, json={"AgentPoolId": DEFAULT_ID, "Name": DEFAULT_NAME, "Agents": [{"AgentId": str(NEW)}]}
    )
    assert_refused(unapproved, 400, INVALID, f"holds approved orchestrators only; not approved: {NEW}")
    assert snapshot(engine) == before


# -- create, read, update, delete -------------------------------------------------------------------


def test_creates_reads_updates_and_deletes_a_pool(client: TestClient, engine: Engine) -> None:
    arrange_fleet(engine)

    created = create(
        client,
        agents=[
            {"AgentId": str(SSL), "EnableDiscover": True, "EnableMonitor": True},
            {"AgentId": str(NEW).upper(), "EnableMonitor": True},
        ],
    )

    pool_id = created["AgentPoolId"]
    assert uuid.UUID(pool_id) and pool_id != DEFAULT_ID
    assert created == {
        "AgentPoolId": pool_id,
        "Name": "SSL scanners",
        "DiscoverAgentsCount": 1,
        "MonitorAgentsCount": 2,
        "Agents": [member(NEW, "new01", monitor=True), member(SSL, "ssl01", discover=True, monitor=True)],
    }
    assert client.get(f"{URL}/{pool_id}").json() == created
    assert [pool["Name"] for pool in client.get(URL).json()] == [DEFAULT_NAME, "SSL scanners"]

    # Agents left out stay as they are; an orchestrator no longer listed goes back to the Default Agent Pool.
    renamed = client.put(URL, json={"agentPoolId": pool_id, "name": "Scanners"}).json()
    assert renamed == {**created, "Name": "Scanners"}
    updated = client.put(URL, json={"AgentPoolId": pool_id, "Name": "Scanners", "Agents": [{"AgentId": str(NEW)}]})
    assert updated.status_code == 200, updated.text
    assert updated.json()["Agents"] == [member(NEW, "new01")]
    assert [item["AgentId"] for item in client.get(f"{URL}/Agents").json()] == [str(MAIL), str(SSL), str(WEB)]

    assert client.delete(f"{URL}/{pool_id}").status_code == 204
    assert_refused(client.get(f"{URL}/{pool_id}"), 404, NOT_FOUND, f"Agent pool {pool_id} was not found")
    assert [pool["Name"] for pool in client.get(URL).json()] == [DEFAULT_NAME]


def test_lists_by_query_sort_and_page(client: TestClient, engine: Engine) -> None:
    arrange_fleet(engine)
    ids = {name: create(client, name)["AgentPoolId"] for name in ("Beta", "Alpha")}

    def names(**params: Any) -> list[str]:
        response = client.get(URL, params=params)
        assert response.status_code == 200, response.text
        return [pool["Name"] for pool in response.json()]

    assert names() == ["Alpha", "Beta", DEFAULT_NAME]
    assert names(**{"pq.queryString": 'Name -eq "ALPHA"'}) == ["Alpha"]
    assert names(QueryString=f'AgentPoolId -eq "{ids["Beta"]}"') == ["Beta"]
    assert names(**{"pq.queryString": f'AgentPoolId -ne "{DEFAULT_ID}"'}) == ["Alpha", "Beta"]
    assert names(SortField="Name", SortAscending=1) == [DEFAULT_NAME, "Beta", "Alpha"]
    assert names(**{"pq.returnLimit": 2, "pq.pageReturned": 2}) == [DEFAULT_NAME]

    agents = client.get(f"{URL}/Agents", params={"SortField": "ClientMachine", "SortAscending": 1}).json()
    assert [item["ClientMachine"] for item in agents] == ["web01", "ssl01", "mail01"]
    query = {"pq.queryString": f'AgentId -eq "{MAIL}" OR Version -eq "9"'}
    assert [item["ClientMachine"] for item in client.get(f"{URL}/Agents", params=query).json()] == ["mail01"]


@pytest.mark.parametrize(
    ("path", "params", "code", "fragment"),
    [
        ("", {"pq.queryString": 'Nope -eq "x"'}, "0xA0110040", "unknown field 'Nope' for AgentPools"),
        ("", {"pq.queryString": 'AgentPoolId -eq "x"'}, "0xA0110040", "GUID"),
        ("", {"pq.sortField": "Agents"}, "0xA011004A", "Invalid sort field: Agents."),
        ("/Agents", {"pq.queryString": 'Name -eq "x"'}, "0xA0110040", "unknown field 'Name' for AgentPoolAgents"),
        ("/Agents", {"pq.returnLimit": "0"}, INVALID, "ReturnLimit must be between"),
    ],
)
def test_bad_list_parameters_are_refused(
    client: TestClient, path: str, params: dict[str, str], code: str, fragment: str
) -> None:
    assert_refused(client.get(f"{URL}{path}", params=params), 400, code, fragment)


def test_an_unknown_or_malformed_id_is_refused(client: TestClient) -> None:
    unknown = uuid.uuid4()
    assert_refused(client.get(f"{URL}/{unknown}"), 404, NOT_FOUND, f"Agent pool {unknown} was not found")
    assert_refused(client.delete(f"{URL}/{unknown}"), 404, NOT_FOUND, "was not found")
    for bad in ("pool", "42"):
        assert_refused(client.get(f"{URL}/{bad}"), 400, INVALID, "a GUID is expected")
        assert_refused(client.delete(f"{URL}/{bad}"), 400, INVALID, "a GUID is expected")


# -- refusals --------------------------------------------------------------------------------------


REFUSALS = [
    ({"Name": None}, "Name is required"),
    ({"Name": " "}, "Name is required"),
    ({"Name": 5}, "Name must be a string"),
    ({"Name": "p" * 256}, "at most 255 characters"),
    ({"Name": "tab\there"}, "control characters"),
    ({"Name": "MAIL RELAYS"}, "An agent pool named Mail relays already exists"),
    ({"Name": "default AGENT pool"}, "An agent pool named Default Agent Pool already exists"),
    ({"Agents": [{"AgentId": str(uuid.UUID(int=99))}]}, f"orchestrators that do not exist: {uuid.UUID(int=99)}"),
    ({"Agents": [{"AgentId": str(SSL)}, {"AgentId": str(SSL).upper()}]}, f"more than once: {SSL}"),
    ({"Agents": [{"AgentId": str(MAIL)}]}, f"these are in another pool: mail01 ({MAIL}, in pool"),
    ({"Agents": [{"AgentId": "nope"}]}, "Agents[0].AgentId is required"),
    ({"Agents": [{}]}, "Agents[0].AgentId is required"),
    ({"Agents": [{"AgentId": str(SSL), "EnableDiscover": "yes"}]}, "Agents[0].EnableDiscover must be true or false"),
    ({"Agents": ["x"]}, "Agents[0] must be an object"),
    ({"Agents": {"AgentId": str(SSL)}}, "Agents must be an array"),
    ({"AgentPoolId": "nope"}, 'AgentPoolId must be a GUID, not "nope"'),
]


@pytest.mark.parametrize(("fields", "fragment"), REFUSALS)
def test_a_bad_create_is_refused_and_changes_nothing(
    client: TestClient, engine: Engine, fields: dict[str, Any], fragment: str
) -> None:
    arrange_fleet(engine)
    create(client, "Mail relays", [{"AgentId": str(MAIL)}])
    before = snapshot(engine)

    response = client.post(URL, json={"Name": "Scanners", **fields})

    assert_refused(response, 400, INVALID, fragment)
    assert snapshot(engine) == before


@pytest.mark.parametrize(
    ("fields", "status", "code", "fragment"),
    [
        *((fields, 400, INVALID, fragment) for fields, fragment in REFUSALS if "AgentPoolId" not in fields),
        ({"AgentPoolId": None}, 400, INVALID, "AgentPoolId is required"),
        ({"AgentPoolId": str(uuid.UUID(int=7))}, 404, NOT_FOUND, f"Agent pool {uuid.UUID(int=7)} was not found"),
    ],
)
def test_a_bad_update_is_refused_and_changes_nothing(
    client: TestClient, engine: Engine, fields: dict[str, Any], status: int, code: str, fragment: str
) -> None:
    arrange_fleet(engine)
    create(client, "Mail relays", [{"AgentId": str(MAIL)}])
    pool = create(client, "Scanners", [{"AgentId": str(SSL), "EnableDiscover": True}])
    before = snapshot(engine)

    response = client.put(URL, json={"AgentPoolId": pool["AgentPoolId"], "Name": "Scanners", **fields})

    assert_refused(response, status, code, fragment)
    assert snapshot(engine) == before


def test_too_many_agents_are_refused(settings: Settings, engine: Engine) -> None:
    arrange_fleet(engine)
    before = snapshot(engine)
    agents = [{"AgentId": str(agent_id)} for agent_id in (WEB, MAIL, SSL)]

    with api_client(settings.model_copy(update={"max_bulk_ids": 2})) as client:
        response = client.post(URL, json={"Name": "Huge", "Agents": agents})

    assert_refused(response, 400, INVALID, "Agents may list at most 2 orchestrators; got 3")
    assert snapshot(engine) == before
