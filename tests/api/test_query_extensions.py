"""The query-language extensions through GET JobHistory (-in/-notin, %NOW±N<unit>%, %ME%, NOT), and Query/Explain:
every malformed query of the query-language tests, valid queries on several resources, time windows, the field
catalogue. One app and one database per module (Explain reads no table but the caller's)."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert
from starlette.testclient import TestClient

from orchjobs.service.users import create_user
from orchjobs.settings import Settings
from orchjobs.store.engine import make_engine
from orchjobs.store.tables import job_history
from tests.conftest import SteppingClock, api_client
from tests.factories import history_row
from tests.live import ADMIN
from tests.unit.test_query_parser import INVALID
from tests.unit.test_query_sql import REFUSED

CAROL = ("carol", "carol-password")
HISTORY = "/KeyfactorAPI/OrchestratorJobs/JobHistory"
EXPLAIN = "/KeyfactorAPI/OrchestratorJobs/Query/Explain"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
# The app's clock: NOW, unless a test moves it (and puts it back).
CLOCK = SteppingClock(NOW)

# name -> the row's overrides of tests.factories.history_row
ROWS: dict[str, dict[str, Any]] = {
    "recent_failure": {"operation_start": NOW - timedelta(hours=1), "result": 4, "client_machine": "web01"},
    "older_failure": {"operation_start": NOW - timedelta(hours=5), "result": 4, "status": 5, "client_machine": "WEB02"},
    "acknowledged_warning": {
        "operation_start": NOW - timedelta(days=3),
        "result": 3,
        "status": 4,
        "client_machine": "db01",
        "acknowledged_by": ADMIN[0],
        "acknowledged_at": NOW - timedelta(days=2),
    },
    "carols_acknowledgement": {
        "operation_start": NOW - timedelta(days=20),
        "result": 4,
        "status": 4,
        "client_machine": "db03",
        "acknowledged_by": "CAROL",
        "acknowledged_at": NOW - timedelta(days=19),
    },
    "old_success": {
        "operation_start": NOW - timedelta(days=10),
        "result": 2,
        "message": None,
        "client_machine": "db02",
    },
    "recent_success": {"operation_start": NOW - timedelta(minutes=30), "result": 2, "client_machine": "app01"},
}


@pytest.fixture(scope="module")
def client(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    key_file = Path(tmp_path_factory.mktemp("ca")) / "ca.key"
    settings = Settings(
        database_url=module_database_url,
        bootstrap_admin=f"{ADMIN[0]}:{ADMIN[1]}",
        db_pool_size=2,
        ca_key_file=str(key_file),
    )
    with api_client(settings, clock=CLOCK) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def ids(client: TestClient, module_database_url: str) -> dict[str, int]:
    engine = make_engine(module_database_url)
    found = {}
    with engine.begin() as conn:
        for name, overrides in ROWS.items():
            found[name] = int(
                conn.execute(insert(job_history).values(history_row(**overrides))).inserted_primary_key[0]
            )
    create_user(engine, username=CAROL[0], password=CAROL[1], roles=["Operator"], now=NOW)
    engine.dispose()
    return found


def selected(client: TestClient, ids: dict[str, int], query: str) -> set[str]:
    response = client.get(HISTORY, params={"pq.queryString": query, "pq.returnLimit": 100})
    assert response.status_code == 200, (query, response.text)
    names = {row_id: name for name, row_id in ids.items()}
    return {names[item["JobHistoryId"]] for item in response.json()}


# -- the extensions through GET JobHistory ----------------------------------------------------------------------

SELECTIONS: list[tuple[str, set[str]]] = [
    # -in / -notin
    ("Result -in (Failure, Warning) AND Status -ne 4", {"recent_failure", "older_failure"}),
    ('Result -in ("4")', {"recent_failure", "older_failure", "carols_acknowledgement"}),
    ("Result -notin (4, 3)", {"old_success", "recent_success"}),
    ("Agent -in ('WEB01', web02, nowhere)", {"recent_failure", "older_failure"}),
    ("ClientMachine -notin (web01, WEB02, DB01, db03)", {"old_success", "recent_success"}),
    ("Message -notin ('Inventory completed: 12 certificates')", {"old_success"}),  # -notin matches NULL
    ("Status -in (CompletedWillRetry, 5) AND Result -in (failure)", {"older_failure"}),
    # relative instants: the app's clock is 2026-11-30 12:00 UTC
    ("OperationStart -ge %NOW-4h%", {"recent_failure", "recent_success"}),
    ("OperationStart -ge %NOW-300m% AND OperationStart -lt %NOW-45m%", {"recent_failure", "older_failure"}),
    ("OperationStart -lt %NOW-1w% AND OperationStart -ge %NOW-2w%", {"old_success"}),
    ("OperationStart -ge %NOW-4d% AND OperationStart -lt %NOW-1d%", {"acknowledged_warning"}),
    ("OperationStart -gt %NOW+1s%", set()),
    ("OperationStart -eq %TODAY-3d%", {"acknowledged_warning"}),
    ("OperationStart -ge %TODAY-2w% AND OperationStart -lt %TODAY-1w%", {"old_success"}),
    # %ME%: the caller (ADMIN)
    ("AcknowledgedBy -eq %ME%", {"acknowledged_warning"}),
    ("AcknowledgedBy -in (%me%, someone)", {"acknowledged_warning"}),
    # NOT
    (
        "NOT Result -in (2) AND OperationStart -ge %TODAY-7%",
        {"recent_failure", "older_failure", "acknowledged_warning"},
    ),
    ("NOT AcknowledgedBy -eq %ME% AND Result -eq 4", {"recent_failure", "older_failure", "carols_acknowledgement"}),
    ("NOT (Agent -startswith web OR Agent -startswith db)", {"recent_success"}),
]


@pytest.mark.parametrize(("query", "expected"), SELECTIONS)
def test_each_extension_selects_the_right_rows(
    client: TestClient, ids: dict[str, int], query: str, expected: set[str]
) -> None:
    assert selected(client, ids, query) == expected


def test_me_is_whoever_asks(client: TestClient, ids: dict[str, int]) -> None:
    # The same query text, two callers: each gets their own rows (a compiled %ME% query is never shared between them).
    query = {"pq.queryString": "AcknowledgedBy -eq %ME%"}
    as_admin = client.get(HISTORY, params=query).json()
    as_carol = client.get(HISTORY, params=query, auth=CAROL).json()
    assert [item["JobHistoryId"] for item in as_admin] == [ids["acknowledged_warning"]]
    assert [item["JobHistoryId"] for item in as_carol] == [ids["carols_acknowledgement"]]
    assert client.get(HISTORY, params=query).json() == as_admin


def test_now_is_the_moment_of_each_request(client: TestClient, ids: dict[str, int]) -> None:
    # A condition with %NOW% is never reused from an earlier request of the same day.
    query = "OperationStart -ge %NOW-1h%"
    assert selected(client, ids, query) == {"recent_failure", "recent_success"}
    try:
        CLOCK.advance(minutes=31)
        assert selected(client, ids, query) == set()
    finally:
        CLOCK.now = NOW
    assert selected(client, ids, query) == {"recent_failure", "recent_success"}


def test_count_takes_the_extensions_and_the_caller(client: TestClient, ids: dict[str, int]) -> None:
    response = client.get(f"{HISTORY}/Count", params={"QueryString": "AcknowledgedBy -eq %ME% OR Result -in (4)"})
    assert response.json() == {"Count": 4}


@pytest.mark.parametrize(
    ("query", "position", "reason"),
    [
        ('Result -in (Failure, "abc")', 21, "'abc' is not a value of Result"),
        ('JobHistoryId -in (1, "x")', 21, "'x' is not a whole number"),
        ("Result -in ()", 11, "empty list"),
        ("OperationStart -ge %NOW-4y%", 19, "the unit 'y' is not one of s, m, h, d, w"),
    ],
)
def test_a_bad_extension_is_commands_400_with_its_position(
    client: TestClient, query: str, position: int, reason: str
) -> None:
    response = client.get(HISTORY, params={"pq.queryString": query})
    assert response.status_code == 400
    body = response.json()
    assert body["ErrorCode"] == "0xA0110040"
    assert body["Message"].startswith(f"Invalid query at position {position}: ")
    assert reason in body["Message"]


# -- Explain ----------------------------------------------------------------------------------------------------


def explain(client: TestClient, resource: str, query: str | None = None) -> Any:
    params = {"resource": resource} if query is None else {"resource": resource, "query": query}
    response = client.get(EXPLAIN, params=params)
    assert response.status_code == 200, response.text
    return response.json()


# NUL and lone surrogates never reach a route: the transport refuses such a query string (tests/api/test_limits.py).
MALFORMED = [case for case in INVALID if "\0" not in case[0] and "\ud800" not in case[0]] + REFUSED


@pytest.mark.parametrize(("query", "position", "reason"), MALFORMED)
def test_explains_every_malformed_query_with_the_parsers_position(
    client: TestClient, query: str, position: int, reason: str
) -> None:
    answer = explain(client, "JobHistory", query)
    assert answer["Valid"] is False
    assert answer["Query"] == query
    assert answer["Error"]["Position"] == position
    assert reason in answer["Error"]["Reason"]
    assert answer["Error"]["Message"].startswith(f"Invalid query at position {position}: ")
    assert "Description" not in answer and "Fields" not in answer


def test_explains_a_valid_job_history_query(client: TestClient) -> None:
    answer = explain(
        client,
        "jobhistory",
        "clientmachine -in (web01, 'db 02') and RESULT -in (4,3) and not status -eq 4 and Message -ne null",
    )
    assert answer == {
        "Resource": "JobHistory",
        "Valid": True,
        "Query": 'Agent -in (web01, "db 02") AND Result -in (4, 3) AND NOT Status -eq 4 AND Message -ne NULL',
        "Description": (
            'Agent is one of (web01, "db 02") and Result is one of (Failure, Warning) and not (Status is '
            "Acknowledged) and Message is not null"
        ),
        "Fields": [
            {"Name": "Agent", "Type": "text", "Operators": ["-in"]},
            {"Name": "Result", "Type": "enumeration", "Operators": ["-in"], "Values": RESULT_VALUES},
            {"Name": "Status", "Type": "enumeration", "Operators": ["-eq"], "Values": STATUS_VALUES},
            {"Name": "Message", "Type": "text", "Operators": ["-ne NULL"]},
        ],
        "TimeWindow": [],
    }


RESULT_VALUES = [
    {"Value": 0, "Name": "Unknown"},
    {"Value": 1, "Name": "InProcess"},
    {"Value": 2, "Name": "Success"},
    {"Value": 3, "Name": "Warning"},
    {"Value": 4, "Name": "Failure"},
]
STATUS_VALUES = [
    {"Value": 0, "Name": "Unknown"},
    {"Value": 1, "Name": "Waiting"},
    {"Value": 2, "Name": "InProcess"},
    {"Value": 3, "Name": "Completed"},
    {"Value": 4, "Name": "Acknowledged"},
    {"Value": 5, "Name": "CompletedWillRetry"},
]


@pytest.mark.parametrize(
    ("resource", "query", "canonical", "field", "kind"),
    [
        ("Agents", "capability -contains logs", "Capabilities -contains logs", "Capabilities", "text list"),
        ("ORCHESTRATORS", "agentplatform -in (java, 2)", "Platform -in (java, 2)", "Platform", "enumeration"),
        ("scheduledjobs", "storepath -startswith /etc", "Target -startswith /etc", "Target", "text"),
        ("Certificates", "cn -in (a, b) ", "IssuedCN -in (a, b)", "IssuedCN", "text"),
        ("Certificates", "thumbprint -eq 'ab cd'", 'Thumbprint -eq "ab cd"', "Thumbprint", "hexadecimal"),
        ("CertificateStores", "StoreType -gt 1", "CertStoreType -gt 1", "CertStoreType", "number"),
        ("JobTypes", "name -eq x", "JobTypeName -eq x", "JobTypeName", "text"),
        ("CertificateStoreTypes", "Id -notin (1, 2)", "StoreType -notin (1, 2)", "StoreType", "number"),
        ("Containers", "name -eq c", "Name -eq c", "Name", "text"),
        ("AgentPools", "id -ne NULL", "AgentPoolId -ne NULL", "AgentPoolId", "identifier"),
        ("SecurityIdentities", "AccountName -eq %ME%", "AccountName -eq %ME%", "AccountName", "text"),
        ("SecurityRoles", "name -contains admin", "Name -contains admin", "Name", "text"),
    ],
)
def test_explains_valid_queries_of_other_resources(
    client: TestClient, resource: str, query: str, canonical: str, field: str, kind: str
) -> None:
    answer = explain(client, resource, query)
    assert answer["Valid"] is True, answer
    assert answer["Query"] == canonical
    assert [(f["Name"], f["Type"]) for f in answer["Fields"]] == [(field, kind)]


def test_a_field_of_another_resource_is_invalid_here(client: TestClient) -> None:
    answer = explain(client, "Agents", "Result -eq 4")
    assert answer["Valid"] is False
    assert answer["Error"]["Position"] == 0
    assert "unknown field 'Result' for Agents" in answer["Error"]["Reason"]


def test_resolves_time_windows_with_the_request_clock(client: TestClient) -> None:
    query = (
        "OperationStart -ge %TODAY-7% AND OperationEnd -eq %TODAY-1% AND OperationStart -ge %NOW-4h% "
        "AND OperationStart -lt %NOW% AND NOT AcknowledgedAt -le 2026-11-01T10:00:00Z AND OperationEnd -ne %today% "
        "AND Result -eq 4"
    )
    assert explain(client, "JobHistory", query)["TimeWindow"] == [
        {
            "Field": "OperationStart",
            "Operator": "-ge",
            "Value": "%TODAY-7%",
            "From": "2026-11-23T00:00:00Z",
            "FromInclusive": True,
            "Selects": "Inside",
        },
        {
            "Field": "OperationEnd",
            "Operator": "-eq",
            "Value": "%TODAY-1%",
            "From": "2026-11-29T00:00:00Z",
            "FromInclusive": True,
            "To": "2026-11-30T00:00:00Z",
            "ToInclusive": False,
            "Selects": "Inside",
        },
        {
            "Field": "OperationStart",
            "Operator": "-ge",
            "Value": "%NOW-4h%",
            "From": "2026-11-30T08:00:00Z",
            "FromInclusive": True,
            "Selects": "Inside",
        },
        {
            "Field": "OperationStart",
            "Operator": "-lt",
            "Value": "%NOW%",
            "To": "2026-11-30T12:00:00Z",
            "ToInclusive": False,
            "Selects": "Inside",
        },
        {
            "Field": "AcknowledgedAt",
            "Operator": "-le",
            "Value": "2026-11-01T10:00:00Z",
            "To": "2026-11-01T10:00:00Z",
            "ToInclusive": True,
            "Selects": "Outside",
        },
        {
            "Field": "OperationEnd",
            "Operator": "-ne",
            "Value": "%today%",
            "From": "2026-11-30T00:00:00Z",
            "FromInclusive": True,
            "To": "2026-12-01T00:00:00Z",
            "ToInclusive": False,
            "Selects": "Outside",
        },
    ]


def test_a_blank_query_is_valid_and_selects_everything(client: TestClient) -> None:
    answer = explain(client, "JobHistory", "  ")
    assert answer == {
        "Resource": "JobHistory",
        "Valid": True,
        "Query": "",
        "Description": "everything",
        "Fields": [],
        "TimeWindow": [],
    }


def test_a_query_over_the_length_limit_is_invalid_at_the_limit(client: TestClient) -> None:
    answer = explain(client, "JobHistory", "Message -eq " + "x" * 8200)
    assert answer["Valid"] is False
    assert answer["Error"]["Position"] == 8192
    assert "longer than the limit of 8192 bytes" in answer["Error"]["Reason"]


def test_without_a_query_answers_the_resources_fields(client: TestClient) -> None:
    answer = explain(client, "jobHistory")
    assert answer["Resource"] == "JobHistory"
    fields = {field["Name"]: field for field in answer["Fields"]}
    assert list(fields)[:3] == ["JobHistoryId", "AgentId", "Agent"]
    assert fields["Agent"] == {
        "Name": "Agent",
        "Type": "text",
        "Operators": [
            "-eq", "-ne", "-contains", "-notcontains", "-startswith", "-endswith", "-in", "-notin",
            "-eq NULL", "-ne NULL",
        ],
        "Aliases": ["ClientMachine", "AgentMachine"],
        "Sortable": True,
    }  # fmt: skip
    assert fields["Result"]["Values"] == RESULT_VALUES
    assert "-in" not in fields["OperationStart"]["Operators"]
    agents = {field["Name"]: field for field in explain(client, "Agents")["Fields"]}
    assert agents["Capabilities"]["Sortable"] is False


@pytest.mark.parametrize("resource", ["Nope", "JobHistory2", "x" * 500])
def test_an_unknown_resource_is_commands_400_listing_the_known_ones(client: TestClient, resource: str) -> None:
    response = client.get(EXPLAIN, params={"resource": resource, "query": "Result -eq 4"})
    assert response.status_code == 400
    body = response.json()
    assert body["ErrorCode"] == "0xA0110001"
    assert "Unknown resource" in body["Message"]
    assert "JobHistory, ScheduledJobs, Agents" in body["Message"]
    assert len(body["Message"]) < 600


def test_the_resource_is_required(client: TestClient) -> None:
    response = client.get(EXPLAIN, params={"query": "Result -eq 4"})
    assert response.status_code == 400
    assert "resource is required" in response.json()["Message"]
