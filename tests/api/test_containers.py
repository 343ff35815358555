"""/KeyfactorAPI/CertificateStoreContainers through HTTP on both databases: the list and its query, one container with
its stores, create, update (and the inventory schedules it gives the stores), delete, and every refusal changing
nothing."""

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, update
from starlette.testclient import TestClient

from orchjobs.domain.capabilities import capability_guid
from orchjobs.settings import Settings
from orchjobs.store.tables import (
    agent,
    certificate_store,
    certificate_store_container,
    certificate_store_type,
    job_type,
    scheduled_job,
)
from tests.conftest import api_client
from tests.factories import BASE_TIME, add_history, add_job, add_store

URL = "/KeyfactorAPI/CertificateStoreContainers"
INVALID = "0xA0110001"
NOT_FOUND = "0xA0110014"
NOW = datetime(2026, 11, 29, 10, 15, tzinfo=UTC)
WEB = uuid.UUID("3f2b6a1e-58c4-4d0e-9a51-0c2d6b7f8e11")
HOURLY = {"Interval": {"Minutes": 60}}
DAILY = {"Daily": {"Time": "2026-12-01T02:30:00Z"}}
PEM, JKS = 2, 1


@pytest.fixture
def client_at_now(settings: Settings) -> Iterator[TestClient]:
    with api_client(settings, clock=lambda: NOW) as test_client:
        yield test_client


def add_agent(engine: Engine, agent_id: uuid.UUID = WEB, machine: str = "web01.example.com") -> uuid.UUID:
    with engine.begin() as conn:
        conn.execute(
            insert(agent).values(id=agent_id, client_machine=machine, username="svc", status=2, last_seen=BASE_TIME)
        )
    return agent_id


def create(client: TestClient, **fields: Any) -> dict[str, Any]:
    response = client.post(URL, json={"Name": "Web servers", "CertStoreType": PEM, **fields})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def put_in(engine: Engine, container_id: int, *store_ids: uuid.UUID) -> None:
    with engine.begin() as conn:
        stmt = update(certificate_store).where(certificate_store.c.id.in_(store_ids))
        conn.execute(stmt.values(container_id=container_id))


def snapshot(engine: Engine) -> tuple[Any, ...]:
    """Every row the container routes could touch, to prove that a refusal changed nothing."""
    with engine.connect() as conn:
        tables = (certificate_store_container, certificate_store, scheduled_job)
        return tuple(sorted(map(repr, conn.execute(select(table)).all())) for table in tables)


