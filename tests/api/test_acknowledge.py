"""POST /KeyfactorAPI/OrchestratorJobs/Acknowledge, exactly as DESIGN §2 says, on both databases."""

from sqlalchemy import Engine
from starlette.testclient import TestClient

from tests.factories import add_history, history_state

URL = "/KeyfactorAPI/OrchestratorJobs/Acknowledge"


def test_acknowledges_failed_and_warning_runs_by_id(client: TestClient, engine: Engine) -> None:
    failed = add_history(engine, result=4, status=3)
    warning_retry = add_history(engine, result=3, status=5)
    untouched = add_history(engine, result=4, status=3)

    response = client.post(URL, json={"JobAuditIds": [failed, warning_retry]})

    assert response.status_code == 204
    assert response.content == b""
    state = history_state(engine)
    assert state[failed] == (4, 4, "admin", 3)
    assert state[warning_retry] == (4, 3, "admin", 5)
    assert state[untouched] == (3, 4, None, None)


def test_request_keys_are_matched_case_insensitively(client: TestClient, engine: Engine) -> None:
    failed = add_history(engine, result=4, status=3)
    assert client.post(URL, json={"jobAuditIds": [failed]}).status_code == 204
    assert history_state(engine)[failed][0] == 4


def test_acknowledging_again_is_a_no_op(client: TestClient, engine: Engine) -> None:
    failed = add_history(engine, result=4, status=3)
    assert client.post(URL, json={"JobAuditIds": [failed]}).status_code == 204
    before = history_state(engine)
    assert client.post(URL, json={"JobAuditIds": [failed, failed]}).status_code == 204
    assert history_state(engine) == before


def test_ineligible_ids_refuse_the_whole_request(client: TestClient, engine: Engine) -> None:
    eligible = add_history(engine, result=4, status=3)
    waiting = add_history(engine, result=0, status=1, operation_end=None)
    in_process = add_history(engine, result=0, status=2, operation_end=None)
    success = add_history(engine, result=2, status=3)
    unknown = 987654
    before = history_state(engine)

    response = client.post(URL, json={"JobAuditIds": [eligible, waiting, in_process, success, unknown]})

    assert response.status_code == 400
    body = response.json()
    assert body["ErrorCode"] == "0xA0110050"
    assert "no job was changed" in body["Message"]
    reasons = {item["Id"]: item["Reason"] for item in body["FailedOperations"]}
    assert set(reasons) == {waiting, in_process, success, unknown}
    assert "waiting" in reasons[waiting]
    assert "in process" in reasons[in_process]
    assert "successfully" in reasons[success]
    assert "not found" in reasons[unknown]
    assert history_state(engine) == before


def test_acknowledges_only_eligible_rows_matched_by_query(client: TestClient, engine: Engine) -> None:
    ids = {
        "failed_web": add_history(engine, result=4, status=3, client_machine="web-01"),
        "warning_web": add_history(engine, result=3, status=5, client_machine="web-01"),
        "success_web": add_history(engine, result=2, status=3, client_machine="web-01"),
        "running_web": add_history(engine, result=0, status=2, client_machine="web-01", operation_end=None),
        "failed_db": add_history(engine, result=4, status=3, client_machine="db-01"),
    }

    response = client.post(URL, json={"Query": 'Agent -eq "WEB-01"', "Note": "known outage"})

    assert response.status_code == 204
    state = history_state(engine)
    acknowledged = {name for name, row_id in ids.items() if state[row_id][0] == 4}
    assert acknowledged == {"failed_web", "warning_web"}
    assert state[ids["failed_db"]] == (3, 4, None, None)


def test_the_documented_eligibility_query_works(client: TestClient, engine: Engine) -> None:
    failed = add_history(engine, result=4, status=3)
    query = '(Result -eq "4" OR Result -eq "3") AND (Status -eq "3" OR Status -eq "5")'
    assert client.post(URL, json={"Query": query}).status_code == 204
    assert history_state(engine)[failed][0] == 4


def test_a_query_that_matches_nothing_is_still_204(client: TestClient, engine: Engine) -> None:
    add_history(engine, result=4, status=3)
    before = history_state(engine)
    assert client.post(URL, json={"Query": 'Agent -eq "nowhere"'}).status_code == 204
    assert history_state(engine) == before


