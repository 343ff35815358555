"""/KeyfactorAPI/JobTypes/Custom: custom job types listed, read, created, updated and deleted through HTTP, their
refusals, and that the built-in job types stay out of reach; on both databases."""

import threading
import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select
from starlette.testclient import TestClient

from orchjobs.errors import InvalidRequestError
from orchjobs.service import job_types
from orchjobs.store.tables import agent, job_history, job_type, job_type_field, scheduled_job
from tests.factories import BASE_TIME, add_history, add_job

URL = "/KeyfactorAPI/JobTypes/Custom"
INVALID = "0xA0110001"
NOT_FOUND = "0xA0110014"
FETCH_LOGS_ID = "0d8cf0c8-56ca-4b8a-b16a-c062018e170d"
INVENTORY_ID = "4f0c9a52-8d0e-5a55-9d1b-6a1a4b3f0a01"
RESTART = {
    "JobTypeName": "RestartWebService",
    "Description": "Restarts the web server after a certificate change.",
    "JobTypeFields": [
        {"Name": "ServiceName", "Type": "String", "DefaultValue": "W3SVC", "Required": True},
        {"Name": "Delay Seconds", "Type": "int", "DefaultValue": " 30 "},
        {"Name": "NotBefore", "Type": "DateTime", "DefaultValue": "2026-01-31T08:30:00+01:00"},
        {"Name": "Force", "Type": 4, "DefaultValue": "True", "Required": False},
        {"Name": "Comment", "Type": 1},
    ],
}
RESTART_FIELDS = [
    {"Name": "ServiceName", "Type": 1, "DefaultValue": "W3SVC", "Required": True},
    {"Name": "Delay Seconds", "Type": 2, "DefaultValue": "30", "Required": False},
    {"Name": "NotBefore", "Type": 3, "DefaultValue": "2026-01-31T07:30:00Z", "Required": False},
    {"Name": "Force", "Type": 4, "DefaultValue": "true", "Required": False},
    {"Name": "Comment", "Type": 1, "Required": False},
]


def create(client: TestClient, **overrides: Any) -> dict[str, Any]:
    response = client.post(URL, json={**RESTART, **overrides})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def snapshot(engine: Engine) -> tuple[Any, ...]:
    """Every row the job-type routes could touch, to prove that a refusal changed nothing."""
    with engine.connect() as conn:
        tables = (job_type, job_type_field, scheduled_job, job_history)
        return tuple(sorted(map(repr, conn.execute(select(table)).all())) for table in tables)