def assert_refused(response: Any, status: int, code: str, fragment: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["ErrorCode"] == code
    assert fragment in response.json()["Message"], response.json()["Message"]


def inventory_jobs(engine: Engine) -> dict[uuid.UUID, dict[str, Any]]:
    """The inventory jobs by store id."""
    stmt = select(scheduled_job).join(job_type).where(job_type.c.name == "Inventory")
    with engine.connect() as conn:
        return {row.certificate_store_id: dict(row._mapping) for row in conn.execute(stmt)}


# -- create and read ---------------------------------------------------------------------------------


def test_creates_a_container_and_reads_it_in_commands_shapes(client: TestClient) -> None:
    created = create(
        client,
        OverwriteSchedules=True,
        Schedule={"weekly": {"days": ["Monday", 3], "time": "2026-11-30T08:30:00+00:00"}},
    )

    assert created == {
        "Id": created["Id"],
        "Name": "Web servers",
        "OverwriteSchedules": True,
        "Schedule": {"Weekly": {"Days": [1, 3], "Time": "2026-11-30T08:30:00Z"}},
        "CertStoreType": PEM,
        "CertificateStores": [],
    }
    assert client.get(f"{URL}/{created['Id']}").json() == created
    # The list answers Command's CertificateStoreContainerListResponse: the schedule in its compact form, a string
    # (keyfactor-go-client's CertStoreContainer decodes Schedule into a Go string).
    assert client.get(URL).json() == [
        {
            "Id": created["Id"],
            "Name": "Web servers",
            "OverwriteSchedules": True,
            "Schedule": "W_24_08:30",
            "CertStoreType": PEM,
            "StoreCount": 0,
        }
    ]


def test_absent_values_are_omitted_and_keys_match_in_any_case(client: TestClient) -> None:
    # The v11 SDK sends camelCase; Off and null both mean no schedule.
    for name, schedule in (("a", {"Off": True}), ("b", None)):
        response = client.post(URL, json={"name": name, "certStoreType": "1", "schedule": schedule})
        assert response.status_code == 200, response.text
        assert response.json() == {
            "Id": response.json()["Id"],
            "Name": name,
            "OverwriteSchedules": False,
            "CertStoreType": JKS,
            "CertificateStores": [],
        }
    assert [item.get("Schedule") for item in client.get(URL).json()] == [None, None]


def test_one_container_lists_its_stores_in_the_certificate_store_shape(client: TestClient, engine: Engine) -> None:
    add_agent(engine)
    container = create(client, Schedule=HOURLY)
    first = add_store(engine, WEB, path="/etc/ssl/b.pem", properties='{"separatePrivateKey": "true"}')
    second = add_store(engine, WEB, path="/etc/ssl/a.pem", client_machine="remote01")
    outside = add_store(engine, WEB, path="/etc/ssl/c.pem")
    put_in(engine, container["Id"], first, second)
    with engine.begin() as conn:
        conn.execute(update(certificate_store).where(certificate_store.c.id == first).values(display_name="Web"))

    answer = client.get(f"{URL}/{container['Id']}").json()

    assert answer["CertificateStores"] == [
        {
            "Id": str(second),
            "ContainerId": container["Id"],
            "ClientMachine": "remote01",
            "Storepath": "/etc/ssl/a.pem",
            "CertStoreType": PEM,
            "Approved": True,
            "CreateIfMissing": False,
            "Properties": "{}",
            "AgentId": str(WEB),
            "AgentAssigned": True,
            "ContainerName": "Web servers",
        },
        {
            "Id": str(first),
            "DisplayName": "Web",
            "ContainerId": container["Id"],
            "ClientMachine": "web01.example.com",
            "Storepath": "/etc/ssl/b.pem",
            "CertStoreType": PEM,
            "Approved": True,
            "CreateIfMissing": False,
            "Properties": '{"separatePrivateKey": "true"}',
            "AgentId": str(WEB),
            "AgentAssigned": True,
            "ContainerName": "Web servers",
        },
    ]
    assert str(outside) not in json.dumps(answer)
    assert client.get(URL).json()[0]["StoreCount"] == 2


def test_an_unknown_or_malformed_id_is_refused(client: TestClient) -> None:
    assert_refused(client.get(f"{URL}/41"), 404, NOT_FOUND, "Certificate store container 41 was not found")
    assert_refused(client.delete(f"{URL}/41"), 404, NOT_FOUND, "was not found")
    for bad in ("web", "1.5", str(2**31)):
        assert_refused(client.get(f"{URL}/{bad}"), 400, INVALID, "an integer is expected")
        assert_refused(client.delete(f"{URL}/{bad}"), 400, INVALID, "an integer is expected")


# -- the list --------------------------------------------------------------------------------------


def names_of(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["Name"] for item in response.json()]


def test_lists_by_query_sort_and_page(client: TestClient) -> None:
    ids = {
        name: create(client, Name=name, CertStoreType=kind)["Id"]
        for name, kind in (("web", PEM), ("Apps", JKS), ("Mail", PEM))
    }
    by_query = {
        'Name -eq "APPS"': ["Apps"],
        'Name -contains "a"': ["Apps", "Mail"],
        f"Id -eq {ids['web']}": ["web"],
        f"Id -ne {ids['web']}": ["Apps", "Mail"],
        "CertStoreType -eq 2": ["Mail", "web"],
        "StoreType -eq 1": ["Apps"],
    }
    for query, expected in by_query.items():
        assert names_of(client.get(URL, params={"pq.queryString": query})) == expected, query
        assert names_of(client.get(URL, params={"QueryString": query})) == expected, query

    assert names_of(client.get(URL)) == ["Apps", "Mail", "web"]  # Name, ascending
    assert names_of(client.get(URL, params={"SortField": "Id", "SortAscending": 1})) == ["Mail", "Apps", "web"]
    assert names_of(client.get(URL, params={"pq.returnLimit": 2, "pq.pageReturned": 2})) == ["web"]


@pytest.mark.parametrize(
    ("params", "code", "fragment"),
    [
        ({"pq.queryString": 'Nope -eq "x"'}, "0xA0110040", "unknown field 'Nope' for CertificateStoreContainers"),
        ({"pq.queryString": 'Id -eq "x"'}, "0xA0110040", "whole number"),
        ({"pq.sortField": "StoreCount"}, "0xA011004A", "Invalid sort field: StoreCount."),
        ({"pq.returnLimit": "0"}, INVALID, "ReturnLimit must be between"),
    ],
)
def test_bad_list_parameters_are_refused(client: TestClient, params: dict[str, str], code: str, fragment: str) -> None:
    assert_refused(client.get(URL, params=params), 400, code, fragment)


# -- refusals of a create or an update ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"Name": "WEB SERVERS"}, "A certificate store container named Web servers already exists"),
        ({"Name": "  web servers "}, "A certificate store container named Web servers already exists"),
        ({"Name": None}, "Name is required"),
        ({"Name": "  "}, "Name is required"),
        ({"Name": 7}, "Name must be a string"),
        ({"Name": "x" * 256}, "at most 255 characters"),
        ({"Name": "a\nb"}, "control characters"),
        ({"CertStoreType": None}, "CertStoreType is required"),
        ({"CertStoreType": 99}, "CertStoreType 99 is not a certificate store type"),
        ({"CertStoreType": "PEM"}, 'CertStoreType must be an integer, not "PEM"'),
        ({"CertStoreType": 2**40}, "CertStoreType must be an integer"),
        ({"OverwriteSchedules": "yes"}, "OverwriteSchedules must be true or false"),
        ({"Schedule": {"Interval": {"Minutes": 0}}}, "Schedule is not valid: Interval.Minutes"),
        ({"Schedule": {"Immediate": True, "Interval": {"Minutes": 5}}}, "exactly one of"),
        ({"Schedule": {}}, "exactly one of"),
        ({"Schedule": {"Hourly": True}}, "Unknown schedule kind"),
        ({"Schedule": "I_60"}, "A schedule must be an object"),
        ({"Id": "seven"}, 'Id must be an integer, not "seven"'),
    ],
)
def test_a_bad_create_is_refused_and_changes_nothing(
    client: TestClient, engine: Engine, fields: dict[str, Any], fragment: str
) -> None:
    create(client)
    before = snapshot(engine)

    response = client.post(URL, json={"Name": "Other", "CertStoreType": PEM, **fields})

    assert_refused(response, 400, INVALID, fragment)
    assert snapshot(engine) == before