def test_records_who_when_and_the_note_and_can_be_undone(client: TestClient, engine: Engine) -> None:
    failed = add_history(engine, result=4, status=5)
    client.post(URL, json={"JobAuditIds": [failed], "Note": "ticket 42"})

    listed = client.get(
        "/KeyfactorAPI/OrchestratorJobs/JobHistory", params={"pq.queryString": 'AcknowledgedBy -eq "admin"'}
    ).json()
    assert [item["JobHistoryId"] for item in listed] == [failed]
    assert listed[0]["AcknowledgeNote"] == "ticket 42"
    assert listed[0]["AcknowledgedAt"].endswith("Z")

    undo = client.post("/KeyfactorAPI/OrchestratorJobs/Unacknowledge", json={"JobAuditIds": [failed]})
    assert undo.status_code == 204
    assert history_state(engine)[failed] == (5, 4, None, None)


BAD_BODIES = [
    ({"JobAuditIds": [1], "Query": "Status -eq 3"}, "not both"),
    ({}, "required"),
    ({"JobAuditIds": []}, "at least one"),
    ({"JobAuditIds": ["one", 2.5, True]}, "only integers"),
    ({"JobAuditIds": 5}, "array of integers"),
    ({"Query": "   "}, "blank"),
    ({"Query": 42}, "must be a string"),
]


def test_bad_bodies_are_refused_and_change_nothing(client: TestClient, engine: Engine) -> None:
    add_history(engine, result=4, status=3)
    before = history_state(engine)
    for payload, fragment in BAD_BODIES:
        response = client.post(URL, json=payload)
        assert response.status_code == 400, payload
        assert fragment in response.json()["Message"], (payload, response.json())
        assert response.json()["ErrorCode"].startswith("0xA011")
    assert history_state(engine) == before


def test_a_body_that_is_not_a_json_object_is_refused(client: TestClient, engine: Engine) -> None:
    for raw in (b"[1, 2]", b"not json", b"", b'"text"'):
        response = client.post(URL, content=raw, headers={"content-type": "application/json"})
        assert response.status_code == 400, raw
        assert set(response.json()) == {"ErrorCode", "Message"}


def test_malformed_queries_are_400_with_position_and_change_nothing(client: TestClient, engine: Engine) -> None:
    add_history(engine, result=4, status=3)
    before = history_state(engine)
    queries = [
        "(Result -eq 4 AND (Status -eq 3)",
        'Nonsense -eq "x"',
        "Result -like 4",
        'Message -eq "unterminated',
        'OperationStart -gt "yesterday-ish"',
        'Result -contains "4"',
        "Result -eq " + "4" * 9000,
    ]
    for query in queries:
        response = client.post(URL, json={"Query": query})
        assert response.status_code == 400, query
        message = response.json()["Message"]
        assert "position" in message, (query, message)
        assert "SELECT" not in message.upper() or "select" in query.lower()
    assert history_state(engine) == before


def test_sql_injection_is_a_plain_value(client: TestClient, engine: Engine) -> None:
    add_history(engine, result=4, status=3)
    before = history_state(engine)
    for query in ("Message -eq \"x' OR '1'='1\"", "Agent -eq '\"; DROP TABLE job_history; --'"):
        assert client.post(URL, json={"Query": query}).status_code == 204
    assert history_state(engine) == before


def test_too_many_ids_are_refused(client: TestClient, engine: Engine) -> None:
    response = client.post(URL, json={"JobAuditIds": list(range(1, 50_002))})
    assert response.status_code == 400
    assert "at most" in response.json()["Message"]


def test_digits_that_are_not_ascii_are_refused_not_a_server_error(client: TestClient, engine: Engine) -> None:
    # "²" passes str.isdigit() but not int(): numbers are read by one parser that takes ASCII digits only.
    add_history(engine, result=4, status=3)
    before = history_state(engine)
    for ids in (["²"], ["٣"], ["+1x"]):
        response = client.post(URL, json={"JobAuditIds": ids})
        assert response.status_code == 400, ids
        assert "only integers" in response.json()["Message"]
    for key, value in (("1", "²"), ("²", "7")):
        assert client.put(f"/KeyfactorAPI/AppSetting/{key}/Set", json={"Value": value}).status_code in (400, 404)
    assert history_state(engine) == before
