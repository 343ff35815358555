"""POST /KeyfactorAPI/OrchestratorJobs/Custom and /Custom/Bulk: custom jobs (and FetchLogs) scheduled through HTTP,
what they store, their refusals, and that an orchestrator is then handed the job and its fields; on both databases."""

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select
from starlette.testclient import TestClient

from orchjobs.domain.capabilities import capability_guid
from orchjobs.settings import Settings
from orchjobs.store.tables import agent, agent_capability, job_history, job_type, job_type_field, scheduled_job
from tests.conftest import api_client

URL = "/KeyfactorAPI/OrchestratorJobs/Custom"
BULK = f"{URL}/Bulk"
JOB_TYPES = "/KeyfactorAPI/JobTypes/Custom"
NOW = datetime(2026, 11, 29, 9, 30, tzinfo=UTC)  # a Sunday
INVALID = "0xA0110001"
CAPABILITY = "Custom.RestartWebService"
RESTART = {
    "JobTypeName": "RestartWebService",
    "Description": "Restarts the web server after a certificate change.",
    "JobTypeFields": [
        {"Name": "ServiceName", "Type": "String", "DefaultValue": "W3SVC", "Required": True},
        {"Name": "Delay Seconds", "Type": "Int"},
        {"Name": "NotBefore", "Type": "DateTime"},
        {"Name": "Force", "Type": "Bool", "DefaultValue": "false"},
        {"Name": "Host", "Type": "String", "Required": True},
    ],
}


@pytest.fixture
def admin(settings: Settings) -> Iterator[TestClient]:
    """The administrator's client on an app whose clock stands at NOW, with the RestartWebService job type."""
    with api_client(settings, clock=lambda: NOW) as client:
        assert client.post(JOB_TYPES, json=RESTART).status_code == 200
        yield client


def add_agent(engine: Engine, *capabilities: str, status: int = 2, name: str = "web01.corp.example.com") -> str:
    agent_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(
            insert(agent).values(id=agent_id, client_machine=name, username="svc", status=status, last_seen=NOW)
        )
        if capabilities:
            conn.execute(insert(agent_capability), [{"agent_id": agent_id, "capability": c} for c in capabilities])
    return str(agent_id)


def jobs(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(scheduled_job).order_by(scheduled_job.c.requested_at, scheduled_job.c.id)))


def snapshot(engine: Engine) -> tuple[Any, ...]:
    """Every row scheduling could touch, to prove that a refusal changed nothing."""
    with engine.connect() as conn:
        tables = (scheduled_job, job_history, job_type, job_type_field, agent, agent_capability)
        return tuple(sorted(map(repr, conn.execute(select(table)).all())) for table in tables)


def assert_refused(response: Any, fragment: str, *, status: int = 400, code: str = INVALID) -> None:
    assert response.status_code == status, response.text
    assert response.json()["ErrorCode"] == code
    assert fragment in response.json()["Message"], response.json()["Message"]


def job_request(agent_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"AgentId": agent_id, "JobTypeName": "RestartWebService", "JobFields": {"Host": "web01"}}
    body.update(overrides)
    return body


# -- one orchestrator ------------------------------------------------------------------------------


def test_schedules_a_custom_job_and_answers_a_job_response(admin: TestClient, engine: Engine) -> None:
    agent_id = add_agent(engine, CAPABILITY)
    fields = {"host": "web01", "Delay Seconds": "15", "NotBefore": "2026-12-01T10:00:00+01:00", "Force": "TRUE"}

    response = admin.post(URL, json=job_request(agent_id, JobTypeName="restartwebservice", JobFields=fields))

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer == {
        "JobId": answer["JobId"],
        "OrchestratorId": agent_id,
        "JobTypeName": "RestartWebService",
        "Schedule": {"Immediate": True},
        "JobFields": [
            {"JobTypeField": "ServiceName", "Value": "W3SVC"},
            {"JobTypeField": "Delay Seconds", "Value": "15"},
            {"JobTypeField": "NotBefore", "Value": "2026-12-01T09:00:00Z"},
            {"JobTypeField": "Force", "Value": "true"},
            {"JobTypeField": "Host", "Value": "web01"},
        ],
        "RequestTimestamp": "2026-11-29T09:30:00Z",
    }
    (job,) = jobs(engine)
    assert (str(job.id), str(job.agent_id), job.capability) == (answer["JobId"], agent_id, CAPABILITY)
    assert json.loads(job.schedule) == {"Immediate": True} and job.schedule_type is None
    assert (job.requested_at, job.next_run_at, job.certificate_store_id, job.target_path) == (NOW, NOW, None, None)
    assert json.loads(job.fields) == {
        "ServiceName": "W3SVC",
        "Delay Seconds": "15",
        "NotBefore": "2026-12-01T09:00:00Z",
        "Force": "true",
        "Host": "web01",
    }
    assert (job.priority, job.retry_count, job.running_history_id) == (5, 0, None)