@pytest.mark.parametrize("payload", ["[]", "null", "not json", '"text"'])
def test_a_body_that_is_not_an_object_is_refused(client: TestClient, engine: Engine, payload: str) -> None:
    before = snapshot(engine)
    for method in ("POST", "PUT"):
        response = client.request(method, URL, content=payload, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, response.text
    assert snapshot(engine) == before


def test_updates_a_container(client: TestClient) -> None:
    container = create(client, Schedule=HOURLY)

    renamed = client.put(URL, json={"Id": container["Id"], "Name": "web SERVERS", "CertStoreType": JKS})

    assert renamed.status_code == 200, renamed.text
    # What the body leaves out stays as it is.
    assert renamed.json() == {**container, "Name": "web SERVERS", "CertStoreType": JKS}
    cleared = client.put(URL, json={"id": str(container["Id"]), "name": "Web", "schedule": {"off": True}}).json()
    assert "Schedule" not in cleared
    assert client.get(f"{URL}/{container['Id']}").json() == cleared


@pytest.mark.parametrize(
    ("fields", "status", "code", "fragment"),
    [
        ({"Id": None}, 400, INVALID, "Id is required"),
        ({"Id": 41}, 404, NOT_FOUND, "Certificate store container 41 was not found"),
        ({"Name": "mail"}, 400, INVALID, "A certificate store container named Mail already exists"),
        ({"Name": ""}, 400, INVALID, "Name is required"),
        ({"CertStoreType": 99}, 400, INVALID, "CertStoreType 99 is not a certificate store type"),
        ({"CertStoreType": JKS}, 400, INVALID, "holds stores of store type 2; its CertStoreType cannot become 1"),
        ({"Schedule": {"Daily": {"Time": "at eight"}}}, 400, INVALID, "Invalid schedule Time"),
        ({"OverwriteSchedules": 1}, 400, INVALID, "OverwriteSchedules must be true or false"),
    ],
)
def test_a_bad_update_is_refused_and_changes_nothing(
    client: TestClient, engine: Engine, fields: dict[str, Any], status: int, code: str, fragment: str
) -> None:
    add_agent(engine)
    container = create(client, Schedule=HOURLY)
    create(client, Name="Mail")
    put_in(engine, container["Id"], add_store(engine, WEB))
    before = snapshot(engine)

    response = client.put(
        URL, json={"Id": container["Id"], "Name": "Web servers", "OverwriteSchedules": True, **fields}
    )

    assert_refused(response, status, code, fragment)
    assert snapshot(engine) == before


# -- the stores' inventory schedules ---------------------------------------------------------------


def test_a_container_that_overwrites_schedules_gives_its_stores_its_inventory_schedule(
    client_at_now: TestClient, engine: Engine
) -> None:
    add_agent(engine)
    container = create(client_at_now, Schedule=HOURLY)
    bare = add_store(engine, WEB, path="/etc/ssl/bare.pem")
    daily = add_store(engine, WEB, path="/etc/ssl/daily.pem")
    outside = add_store(engine, WEB, path="/etc/ssl/outside.pem")
    put_in(engine, container["Id"], bare, daily)
    old = add_job(
        engine,
        WEB,
        next_run_at=BASE_TIME,
        requested_at=BASE_TIME,
        schedule=DAILY,
        store_id=daily,
        target_path="/etc/ssl/daily.pem",
    )
    untouched = add_job(engine, WEB, next_run_at=BASE_TIME, requested_at=BASE_TIME, schedule=DAILY, store_id=outside)

    # Without OverwriteSchedules the stores keep their own schedules.
    client_at_now.put(URL, json={"Id": container["Id"], "Name": "Web servers", "Schedule": HOURLY})
    assert set(inventory_jobs(engine)) == {daily, outside}

    response = client_at_now.put(URL, json={"Id": container["Id"], "Name": "Web servers", "OverwriteSchedules": True})

    assert response.status_code == 200, response.text
    jobs = inventory_jobs(engine)
    assert set(jobs) == {bare, daily, outside}
    for store_id, path in ((bare, "/etc/ssl/bare.pem"), (daily, "/etc/ssl/daily.pem")):
        job = jobs[store_id]
        assert json.loads(job["schedule"]) == HOURLY and job["schedule_type"] == "I_60"
        assert job["next_run_at"] == NOW and job["agent_id"] == WEB and job["target_path"] == path
        assert job["capability"] == "CertStores.PEM.Inventory" and job["job_type_guid"] is None
        assert job["running_history_id"] is None and job["retry_count"] == 0
    assert jobs[daily]["id"] == old and jobs[bare]["requested_at"] == NOW
    assert jobs[outside]["id"] == untouched and jobs[outside]["next_run_at"] == BASE_TIME


def test_a_store_that_has_the_schedule_already_keeps_its_next_run(client_at_now: TestClient, engine: Engine) -> None:
    add_agent(engine)
    container = create(client_at_now, Schedule=DAILY, OverwriteSchedules=True)
    store_id = add_store(engine, WEB)
    put_in(engine, container["Id"], store_id)
    add_job(engine, WEB, next_run_at=BASE_TIME, requested_at=BASE_TIME, schedule=DAILY, store_id=store_id)

    response = client_at_now.put(URL, json={"Id": container["Id"], "Name": "Renamed"})

    assert response.status_code == 200, response.text
    assert inventory_jobs(engine)[store_id]["next_run_at"] == BASE_TIME


def test_turning_the_schedule_off_ends_the_stores_inventory_jobs(client_at_now: TestClient, engine: Engine) -> None:
    add_agent(engine)
    container = create(client_at_now, Schedule=HOURLY, OverwriteSchedules=True)
    idle, running = add_store(engine, WEB, path="/a.pem"), add_store(engine, WEB, path="/b.pem")
    put_in(engine, container["Id"], idle, running)
    client_at_now.put(URL, json={"Id": container["Id"], "Name": "Web servers"})
    run = add_history(engine, status=2, operation_end=None)
    with engine.begin() as conn:
        stmt = update(scheduled_job).where(scheduled_job.c.certificate_store_id == running)
        conn.execute(stmt.values(running_history_id=run))

    response = client_at_now.put(URL, json={"Id": container["Id"], "Name": "Web servers", "Schedule": {"Off": True}})

    assert response.status_code == 200, response.text
    # The running job stays until its run ends, with no next run: then it is deleted.
    [(store_id, job)] = inventory_jobs(engine).items()
    assert store_id == running and job["next_run_at"] is None and job["running_history_id"] == run


def test_a_store_type_with_its_own_inventory_job_type_hands_that_out(client_at_now: TestClient, engine: Engine) -> None:
    own = uuid.UUID("0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d")
    with engine.begin() as conn:
        pem = dict(
            conn.execute(select(certificate_store_type).where(certificate_store_type.c.id == PEM)).one()._mapping
        )
        # Not built in, so that the PostgreSQL reset between tests (which keeps built-in types) deletes it.
        custom = {**pem, "id": 100, "name": "F5 SSL Profiles", "short_name": "F5-SL", "capability": "F5-SL"}
        custom["built_in"] = False
        conn.execute(insert(certificate_store_type).values({**custom, "inventory_job_type": own}))
    add_agent(engine)
    container = create(client_at_now, CertStoreType=100, Schedule=DAILY)
    store_id = add_store(engine, WEB, store_type_id=100)
    put_in(engine, container["Id"], store_id)

    client_at_now.put(URL, json={"Id": container["Id"], "Name": "Web servers", "OverwriteSchedules": True})

    job = inventory_jobs(engine)[store_id]
    assert job["capability"] == "CertStores.F5-SL.Inventory" and job["job_type_guid"] == own
    assert job["schedule_type"] == "D_02:30" and job["next_run_at"] == datetime(2026, 12, 1, 2, 30, tzinfo=UTC)
    assert own != capability_guid("CertStores.F5-SL.Inventory")


def test_many_stores_get_their_schedule_in_chunks(client_at_now: TestClient, engine: Engine) -> None:
    add_agent(engine)
    container = create(client_at_now, Schedule=HOURLY)
    rows = [
        {
            "id": uuid.uuid4(),
            "agent_id": WEB,
            "store_type_id": PEM,
            "client_machine": "web01.example.com",
            "store_path": f"/etc/ssl/{index}.pem",
            "container_id": container["Id"],
            "approved": True,
            "create_if_missing": False,
        }
        for index in range(1201)
    ]
    with engine.begin() as conn:
        conn.execute(insert(certificate_store), rows)

    client_at_now.put(URL, json={"Id": container["Id"], "Name": "Web servers", "OverwriteSchedules": True})

    assert set(inventory_jobs(engine)) == {row["id"] for row in rows}
    assert client_at_now.get(URL).json()[0]["StoreCount"] == 1201


# -- delete ----------------------------------------------------------------------------------------


def test_deletes_an_empty_container(client: TestClient) -> None:
    container = create(client)

    response = client.delete(f"{URL}/{container['Id']}")

    assert response.status_code == 204 and response.content == b""
    assert client.get(URL).json() == []
    assert_refused(client.get(f"{URL}/{container['Id']}"), 404, NOT_FOUND, "was not found")


def test_a_container_with_stores_cannot_be_deleted(client: TestClient, engine: Engine) -> None:
    add_agent(engine)
    container = create(client)
    put_in(engine, container["Id"], add_store(engine, WEB, path="/a.pem"), add_store(engine, WEB, path="/b.pem"))
    before = snapshot(engine)

    response = client.delete(f"{URL}/{container['Id']}")

    assert_refused(response, 400, INVALID, "Container Web servers holds 2 certificate stores")
    assert snapshot(engine) == before
