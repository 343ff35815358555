"""GET JobHistory/Export (an extension): CSV and JSON Lines hold exactly the rows and values GET JobHistory answers
for the same query and sort; a bad request is Command's 400 before any byte of an export; thousands of rows stream
whole. One app and one database per module."""

import csv
import io
import json
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import insert
from starlette.testclient import TestClient

from orchjobs.settings import Settings
from orchjobs.store.engine import make_engine
from orchjobs.store.tables import job_history
from tests.conftest import api_client
from tests.factories import BASE_TIME, history_row
from tests.live import ADMIN, API_HEADERS

HISTORY = "/KeyfactorAPI/OrchestratorJobs/JobHistory"
EXPORT = f"{HISTORY}/Export"
BULK_ROWS = 5000
# Rows of the export a client abandons: more bytes (24 MB) than the sockets between it and the server hold, so that the
# server is still sending (its cursor open) when the client goes.
BIG_ROWS, BIG_MESSAGE = 3000, "m" * 8000
SPECIAL = 'Agent -startswith "special-"'


@pytest.fixture(scope="module")
def client(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(
        database_url=module_database_url,
        bootstrap_admin=f"{ADMIN[0]}:{ADMIN[1]}",
        db_pool_size=2,
        ca_key_file=str(Path(tmp_path_factory.mktemp("ca")) / "ca.key"),
    )
    engine = make_engine(module_database_url)
    special = [
        history_row(client_machine="special-1", message='quotes "x", commas, and\na new line', result=4),
        history_row(client_machine="special-2", message=None, schedule=None, schedule_type=None, operation_end=None),
        history_row(
            client_machine="special-3",
            message="é€😀",
            result=3,
            status=4,
            acknowledged_by=ADMIN[0],
            acknowledged_at=BASE_TIME + timedelta(hours=1),
            acknowledge_note='seen; "ok"',
            operation_start=BASE_TIME + timedelta(microseconds=250),
        ),
        history_row(client_machine="special-4", target_path=None, operation_start=BASE_TIME - timedelta(days=1)),
    ]
    bulk = [
        history_row(client_machine="bulk", operation_start=BASE_TIME + timedelta(seconds=index % 977))
        for index in range(BULK_ROWS)
    ]
    big = [history_row(client_machine="big", message=BIG_MESSAGE) for _ in range(BIG_ROWS)]
    with engine.begin() as conn:
        conn.execute(insert(job_history), special)
        conn.execute(insert(job_history), bulk)  # one executemany
        conn.execute(insert(job_history), big)
    engine.dispose()
    with api_client(settings) as test_client:
        yield test_client


def listed(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get(HISTORY, params={"pq.returnLimit": 100, **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()
    return items


def exported(client: TestClient, kind: str, **params: Any) -> str:
    response = client.get(EXPORT, params={"format": kind, **params})
    assert response.status_code == 200, response.text
    return response.text


def as_cells(item: dict[str, Any], columns: list[str]) -> list[str]:
    """What a CSV row holds for a JSON item: absent is empty, the Schedule object its compact JSON."""
    cells = []
    for column in columns:
        value = item.get(column)
        if value is None:
            cells.append("")
        elif isinstance(value, dict):
            cells.append(json.dumps(value, separators=(",", ":"), ensure_ascii=False))
        else:
            cells.append(str(value))
    return cells


@pytest.mark.parametrize(
    "params",
    [
        {"pq.queryString": SPECIAL},
        {"pq.queryString": SPECIAL, "pq.sortField": "Agent", "pq.sortAscending": "1"},
        {"QueryString": "Agent -in (special-1, special-3) OR Message -eq NULL", "SortField": "JobHistoryId"},
    ],
)
def test_jsonl_holds_the_lists_items(client: TestClient, params: dict[str, Any]) -> None:
    expected = listed(client, **params)
    assert len(expected) >= 2
    lines = exported(client, "jsonl", **params).split("\n")
    assert lines[-1] == ""
    assert [json.loads(line) for line in lines[:-1]] == expected


@pytest.mark.parametrize(
    "params",
    [
        {"pq.queryString": SPECIAL},
        {"pq.queryString": SPECIAL, "pq.sortField": "OperationStart", "pq.sortAscending": "0"},
    ],
)
def test_csv_holds_the_lists_items_with_a_header(client: TestClient, params: dict[str, Any]) -> None:
    expected = listed(client, **params)
    text = exported(client, "csv", **params)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header = rows[0]
    assert header[:4] == ["JobHistoryId", "AgentMachine", "JobId", "Schedule"]
    assert "AcknowledgeNote" in header
    assert rows[1:] == [as_cells(item, header) for item in expected]
    assert text.endswith("\r\n")


def test_the_answer_is_an_attachment_of_its_type(client: TestClient) -> None:
    for kind, media in (("csv", "text/csv; charset=utf-8"), ("JSONL", "application/x-ndjson")):
        response = client.get(EXPORT, params={"Format": kind, "pq.queryString": "Agent -eq special-2"})
        assert response.status_code == 200
        assert response.headers["content-type"] == media
        assert response.headers["content-disposition"] == f'attachment; filename="JobHistory.{kind.lower()}"'


def test_no_match_is_a_header_alone_or_nothing(client: TestClient) -> None:
    assert exported(client, "jsonl", **{"pq.queryString": "Agent -eq nobody"}) == ""
    assert exported(client, "csv", **{"pq.queryString": "Agent -eq nobody"}).count("\r\n") == 1


def test_thousands_of_rows_stream_whole_in_order(client: TestClient) -> None:
    text = exported(client, "csv", **{"pq.queryString": "Agent -eq bulk", "pq.pageReturned": "3"})
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(rows) == BULK_ROWS  # paging parameters are ignored
    ids = [int(row["JobHistoryId"]) for row in rows]
    assert len(set(ids)) == BULK_ROWS
    # The list's default order: newest OperationStart first, then the id.
    keys = [(row["OperationStart"], int(row["JobHistoryId"])) for row in rows]
    assert keys == sorted(keys, reverse=True)
    lines = exported(client, "jsonl", **{"QueryString": "Agent -eq bulk", "SortField": "JobHistoryId"}).splitlines()
    assert [json.loads(line)["JobHistoryId"] for line in lines] == sorted(ids)


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        (
            {"format": "csv", "pq.queryString": "Result -in (Failure, abc)"},
            "0xA0110040",
            "Invalid query at position 21",
        ),
        ({"format": "jsonl", "pq.queryString": "Nope -eq 1"}, "0xA0110040", "unknown field 'Nope'"),
        ({"format": "csv", "pq.sortField": "Nope"}, "0xA011004A", "Invalid sort field: Nope."),
        ({"format": "xml"}, "0xA0110001", "format must be one of: csv, jsonl"),
        ({}, "0xA0110001", "format must be one of: csv, jsonl"),
        ({"format": "csv", "pq.sortAscending": "2"}, "0xA0110001", "SortAscending must be between 0 and 1"),
    ],
)
def test_a_bad_request_is_commands_400_and_nothing_else(
    client: TestClient, params: dict[str, str], code: str, message: str
) -> None:
    response = client.get(EXPORT, params=params)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert "content-disposition" not in response.headers
    body = response.json()  # the whole body is the error: no part of an export before it
    assert set(body) == {"ErrorCode", "Message"}
    assert body["ErrorCode"] == code
    assert message in body["Message"]


def connections_in_use(base_url: str) -> int:
    """The server's pool connections checked out right now (the metrics scrape gives its own back before it counts)."""
    scrape = httpx.get(f"{base_url}/metrics", timeout=10).text
    found = re.search(r"^orchjobs_db_pool_checked_out (\S+)$", scrape, re.MULTILINE)
    assert found, scrape
    return int(float(found.group(1)))


def test_a_client_that_hangs_up_mid_export_gives_the_connection_back(client: TestClient, shared_server: str) -> None:
    url = f"{shared_server}{EXPORT}"
    params = {"format": "jsonl", "pq.queryString": "Agent -eq big"}
    with httpx.stream("GET", url, params=params, headers=API_HEADERS, auth=ADMIN, timeout=30) as response:
        assert response.status_code == 200
        chunks = response.iter_raw()  # kept: dropping the iterator would close the response
        assert next(chunks).startswith(b'{"JobHistoryId":')
        # The server is blocked sending the rest: its export holds a connection, and the cursor in it.
        assert connections_in_use(shared_server) == 1
    deadline = time.monotonic() + 15
    while connections_in_use(shared_server) != 0:
        assert time.monotonic() < deadline, "the abandoned export still holds its connection"
        time.sleep(0.05)