def test_json_scalars_are_read_as_their_text_as_keyfactors_sample_sends_them(admin: TestClient, engine: Engine) -> None:
    agent_id = add_agent(engine, "custom.restartwebservice")  # capabilities match in any case
    fields = {"Host": 42, "Delay Seconds": 1, "Force": True, "ServiceName": 2.5, "NotBefore": None}

    answer = admin.post(URL, json=job_request(agent_id, JobFields=fields)).json()

    assert answer["JobFields"] == [
        {"JobTypeField": "ServiceName", "Value": "2.5"},
        {"JobTypeField": "Delay Seconds", "Value": "1"},
        {"JobTypeField": "Force", "Value": "true"},
        {"JobTypeField": "Host", "Value": "42"},
    ]


# (schedule sent, schedule stored and answered, ScheduleType, first run)
SCHEDULES = [
    (None, {"Immediate": True}, None, NOW),
    ({"Immediate": True}, {"Immediate": True}, None, NOW),
    ({"Interval": {"Minutes": 15}}, {"Interval": {"Minutes": 15}}, "I_15", NOW),
    (
        {"daily": {"time": "2026-01-01T08:00:00Z"}},
        {"Daily": {"Time": "2026-01-01T08:00:00Z"}},
        "D_08:00",
        datetime(2026, 11, 30, 8, 0, tzinfo=UTC),
    ),
    (
        {"Weekly": {"Days": ["Friday", 1], "Time": "2026-12-01T08:00:00+01:00"}},
        {"Weekly": {"Days": [1, 5], "Time": "2026-12-01T07:00:00Z"}},
        "W_26_07:00",
        datetime(2026, 12, 4, 7, 0, tzinfo=UTC),
    ),
    (
        {"Monthly": {"Day": 31, "Time": "2026-01-01T23:45:00Z"}},
        {"Monthly": {"Day": 31, "Time": "2026-01-01T23:45:00Z"}},
        "M_31_23:45",
        datetime(2026, 11, 30, 23, 45, tzinfo=UTC),
    ),
    (
        {"ExactlyOnce": {"Time": "2026-12-24T18:00:00Z"}},
        {"ExactlyOnce": {"Time": "2026-12-24T18:00:00Z"}},
        "O_2026-12-24T18:00",
        datetime(2026, 12, 24, 18, 0, tzinfo=UTC),
    ),
]


@pytest.mark.parametrize(("sent", "stored", "compact", "first_run"), SCHEDULES)
def test_each_schedule_is_stored_canonically_with_its_type_and_first_run(
    admin: TestClient,
    engine: Engine,
    sent: dict[str, Any] | None,
    stored: dict[str, Any],
    compact: str | None,
    first_run: datetime,
) -> None:
    agent_id = add_agent(engine, CAPABILITY)
    body = job_request(agent_id) if sent is None else job_request(agent_id, Schedule=sent)

    answer = admin.post(URL, json=body).json()

    assert answer["Schedule"] == stored
    (job,) = jobs(engine)
    assert (json.loads(job.schedule), job.schedule_type, job.next_run_at) == (stored, compact, first_run)


MINUTE = {"Minutes": 5}
AT = "2026-12-01T08:00:00Z"


