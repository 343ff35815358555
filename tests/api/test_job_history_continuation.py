"""Deep pages of JobHistory by keyset (the Continuation extension): the same rows as PageReturned, in the same order,
for every sort field and direction, NULLs included; and a token that is not this request's is a 400."""

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from orchjobs.query import JOB_HISTORY_FIELDS
from tests.factories import BASE_TIME, add_history, add_result_data

URL = "/KeyfactorAPI/OrchestratorJobs/JobHistory"
SORT_FIELDS = [field.name for field in JOB_HISTORY_FIELDS.fields if field.sortable]


def _add_rows(engine: Engine) -> list[int]:
    """Twelve runs with repeated and missing values in every column a page sorts by."""
    ids = []
    for n in range(12):
        ids.append(
            add_history(
                engine,
                job_id=uuid.UUID(int=n % 3),
                agent_id=uuid.UUID(int=100 + n % 2),
                client_machine=["alpha", "Beta", "gamma"][n % 3],
                job_type=["Inventory", "Management"][n % 2],
                operation_start=BASE_TIME + timedelta(minutes=n // 3),
                operation_end=None if n % 4 == 0 else BASE_TIME + timedelta(minutes=n % 5),
                message=None if n % 3 == 0 else f"message {n % 4}",
                target_path=None if n % 5 == 0 else f"/p/{n % 2}",
                schedule_type=None if n % 2 else "I_60",
                result=[2, 3, 4][n % 3],
                status=[3, 4][n % 2],
                acknowledged_by=None if n % 2 == 0 else "admin",
                acknowledged_at=None if n % 2 == 0 else BASE_TIME + timedelta(hours=n % 3),
                message_group=None if n % 3 == 0 else f"group {n % 2}",
            )
        )
    return ids


def _by_pages(client: TestClient, params: dict[str, Any]) -> list[int]:
    seen: list[int] = []
    for page in range(1, 10):
        items = client.get(URL, params={**params, "PageReturned": page, "ReturnLimit": 5}).json()
        seen += [item["JobHistoryId"] for item in items]
        if len(items) < 5:
            return seen
    raise AssertionError("more pages than rows")


def _by_continuation(client: TestClient, params: dict[str, Any]) -> list[int]:
    seen: list[int] = []
    token = ""
    for _ in range(10):
        answer = client.get(URL, params={**params, "pq.continuation": token, "ReturnLimit": 5})
        assert answer.status_code == 200, answer.text
        seen += [item["JobHistoryId"] for item in answer.json()]
        if "X-Continuation" not in answer.headers:
            return seen
        token = answer.headers["X-Continuation"]
    raise AssertionError("more pages than rows")


@pytest.mark.parametrize("field", SORT_FIELDS)
def test_every_sort_field_continues_as_pages_do(client: TestClient, engine: Engine, field: str) -> None:
    ids = _add_rows(engine)
    for ascending in (0, 1):
        params = {"SortField": field, "SortAscending": ascending}
        by_pages = _by_pages(client, params)
        assert sorted(by_pages) == sorted(ids)
        assert _by_continuation(client, params) == by_pages, (field, ascending)


def test_default_order_and_a_query(client: TestClient, engine: Engine) -> None:
    _add_rows(engine)
    for params in ({}, {"pq.queryString": "Result -eq 3 OR Result -eq 4"}, {"QueryString": 'Agent -eq "beta"'}):
        assert _by_continuation(client, params) == _by_pages(client, params)


def test_a_page_that_is_not_full_has_no_token(client: TestClient, engine: Engine) -> None:
    add_history(engine)
    answer = client.get(URL, params={"Continuation": "", "ReturnLimit": 5})
    assert len(answer.json()) == 1 and "X-Continuation" not in answer.headers
    # Without the parameter, a page answers as Command's does.
    assert "X-Continuation" not in client.get(URL, params={"ReturnLimit": 1}).headers


def test_a_token_of_another_request_or_altered_is_400(client: TestClient, engine: Engine) -> None:
    _add_rows(engine)
    token = client.get(URL, params={"Continuation": "", "ReturnLimit": 2}).headers["X-Continuation"]
    body, mac = token.split(".")
    refused = {
        "not a token": "nonsense",
        "altered": f"{body}x.{mac}",
        "signature of another": f"{body}.{'A' * len(mac)}",
        "too long": "a" * 5000 + "." + mac,
    }
    for reason, bad in refused.items():
        answer = client.get(URL, params={"Continuation": bad, "ReturnLimit": 2})
        assert answer.status_code == 400, reason
        assert answer.json()["ErrorCode"] == "0xA0110001" and "Continuation" in answer.json()["Message"], reason
    for other in ({"SortField": "JobType"}, {"SortAscending": 0}, {"QueryString": "Result -eq 4"}):
        answer = client.get(URL, params={"Continuation": token, "ReturnLimit": 2, **other})
        assert answer.status_code == 400
        assert "another request" in answer.json()["Message"]


def test_result_data_goes_with_its_run(client: TestClient, engine: Engine) -> None:
    """The foreign key's ON DELETE CASCADE (a trigger on partitioned PostgreSQL) still holds."""
    kept, gone = add_history(engine), add_history(engine)
    add_result_data(engine, kept, "kept")
    add_result_data(engine, gone, "gone")
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DELETE FROM job_history WHERE id = {gone}")
    with engine.connect() as conn:
        left = conn.exec_driver_sql("SELECT job_history_id FROM job_result_data").scalars().all()
    assert left == [kept]


def test_an_empty_continuation_starts_at_page_returned(client: TestClient, engine: Engine) -> None:
    _add_rows(engine)
    third = client.get(URL, params={"Continuation": "", "PageReturned": 3, "ReturnLimit": 2})
    token = third.headers["X-Continuation"]
    fourth = client.get(URL, params={"Continuation": token, "PageReturned": 3, "ReturnLimit": 2}).json()
    assert [item["JobHistoryId"] for item in third.json()] == _by_pages(client, {})[4:6]
    assert [item["JobHistoryId"] for item in fourth] == _by_pages(client, {})[6:8]