def assert_refused(response: Any, status: int, code: str, fragment: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["ErrorCode"] == code
    assert fragment in response.json()["Message"], response.json()["Message"]


def add_agent(engine: Engine) -> uuid.UUID:
    agent_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(insert(agent).values(id=agent_id, client_machine="web01", username="svc", last_seen=BASE_TIME))
    return agent_id


# -- create and read ------------------------------------------------------------------------------


def test_creates_a_job_type_in_commands_shape(client: TestClient) -> None:
    created = create(client)

    assert uuid.UUID(created["Id"])
    assert created == {
        "Id": created["Id"],
        "JobTypeName": "RestartWebService",
        "Description": "Restarts the web server after a certificate change.",
        "JobTypeFields": RESTART_FIELDS,
    }
    assert client.get(f"{URL}/{created['Id']}").json() == created
    assert client.get(URL).json() == [created]


def test_keys_are_matched_case_insensitively_and_description_and_fields_are_optional(client: TestClient) -> None:
    # The v11 SDK sends camelCase.
    created = create(client, JobTypeName="Ping", Description=None, JobTypeFields=None)
    assert created["Description"] == "" and created["JobTypeFields"] == []
    camel = client.post(
        URL, json={"jobTypeName": "Pong", "jobTypeFields": [{"name": "n", "type": 2, "required": True}]}
    )
    assert camel.status_code == 200, camel.text
    assert camel.json()["JobTypeFields"] == [{"Name": "n", "Type": 2, "Required": True}]


def test_the_built_in_job_types_are_neither_listed_nor_managed(client: TestClient, engine: Engine) -> None:
    before = snapshot(engine)

    assert client.get(URL).json() == []
    for built_in in (FETCH_LOGS_ID, INVENTORY_ID):
        assert_refused(client.get(f"{URL}/{built_in}"), 404, NOT_FOUND, "was not found")
        assert_refused(client.delete(f"{URL}/{built_in}"), 404, NOT_FOUND, "was not found")
        response = client.put(URL, json={"Id": built_in, "JobTypeName": "Renamed"})
        assert_refused(response, 404, NOT_FOUND, "was not found")
    assert snapshot(engine) == before


def test_an_unknown_or_malformed_id_is_refused(client: TestClient) -> None:
    unknown = uuid.uuid4()
    assert_refused(client.get(f"{URL}/{unknown}"), 404, NOT_FOUND, f"Custom job type {unknown} was not found")
    assert_refused(client.delete(f"{URL}/{unknown}"), 404, NOT_FOUND, "was not found")
    assert_refused(client.get(f"{URL}/not-a-guid"), 400, INVALID, "a GUID is expected")
    assert_refused(client.delete(f"{URL}/42"), 400, INVALID, "a GUID is expected")


# -- the list ------------------------------------------------------------------------------------


def arrange_three(client: TestClient) -> dict[str, str]:
    return {
        name: create(client, JobTypeName=name, Description=description, JobTypeFields=[])["Id"]
        for name, description in (
            ("HsmKeyAudit", "Lists the keys of an HSM partition."),
            ("restartWebService", "Restarts the web server."),
            ("ClearCache", "Empties the web server's cache."),
        )
    }


def names_of(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["JobTypeName"] for item in response.json()]


def test_lists_by_query_sort_and_page(client: TestClient) -> None:
    ids = arrange_three(client)
    by_query = {
        'JobTypeName -eq "HSMKEYAUDIT"': ["HsmKeyAudit"],
        'Name -startswith "restart"': ["restartWebService"],
        'Description -contains "web server"': ["ClearCache", "restartWebService"],
        f'Id -eq "{ids["ClearCache"]}"': ["ClearCache"],
        f"JobTypeId -ne {ids['ClearCache']}": ["HsmKeyAudit", "restartWebService"],
        'JobTypeName -endswith "audit" OR Description -eq "nothing"': ["HsmKeyAudit"],
    }
    for query, expected in by_query.items():
        assert names_of(client.get(URL, params={"pq.queryString": query})) == expected, query

    assert names_of(client.get(URL)) == ["ClearCache", "HsmKeyAudit", "restartWebService"]  # JobTypeName
    descending = client.get(URL, params={"SortField": "Description", "SortAscending": 1})
    assert names_of(descending) == ["restartWebService", "HsmKeyAudit", "ClearCache"]
    page = client.get(URL, params={"pq.sortField": "Description", "pq.returnLimit": 2, "pq.pageReturned": 2})
    assert names_of(page) == ["restartWebService"]


@pytest.mark.parametrize(
    ("params", "code", "fragment"),
    [
        ({"pq.queryString": 'Nope -eq "x"'}, "0xA0110040", "unknown field 'Nope' for JobTypes"),
        ({"pq.queryString": "Id -eq 42"}, "0xA0110040", "GUID"),
        ({"pq.sortField": "Fields"}, "0xA011004A", "Invalid sort field: Fields."),
        ({"pq.returnLimit": "0"}, INVALID, "ReturnLimit must be between"),
    ],
)
def test_bad_list_parameters_are_refused(client: TestClient, params: dict[str, str], code: str, fragment: str) -> None:
    assert_refused(client.get(URL, params=params), 400, code, fragment)


# -- refusals of a create --------------------------------------------------------------------------

TOO_LONG = "J" * 129


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"JobTypeName": "RestartWebService"}, "A job type named RestartWebService already exists"),
        ({"JobTypeName": "RESTARTwebSERVICE"}, "A job type named RestartWebService already exists"),
        ({"JobTypeName": "inventory"}, "A job type named Inventory already exists"),
        ({"JobTypeName": "FETCHLOGS"}, "A job type named FetchLogs already exists"),
        ({"JobTypeName": "Restart Web"}, "must not contain spaces"),
        ({"JobTypeName": " Padded"}, "must not contain spaces"),
        ({"JobTypeName": "Tab\there"}, "must not contain spaces"),
        ({"JobTypeName": "Prüfung"}, "printable ASCII"),
        ({"JobTypeName": ""}, "JobTypeName is required"),
        ({"JobTypeName": None}, "JobTypeName is required"),
        ({"JobTypeName": 7}, "JobTypeName must be a string"),
        ({"JobTypeName": TOO_LONG}, "at most 128 characters"),
        ({"Description": "d" * 4001}, "Description may be at most 4000 characters"),
        ({"Description": "nul\u0000"}, "holds a NUL character"),  # refused before the route reads it
        ({"JobTypeFields": [{"Name": "x", "Type": "Float"}]}, 'JobTypeFields[0].Type "Float" is not a field type'),
        ({"JobTypeFields": [{"Name": "x", "Type": 5}]}, "JobTypeFields[0].Type 5 is not a field type"),
        ({"JobTypeFields": [{"Name": "x", "Type": 0}]}, "JobTypeFields[0].Type 0 is not a field type"),
        ({"JobTypeFields": [{"Name": "x", "Type": True}]}, "JobTypeFields[0].Type is required"),
        ({"JobTypeFields": [{"Name": "x"}]}, "JobTypeFields[0].Type is required"),
        ({"JobTypeFields": [{"Type": 1}]}, "JobTypeFields[0].Name is required"),
        ({"JobTypeFields": [{"Name": " ", "Type": 1}]}, "JobTypeFields[0].Name is required"),
        ({"JobTypeFields": [{"Name": "a\nb", "Type": 1}]}, "contains a control character"),
        ({"JobTypeFields": [{"Name": "x", "Type": 1, "Required": "maybe"}]}, "Required must be true or false"),
        ({"JobTypeFields": [{"Name": "x", "Type": 1, "DefaultValue": {}}]}, "DefaultValue must be text"),
        ({"JobTypeFields": [{"Name": "Port", "Type": "Int", "DefaultValue": "abc"}]}, '.DefaultValue "abc" is not'),
        ({"JobTypeFields": [{"Name": "Port", "Type": 2, "DefaultValue": 1.5}]}, "DefaultValue 1.5 is not a whole"),
        ({"JobTypeFields": [{"Name": "Port", "Type": 2, "DefaultValue": 2**31}]}, "from -2147483648 to 2147483647"),
        ({"JobTypeFields": [{"Name": "On", "Type": "Bool", "DefaultValue": "yes"}]}, '"yes" is not true or false'),
        ({"JobTypeFields": [{"Name": "At", "Type": 3, "DefaultValue": "31/01/2026"}]}, "is not an ISO 8601 date"),
        ({"JobTypeFields": [{"Name": "At", "Type": 3, "DefaultValue": 5}]}, "is not an ISO 8601 date"),
        ({"JobTypeFields": [{"Name": "At", "Type": 3, "DefaultValue": "0001-01-01T00:00:00+01:00"}]}, "not an ISO"),
        ({"JobTypeFields": [{"Name": "S", "Type": 1, "DefaultValue": "a\u0000b"}]}, "holds a NUL character"),
        (
            {"JobTypeFields": [{"Name": "Host", "Type": 1}, {"Name": "HOST", "Type": 2}]},
            'JobTypeFields[1].Name "HOST" is declared twice',
        ),
        ({"JobTypeFields": [{"Name": f"f{n}", "Type": 1} for n in range(101)]}, "at most 100 fields"),
        ({"JobTypeFields": {"Name": "x", "Type": 1}}, "JobTypeFields must be an array"),
        ({"JobTypeFields": ["x"]}, "JobTypeFields[0] must be an object"),
    ],
)
def test_an_invalid_job_type_is_refused_and_nothing_changes(
    client: TestClient, engine: Engine, body: dict[str, Any], fragment: str
) -> None:
    create(client)
    before = snapshot(engine)

    response = client.post(URL, json={**RESTART, **body})

    assert_refused(response, 400, INVALID, fragment)
    assert snapshot(engine) == before