@pytest.mark.parametrize(
    ("schedule", "fragment"),
    [
        ({"Immediate": True, "Interval": MINUTE}, "exactly one of"),
        ({"Daily": {"Time": AT}, "Weekly": {"Days": [1], "Time": AT}}, "exactly one of"),
        ({}, "exactly one of"),
        ({"Immediate": False}, "exactly one of"),
        ({"Interval": {"Minutes": 0}}, "Interval.Minutes must be a whole number from 1 to 2147483647"),
        ({"Interval": {"Minutes": -5}}, "Interval.Minutes must be a whole number from 1 to 2147483647"),
        ({"Interval": {"Minutes": "5"}}, "Interval.Minutes must be a whole number from 1 to 2147483647"),
        ({"Weekly": {"Days": [7], "Time": AT}}, "Invalid day 7 in Weekly.Days"),
        ({"Weekly": {"Days": [-1], "Time": AT}}, "Invalid day -1 in Weekly.Days"),
        ({"Weekly": {"Days": [], "Time": AT}}, "Weekly.Days must list at least one day"),
        ({"Monthly": {"Day": 0, "Time": AT}}, "Monthly.Day must be a day of the month"),
        ({"Monthly": {"Day": 32, "Time": AT}}, "Monthly.Day must be a day of the month"),
        ({"Daily": {"Time": "tomorrow at eight"}}, "expected ISO 8601"),
        ({"ExactlyOnce": {"Time": "12/01/2026 08:00"}}, "expected ISO 8601"),
        ({"Daily": {}}, "The schedule needs a Time"),
        ({"Hourly": MINUTE}, "Unknown schedule kind 'Hourly'"),
        ({"Off": True}, "Off turns off a certificate store's schedule"),
        ("Daily", "A schedule must be an object"),
        ({"Interval": {"Minutes": 2**40}}, "Interval.Minutes must be a whole number from 1 to 2147483647"),
        ({"Daily": {"Time": "9999-12-31T23:59:00Z"}}, "its runs fall outside the years 1 to 9999"),
        ({"ExactlyOnce": {"Time": "0001-01-01T00:00:00+01:00"}}, "its runs fall outside the years 1 to 9999"),
    ],
)
def test_an_invalid_schedule_is_refused_and_nothing_changes(
    admin: TestClient, engine: Engine, schedule: Any, fragment: str
) -> None:
    agent_id = add_agent(engine, CAPABILITY)
    before = snapshot(engine)

    response = admin.post(URL, json=job_request(agent_id, Schedule=schedule))

    assert_refused(response, "Invalid Schedule: ")
    assert_refused(response, fragment)
    assert snapshot(engine) == before


@pytest.mark.parametrize(
    ("fields", "fragments"),
    [
        ({"Host": "web01", "Delay Seconds": "soon"}, ['"Delay Seconds" must be a whole number', 'not "soon"']),
        ({"Host": "web01", "Delay Seconds": 2.5}, ['"Delay Seconds" must be a whole number']),
        ({"Host": "web01", "Delay Seconds": 2**31}, ["from -2147483648 to 2147483647"]),
        ({"Host": "web01", "Force": "yes"}, ['"Force" must be true or false (Bool), not "yes"']),
        ({"Host": "web01", "Force": 1}, ['"Force" must be true or false']),
        ({"Host": "web01", "NotBefore": "next week"}, ['"NotBefore" must be an ISO 8601 date and time']),
        ({"Host": "web01", "Colour": "blue"}, ['"Colour" is not a field of RestartWebService']),
        ({}, ['"Host" is required']),
        ({"Host": " "}, ['"Host" is required']),
        ({"Host": None}, ['"Host" is required']),
        ({"Host": "a", "HOST": "b"}, ['"Host" is given twice']),
        (
            {"Delay Seconds": "x", "Nope": 1, "Force": "maybe"},
            ['"Delay Seconds" must be', '"Nope" is not a field', '"Force" must be', '"Host" is required'],
        ),
    ],
)
def test_invalid_job_fields_are_refused_each_problem_named(
    admin: TestClient, engine: Engine, fields: dict[str, Any], fragments: list[str]
) -> None:
    agent_id = add_agent(engine, CAPABILITY)
    before = snapshot(engine)

    response = admin.post(URL, json=job_request(agent_id, JobFields=fields))

    assert_refused(response, "JobFields are not valid for RestartWebService: ")
    for fragment in fragments:
        assert_refused(response, fragment)
    assert_refused(response, 'Its fields: "ServiceName", "Delay Seconds", "NotBefore", "Force", "Host".')
    assert snapshot(engine) == before


