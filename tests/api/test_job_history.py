"""GET JobHistory and JobStatus/Data: fields, query, paging, sorting and their errors."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, func, select
from starlette.testclient import TestClient

from orchjobs.service.sweeper import fold_open_failure_counts
from orchjobs.store.tables import job_history, open_failure_delta
from tests.factories import AGENT_ID, BASE_TIME, JOB_ID, add_history, add_result_data

URL = "/KeyfactorAPI/OrchestratorJobs/JobHistory"


def test_lists_history_with_commands_fields(client: TestClient, engine: Engine) -> None:
    done = add_history(engine)
    running = add_history(
        engine,
        status=2,
        result=0,
        operation_end=None,
        message=None,
        schedule=None,
        schedule_type=None,
        operation_start=BASE_TIME + timedelta(minutes=1),
    )

    items = client.get(URL).json()

    assert [item["JobHistoryId"] for item in items] == [running, done]
    finished = items[1]
    assert finished == {
        "JobHistoryId": done,
        "AgentMachine": "web-prd-01.corp.example.com",
        "JobId": str(JOB_ID),
        "Schedule": {"Interval": {"Minutes": 60}},
        "JobType": "Inventory",
        "OperationStart": "2026-11-20T12:00:00Z",
        "OperationEnd": "2026-11-20T12:00:30Z",
        "Message": "Inventory completed: 12 certificates",
        "Result": 2,
        "Status": 3,
        "StorePath": "/etc/ssl/certs/app.pem",
        "ClientMachine": "web-prd-01.corp.example.com",
        "AgentId": str(AGENT_ID),
    }
    in_process = items[0]
    assert "OperationEnd" not in in_process and "Message" not in in_process
    assert in_process["Schedule"] == {"Immediate": True}
    assert None not in in_process.values()


def test_filters_with_pq_and_unprefixed_parameters(client: TestClient, engine: Engine) -> None:
    failed = add_history(engine, result=4, message="Connection TIMED OUT")
    add_history(engine, result=2)
    for name in ("pq.queryString", "QueryString", "querystring", "PQ.QUERYSTRING"):
        items = client.get(URL, params={name: 'Message -contains "timed out"'}).json()
        assert [item["JobHistoryId"] for item in items] == [failed], name
    by_name = client.get(URL, params={"pq.queryString": 'Result -eq "Failure"'}).json()
    assert [item["JobHistoryId"] for item in by_name] == [failed]


def test_pages_are_stable_and_one_based(client: TestClient, engine: Engine) -> None:
    # Equal start times: only the id can keep pages from overlapping.
    ids = [add_history(engine) for _ in range(7)]
    seen = []
    for page in (1, 2, 3):
        items = client.get(URL, params={"pq.pageReturned": page, "pq.returnLimit": 3}).json()
        seen.extend(item["JobHistoryId"] for item in items)
    assert seen == sorted(ids, reverse=True)
    assert client.get(URL, params={"PageReturned": 4, "ReturnLimit": 3}).json() == []


def test_sorts_by_any_queryable_field_both_ways(client: TestClient, engine: Engine) -> None:
    beta = add_history(engine, client_machine="beta")
    alpha = add_history(engine, client_machine="alpha")
    gamma = add_history(engine, client_machine="gamma")
    ascending = client.get(URL, params={"pq.sortField": "Agent", "pq.sortAscending": 0}).json()
    assert [item["JobHistoryId"] for item in ascending] == [alpha, beta, gamma]
    descending = client.get(URL, params={"SortField": "agent", "SortAscending": 1}).json()
    assert [item["JobHistoryId"] for item in descending] == [gamma, beta, alpha]
    by_id = client.get(URL, params={"SortField": "JobHistoryId"}).json()
    assert [item["JobHistoryId"] for item in by_id] == [beta, alpha, gamma]


def test_an_invalid_sort_field_is_commands_code(client: TestClient) -> None:
    response = client.get(URL, params={"pq.sortField": "Bogus"})
    assert response.status_code == 400
    assert response.json() == {"ErrorCode": "0xA011004A", "Message": "Invalid sort field: Bogus."}


def test_bad_paging_parameters_are_400(client: TestClient) -> None:
    for params in (
        {"pq.pageReturned": "x"},
        {"pq.pageReturned": 0},
        {"pq.returnLimit": -1},
        {"pq.returnLimit": 10_000_000},
        {"pq.sortAscending": 2},
        {"pq.pageReturned": 2**40},
    ):
        response = client.get(URL, params=params)
        assert response.status_code == 400, params
        assert response.json()["ErrorCode"] == "0xA0110001"


def test_a_malformed_query_is_400_naming_position_and_expectation(client: TestClient) -> None:
    response = client.get(URL, params={"pq.queryString": "Status -eq 3 AND (Result -eq 4"})
    assert response.status_code == 400
    body = response.json()
    assert body["ErrorCode"] == "0xA0110040"
    assert "position" in body["Message"] and "expected" in body["Message"]


def test_job_status_data_returns_what_the_job_uploaded(client: TestClient, engine: Engine) -> None:
    with_data = add_history(engine, job_type="FetchLogs")
    add_result_data(engine, with_data, "log line 1\nlog line 2")
    without = add_history(engine)
    url = "/KeyfactorAPI/OrchestratorJobs/JobStatus/Data"
    assert client.get(url, params={"jobHistoryId": with_data}).json() == {
        "JobHistoryId": with_data,
        "Data": "log line 1\nlog line 2",
    }
    assert client.get(url, params={"jobHistoryId": without}).json() == {"JobHistoryId": without, "Data": ""}


def test_job_status_data_errors(client: TestClient) -> None:
    url = "/KeyfactorAPI/OrchestratorJobs/JobStatus/Data"
    missing = client.get(url, params={"jobHistoryId": 424242})
    assert missing.status_code == 404
    assert missing.json()["ErrorCode"] == "0xA0110014"
    assert client.get(url).status_code == 400
    assert client.get(url, params={"jobHistoryId": "abc"}).status_code == 400
    assert client.get(url, params={"jobHistoryId": 10**20}).status_code == 400


def test_failure_count_is_the_query_it_names(client: TestClient, engine: Engine) -> None:
    now_ish = BASE_TIME.replace(year=2099)  # inside any age-out window counted from today
    recent_failure = add_history(engine, result=4, status=3, operation_start=now_ish)
    add_history(engine, result=3, status=5, operation_start=now_ish)
    add_history(engine, result=4, status=3, operation_start=BASE_TIME.replace(year=2000))  # aged out
    add_history(engine, result=2, status=3, operation_start=now_ish)

    counted = client.get(URL + "/FailureCount").json()
    assert counted["Count"] == 2 and counted["AgeOutDays"] == 7
    listed = client.get(URL, params={"pq.queryString": counted["Query"]}).json()
    assert len(listed) == counted["Count"]
    assert client.get(URL + "/Count", params={"pq.queryString": counted["Query"]}).json() == {"Count": 2}

    client.post("/KeyfactorAPI/OrchestratorJobs/Acknowledge", json={"JobAuditIds": [recent_failure]})
    assert client.get(URL + "/FailureCount").json()["Count"] == 1


def test_the_age_out_setting_changes_the_window(client: TestClient, engine: Engine) -> None:
    response = client.put("/KeyfactorAPI/AppSetting/JobFailuresAndWarningsAgeOut/Set", json={"Value": "30"})
    assert response.status_code == 200
    assert response.json()["Value"] == "30"
    assert client.get(URL + "/FailureCount").json()["AgeOutDays"] == 30
    bad = client.put("/KeyfactorAPI/AppSetting/1/Set", json={"value": "soon"})
    assert bad.status_code == 400
    assert client.get("/KeyfactorAPI/AppSetting/1").json()["Value"] == "30"


def test_the_failure_count_follows_every_change_of_history(client: TestClient, engine: Engine) -> None:
    """On PostgreSQL the count comes from per-day counts the history triggers keep (migration 0013): after inserts,
    acknowledgements, their undoing, deletions and the sweeper's folding of those counts, it is still the number of
    runs its query lists. On SQLite it counts them."""
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    for days_ago, result, status in [(0, 4, 3), (0, 3, 5), (1, 4, 3), (3, 4, 5), (3, 2, 3), (6, 3, 3), (30, 4, 3)]:
        for _ in range(2):
            add_history(engine, result=result, status=status, operation_start=today - timedelta(days=days_ago))

    def counted() -> int:
        answer = client.get(URL + "/FailureCount").json()
        listed = client.get(URL + "/Count", params={"pq.queryString": answer["Query"]}).json()["Count"]
        assert answer["Count"] == listed
        return int(answer["Count"])

    assert counted() == 10
    acknowledge = {"Query": 'Result -eq "Warning"', "Note": "seen"}
    assert client.post("/KeyfactorAPI/OrchestratorJobs/Acknowledge", json=acknowledge).status_code == 204
    assert counted() == 6
    fold_open_failure_counts(engine)
    assert counted() == 6
    undo = {"Query": 'Result -eq "Warning"'}
    assert client.post("/KeyfactorAPI/OrchestratorJobs/Unacknowledge", json=undo).status_code == 204
    assert counted() == 10
    with engine.begin() as conn:  # an operator's own SQL is counted too
        conn.execute(delete(job_history).where(job_history.c.operation_start < today - timedelta(days=2)))
    assert counted() == 6
    fold_open_failure_counts(engine)
    assert counted() == 6
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            days = conn.execute(select(open_failure_delta.c.day, func.count()).group_by(open_failure_delta.c.day)).all()
        assert all(rows == 1 for _day, rows in days)