def test_every_problem_of_the_fields_is_named_at_once(client: TestClient, engine: Engine) -> None:
    fields = [
        {"Name": "Port", "Type": "Int", "DefaultValue": "eighty"},
        {"Name": "Mode", "Type": "Enum"},
        {"Name": "port", "Type": 1},
    ]
    before = snapshot(engine)
    message = client.post(URL, json={"JobTypeName": "Check", "JobTypeFields": fields}).json()["Message"]
    assert 'JobTypeFields[0].DefaultValue "eighty"' in message
    assert 'JobTypeFields[1].Type "Enum"' in message
    assert 'JobTypeFields[2].Name "port" is declared twice' in message
    assert snapshot(engine) == before


@pytest.mark.parametrize("raw", [b"[]", b"not json", b'"RestartWebService"'])
def test_a_body_that_is_not_a_json_object_is_refused(client: TestClient, raw: bytes) -> None:
    response = client.post(URL, content=raw, headers={"content-type": "application/json"})
    assert_refused(response, 400, INVALID, "")
    assert client.get(URL).json() == []


# -- update ----------------------------------------------------------------------------------------


def test_updates_name_description_and_fields(client: TestClient) -> None:
    created = create(client)
    new_fields = [{"Name": "Host", "Type": "String", "Required": True}, {"Name": "ServiceName", "Type": 1}]

    response = client.put(
        URL,
        json={"Id": created["Id"], "JobTypeName": "RestartService", "Description": "new", "JobTypeFields": new_fields},
    )

    assert response.status_code == 200, response.text
    expected = {
        "Id": created["Id"],
        "JobTypeName": "RestartService",
        "Description": "new",
        "JobTypeFields": [
            {"Name": "Host", "Type": 1, "Required": True},
            {"Name": "ServiceName", "Type": 1, "Required": False},
        ],
    }
    assert response.json() == expected
    assert client.get(f"{URL}/{created['Id']}").json() == expected