def test_requests_about_missing_or_unfit_things_are_refused(admin: TestClient, engine: Engine) -> None:
    approved = add_agent(engine, CAPABILITY)
    new = add_agent(engine, CAPABILITY, status=1)
    disapproved = add_agent(engine, CAPABILITY, status=3)
    incapable = add_agent(engine, "CertStores.PEM.Inventory", "Custom.RestartWebServiceNow")
    unknown = str(uuid.uuid4())
    before = snapshot(engine)
    cases = [
        (job_request(unknown), f"Orchestrator {unknown} was not found."),
        (job_request(new), f"Orchestrator {new} is New, not Approved; approve it"),
        (job_request(disapproved), f"Orchestrator {disapproved} is Disapproved, not Approved"),
        (job_request(incapable), f"Orchestrator {incapable} cannot run RestartWebService: it did not report the "),
        (job_request(incapable), "capability Custom.RestartWebService."),
        (job_request(approved, JobTypeName="Nonexistent"), '"Nonexistent" is not a custom job type'),
        (job_request(approved, JobTypeName="Inventory"), '"Inventory" is not a custom job type (nor FetchLogs)'),
        (job_request(approved, JobTypeName="Reenrollment"), '"Reenrollment" is not a custom job type'),
        # A NUL anywhere in a body is refused before the route reads it (docs/limits.md).
        (job_request(approved, JobTypeName="Restart\u0000"), "holds a NUL character"),
        (job_request(approved, JobTypeName="J" * 300), "is not a custom job type"),
        (job_request(approved, JobTypeName=""), "JobTypeName is required"),
        (job_request(approved, JobTypeName=None), "JobTypeName is required"),
        (job_request("web01"), 'AgentId is required: the orchestrator\'s GUID; got "web01"'),
        ({"JobTypeName": "RestartWebService"}, "AgentId is required"),
        (job_request(approved, JobFields=["Host"]), "JobFields must be an object"),
        (job_request(approved, JobFields={"Host": {"name": "web01"}}), 'not those of "Host"'),
    ]
    for body, fragment in cases:
        assert_refused(admin.post(URL, json=body), fragment)
    assert_refused(admin.post(URL, content=b"[1]", headers={"content-type": "application/json"}), "JSON object")
    assert snapshot(engine) == before


def test_fetch_logs_is_scheduled_by_name_on_an_orchestrator_that_can_fetch_logs(
    admin: TestClient, engine: Engine
) -> None:
    logs_only = add_agent(engine, "LOGS")
    custom_name = add_agent(engine, "custom.fetchlogs")
    cannot = add_agent(engine, CAPABILITY)

    first = admin.post(URL, json={"AgentId": logs_only, "JobTypeName": "fetchlogs"})
    second = admin.post(
        URL, json={"AgentId": custom_name, "JobTypeName": "FetchLogs", "JobFields": {"MaxCharactersToReturn": 500}}
    )

    assert first.status_code == 200, first.text
    assert (first.json()["JobTypeName"], first.json()["JobFields"]) == ("FetchLogs", [])
    assert second.json()["JobFields"] == [{"JobTypeField": "MaxCharactersToReturn", "Value": "500"}]
    assert {str(job.agent_id): (job.capability, json.loads(job.fields)) for job in jobs(engine)} == {
        logs_only: ("Custom.FetchLogs", {}),
        custom_name: ("Custom.FetchLogs", {"MaxCharactersToReturn": "500"}),
    }
    before = snapshot(engine)
    refused = admin.post(URL, json={"AgentId": cannot, "JobTypeName": "FetchLogs"})
    assert_refused(refused, "did not report the capability Custom.FetchLogs or LOGS")
    unknown_field = admin.post(URL, json={"AgentId": logs_only, "JobTypeName": "FetchLogs", "JobFields": {"Lines": 5}})
    assert_refused(unknown_field, '"Lines" is not a field of FetchLogs')
    assert snapshot(engine) == before


# -- many orchestrators ------------------------------------------------------------------------


def bulk_request(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "JobTypeName": "RestartWebService",
        "Schedule": {"Daily": {"Time": "2026-01-01T02:00:00Z"}},
        "JobFields": {"Host": "all"},
    }
    body.update(overrides)
    return body