def test_an_update_keeps_what_it_leaves_out(client: TestClient) -> None:
    created = create(client)

    renamed = client.put(URL, json={"id": created["Id"], "jobTypeName": "restartwebservice"}).json()
    assert renamed == {**created, "JobTypeName": "restartwebservice"}  # a change of case is a rename too

    emptied = client.put(URL, json={"Id": created["Id"], "JobTypeName": "R", "JobTypeFields": []}).json()
    assert emptied["JobTypeFields"] == [] and emptied["Description"] == created["Description"]


def test_an_invalid_update_is_refused_and_nothing_changes(client: TestClient, engine: Engine) -> None:
    created = create(client)
    create(client, JobTypeName="Other")
    before = snapshot(engine)
    unknown = str(uuid.uuid4())
    cases = [
        ({"Id": created["Id"], "JobTypeName": "OTHER"}, 400, INVALID, "A job type named Other already exists"),
        ({"Id": created["Id"], "JobTypeName": "Management"}, 400, INVALID, "named Management already exists"),
        ({"Id": created["Id"], "JobTypeName": "a b"}, 400, INVALID, "must not contain spaces"),
        (
            {"Id": created["Id"], "JobTypeName": "X", "JobTypeFields": [{"Name": "n", "Type": "Decimal"}]},
            400,
            INVALID,
            'Type "Decimal" is not a field type',
        ),
        ({"Id": unknown, "JobTypeName": "X"}, 404, NOT_FOUND, f"Custom job type {unknown} was not found"),
        ({"JobTypeName": "X"}, 400, INVALID, "Id is required"),
        ({"Id": "web01", "JobTypeName": "X"}, 400, INVALID, 'Id is required: the custom job type\'s GUID; got "web01"'),
    ]
    for body, status, code, fragment in cases:
        assert_refused(client.put(URL, json=body), status, code, fragment)
    assert snapshot(engine) == before


def test_a_rename_carries_the_scheduled_jobs_and_leaves_history_as_it_was(client: TestClient, engine: Engine) -> None:
    created = create(client)
    agent_id = add_agent(engine)
    job_id = add_job(
        engine,
        agent_id,
        next_run_at=BASE_TIME,
        requested_at=BASE_TIME,
        type_name="RestartWebService",
        capability="Custom.RestartWebService",
    )
    run = add_history(engine, job_id=job_id, job_type="RestartWebService")

    assert client.put(URL, json={"Id": created["Id"], "JobTypeName": "Restart"}).status_code == 200

    with engine.connect() as conn:
        job = conn.execute(select(scheduled_job).where(scheduled_job.c.id == job_id)).one()
        history = conn.execute(select(job_history.c.job_type).where(job_history.c.id == run)).scalar_one()
    assert (str(job.job_type_id), job.capability) == (created["Id"], "Custom.Restart")
    assert history == "RestartWebService"


# -- delete ----------------------------------------------------------------------------------------


def test_deletes_a_job_type_and_its_fields(client: TestClient, engine: Engine) -> None:
    created = create(client)
    kept = create(client, JobTypeName="Kept")

    response = client.delete(f"{URL}/{created['Id']}")

    assert response.status_code == 204 and response.content == b""
    assert client.get(URL).json() == [kept]
    with engine.connect() as conn:
        owners = set(conn.execute(select(job_type_field.c.job_type_id)).scalars())
    assert {str(owner) for owner in owners} == {kept["Id"]}
    assert_refused(client.delete(f"{URL}/{created['Id']}"), 404, NOT_FOUND, "was not found")


def test_a_job_type_in_use_cannot_be_deleted(client: TestClient, engine: Engine) -> None:
    created = create(client)
    agent_id = add_agent(engine)
    job_ids = sorted(
        str(
            add_job(
                engine,
                agent_id,
                next_run_at=BASE_TIME,
                requested_at=BASE_TIME,
                type_name="RestartWebService",
                capability="Custom.RestartWebService",
            )
        )
        for _ in range(7)
    )
    before = snapshot(engine)

    response = client.delete(f"{URL}/{created['Id']}")

    assert_refused(response, 400, INVALID, "Job type RestartWebService is used by 7 scheduled jobs (")
    message = response.json()["Message"]
    assert all(job_id in message for job_id in job_ids[:5]) and ", …)" in message
    assert not any(job_id in message for job_id in job_ids[5:])
    assert "Unschedule" in message
    assert snapshot(engine) == before


def test_a_job_type_that_only_history_names_can_be_deleted(client: TestClient, engine: Engine) -> None:
    created = create(client)
    add_history(engine, job_type="RestartWebService")
    assert client.delete(f"{URL}/{created['Id']}").status_code == 204
    with engine.connect() as conn:
        assert conn.execute(select(job_history.c.job_type)).scalars().all() == ["RestartWebService"]


# -- concurrency ---------------------------------------------------------------------------------


def test_simultaneous_creates_of_one_name_in_different_cases_make_one_type(engine: Engine) -> None:
    """The catalogue lock makes creates take turns (PostgreSQL; SQLite's BEGIN IMMEDIATE does it anyway)."""
    names = ["Reboot", "REBOOT", "reboot", "ReBoot", "rEBOOT", "REboot"]
    barrier = threading.Barrier(len(names))
    outcomes: list[str] = []

    def create_one(name: str) -> None:
        barrier.wait()
        try:
            job_types.create_job_type(engine, job_types.JobTypeRequest(name=name))
            outcomes.append("created")
        except InvalidRequestError as exc:
            outcomes.append(exc.message)

    threads = [threading.Thread(target=create_one, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("created") == 1
    assert all("already exists" in outcome for outcome in outcomes if outcome != "created")
    with engine.connect() as conn:
        assert len(conn.execute(select(job_type.c.id).where(job_type.c.is_custom.is_(True))).all()) == 2  # +FetchLogs