def test_bulk_schedules_where_it_can_and_lists_the_rest(admin: TestClient, engine: Engine) -> None:
    good = [add_agent(engine, CAPABILITY, name=f"web0{n}") for n in range(3)]
    new = add_agent(engine, CAPABILITY, status=1)
    disapproved = add_agent(engine, CAPABILITY, status=3)
    incapable = add_agent(engine, "LOGS")
    unknown = str(uuid.uuid4())
    ids = [good[0], new, unknown, good[1], disapproved, incapable, good[2], good[0]]

    response = admin.post(BULK, json=bulk_request(OrchestratorIds=ids))

    assert response.status_code == 200, response.text
    answer = response.json()
    assert [pair["OrchestratorId"] for pair in answer["OrchestratorJobPairs"]] == good
    assert answer["FailedOrchestratorIds"] == [new, unknown, disapproved, incapable]
    assert {key: value for key, value in answer.items() if key not in ("OrchestratorJobPairs",)} == {
        "FailedOrchestratorIds": [new, unknown, disapproved, incapable],
        "JobTypeName": "RestartWebService",
        "Schedule": {"Daily": {"Time": "2026-01-01T02:00:00Z"}},
        "JobFields": [
            {"JobTypeField": "ServiceName", "Value": "W3SVC"},
            {"JobTypeField": "Force", "Value": "false"},
            {"JobTypeField": "Host", "Value": "all"},
        ],
        "RequestTimestamp": "2026-11-29T09:30:00Z",
    }
    stored = {str(job.id): job for job in jobs(engine)}
    assert {pair["JobId"]: pair["OrchestratorId"] for pair in answer["OrchestratorJobPairs"]} == {
        job_id: str(job.agent_id) for job_id, job in stored.items()
    }
    for job in stored.values():
        assert (job.capability, job.schedule_type, job.next_run_at) == (
            CAPABILITY,
            "D_02:00",
            datetime(2026, 11, 30, 2, 0, tzinfo=UTC),
        )
        assert json.loads(job.fields) == {"ServiceName": "W3SVC", "Force": "false", "Host": "all"}


def test_bulk_takes_a_query_over_orchestrators_as_well_as_ids(admin: TestClient, engine: Engine) -> None:
    web = [add_agent(engine, CAPABILITY, name=f"web0{n}.corp") for n in range(2)]
    web_new = add_agent(engine, CAPABILITY, status=1, name="web09.corp")
    db = add_agent(engine, CAPABILITY, name="db01.corp")
    add_agent(engine, CAPABILITY, name="mail01.corp")

    by_query = admin.post(BULK, json=bulk_request(Query='ClientMachine -startswith "web"')).json()
    assert sorted(pair["OrchestratorId"] for pair in by_query["OrchestratorJobPairs"]) == sorted(web)
    assert by_query["FailedOrchestratorIds"] == [web_new]

    both = admin.post(
        BULK, json=bulk_request(orchestratorIds=[db], query='ClientMachine -eq "web00.corp" AND Status -eq 2')
    ).json()
    assert [pair["OrchestratorId"] for pair in both["OrchestratorJobPairs"]] == [db, web[0]]
    assert both["FailedOrchestratorIds"] == []

    nothing = admin.post(BULK, json=bulk_request(Query='ClientMachine -eq "nowhere"')).json()
    assert (nothing["OrchestratorJobPairs"], nothing["FailedOrchestratorIds"]) == ([], [])
    assert len(jobs(engine)) == 4


def test_bulk_refuses_more_orchestrators_than_the_bound(settings: Settings, engine: Engine) -> None:
    agents = [add_agent(engine, CAPABILITY, name=f"web0{n}") for n in range(3)]
    with api_client(settings.model_copy(update={"max_bulk_ids": 2}), clock=lambda: NOW) as admin:
        assert admin.post(JOB_TYPES, json=RESTART).status_code == 200
        before = snapshot(engine)

        by_ids = admin.post(BULK, json=bulk_request(OrchestratorIds=agents))
        by_query = admin.post(BULK, json=bulk_request(Query="Status -eq 2"))
        together = admin.post(BULK, json=bulk_request(OrchestratorIds=agents[:1], Query='ClientMachine -ne "web00"'))
        within = admin.post(BULK, json=bulk_request(OrchestratorIds=agents[:2], Query='ClientMachine -eq "web01"'))

    assert_refused(by_ids, "OrchestratorIds may hold at most 2 ids.")
    assert_refused(by_query, "The request selects more than 2 orchestrators; narrow the Query")
    assert_refused(together, "The request selects more than 2 orchestrators")
    assert within.status_code == 200 and len(within.json()["OrchestratorJobPairs"]) == 2
    assert len(snapshot(engine)[0]) == len(before[0]) + 2


def test_an_invalid_bulk_request_is_refused_whole(admin: TestClient, engine: Engine) -> None:
    agent_id = add_agent(engine, CAPABILITY)
    before = snapshot(engine)
    cases = [
        (bulk_request(OrchestratorIds=[agent_id], JobFields={"Host": "x", "Force": "no"}), INVALID, '"Force" must be'),
        (bulk_request(OrchestratorIds=[agent_id], JobFields={}), INVALID, '"Host" is required'),
        (bulk_request(OrchestratorIds=[agent_id], Schedule={"Interval": {"Minutes": 0}}), INVALID, "Invalid Schedule"),
        (bulk_request(OrchestratorIds=[agent_id], JobTypeName="Inventory"), INVALID, "is not a custom job type"),
        (bulk_request(Query="Status -eq Busy"), "0xA0110040", "'Busy' is not a value of Status"),
        (bulk_request(Query="   "), INVALID, "Query must not be blank"),
        (bulk_request(), INVALID, "OrchestratorIds (at least one id) or a Query over orchestrators is required"),
        (bulk_request(OrchestratorIds=[]), INVALID, "OrchestratorIds (at least one id) or a Query"),
        (
            bulk_request(OrchestratorIds=["web01"]),
            INVALID,
            'OrchestratorIds must contain only GUID strings; not: "web01"',
        ),
        (bulk_request(OrchestratorIds=agent_id), INVALID, "OrchestratorIds must be an array"),
    ]
    for body, code, fragment in cases:
        assert_refused(admin.post(BULK, json=body), fragment, code=code)
    assert snapshot(engine) == before


# -- handed to the orchestrator ----------------------------------------------------------------

REGISTER = "/KeyfactorAgents/Session/Register"
HEARTBEAT = "/KeyfactorAgents/Session/Heartbeat"
CONFIGURATION = "/KeyfactorAgents/Jobs/Configuration"


def register(orchestrator: TestClient, *capabilities: str, agent_id: str = "") -> dict[str, Any]:
    """A Register call as the C agent makes it (agent-protocol.md §4.1); the Session it answers."""
    body = {
        "AgentPlatform": 5,
        "AgentVersion": 563031557799936,
        "ClientMachine": "web01.corp.example.com",
        "AgentId": agent_id,
        "Capabilities": list(capabilities),
        "ClientParameters": {},
    }
    response = orchestrator.post(REGISTER, json=body)
    assert response.status_code == 200 and response.json()["Result"] == {"Status": 1}, response.text
    session: dict[str, Any] = response.json()["Session"]
    return session


def test_a_scheduled_custom_job_reaches_its_orchestrator_with_its_fields(admin: TestClient, settings: Settings) -> None:
    with api_client(settings, headers=None, clock=lambda: NOW) as orchestrator:
        session = register(orchestrator, CAPABILITY, "CertStores.PEM.Inventory")
        assert admin.post("/KeyfactorAPI/Agents/Approve", json=[session["AgentId"]]).status_code == 204
        fields = {"Host": "web01", "Delay Seconds": 10}
        job_id = admin.post(URL, json=job_request(session["AgentId"], JobFields=fields)).json()["JobId"]

        jobs_handed_out = orchestrator.post(HEARTBEAT, json={"SessionToken": session["Token"]}).json()["Jobs"]
        configuration = orchestrator.post(CONFIGURATION, json={"SessionToken": session["Token"], "JobId": job_id})

    assert jobs_handed_out == [
        {
            "JobTypeId": str(capability_guid(CAPABILITY)),
            "JobId": job_id,
            "ConfigurationEndpoint": "Jobs/Configuration",
            "CompletionEndpoint": "Jobs/Complete",
            "Schedule": None,
            "Priority": 5,
        }
    ]
    assert configuration.json()["JobFields"] == {
        "ServiceName": "W3SVC",
        "Delay Seconds": "10",
        "Force": "false",
        "Host": "web01",
    }


def test_after_a_rename_the_job_goes_to_orchestrators_of_the_new_name(admin: TestClient, settings: Settings) -> None:
    with api_client(settings, headers=None, clock=lambda: NOW) as orchestrator:
        session = register(orchestrator, CAPABILITY, "Custom.Restart")
        assert admin.post("/KeyfactorAPI/Agents/Approve", json=[session["AgentId"]]).status_code == 204
        schedule = {"Interval": {"Minutes": 30}}
        job_id = admin.post(URL, json=job_request(session["AgentId"], Schedule=schedule)).json()["JobId"]
        type_id = admin.get(JOB_TYPES).json()[0]["Id"]
        assert admin.put(JOB_TYPES, json={"Id": type_id, "JobTypeName": "Restart"}).status_code == 200

        session = register(orchestrator, "Custom.Restart", agent_id=session["AgentId"])

    assert [(job["JobId"], job["JobTypeId"], job["Schedule"]) for job in session["Jobs"]] == [
        (job_id, str(capability_guid("Custom.Restart")), "I_30")
    ]
