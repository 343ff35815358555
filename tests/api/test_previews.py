"""Preview with a commit token (extension): POST …/Acknowledge/Preview, /Unacknowledge/Preview, /Reschedule/Preview
and /Unschedule/Preview answer what the request would change and a token; the request sent with that token changes
exactly the previewed rows, or nothing. On both databases."""

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from orchjobs.settings import Settings
from tests.conftest import SteppingClock, api_client
from tests.factories import BASE_TIME, add_history, history_state
from tests.scheduling import NOW, add_agent, add_job, add_run, job_row, snapshot

JOBS = "/KeyfactorAPI/OrchestratorJobs"
FAILED = "Result -eq Failure"


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock(NOW)


@pytest.fixture
def admin(settings: Settings, clock: SteppingClock) -> Iterator[TestClient]:
    with api_client(settings, clock=clock) as test_client:
        yield test_client


def _preview(admin: TestClient, action: str, body: dict[str, Any]) -> dict[str, Any]:
    response = admin.post(f"{JOBS}/{action}/Preview", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _refusal(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.json()["ErrorCode"] == code
    message: str = response.json()["Message"]
    return message


def test_a_preview_counts_what_acknowledge_would_change_and_changes_nothing(admin: TestClient, engine: Engine) -> None:
    failed = [add_history(engine, result=4, status=3) for _ in range(3)]
    acknowledged = add_history(engine, result=4, status=4, status_before_ack=3, acknowledged_by="someone")
    add_history(engine, result=2, status=3)
    before = history_state(engine)

    answer = _preview(admin, "Acknowledge", {"Query": "result -EQ failure"})

    assert answer["Selected"] == 4
    assert answer["Eligible"] == 3
    assert answer["Ids"] == failed
    assert acknowledged not in answer["Ids"]
    assert answer["Query"] == "Result -eq failure"
    assert answer["PreviewToken"]
    assert answer["ExpiresAt"].startswith("2026-11-29T12:15:00")
    assert history_state(engine) == before


def test_acknowledge_with_the_token_changes_exactly_the_previewed_rows(
    admin: TestClient, engine: Engine, clock: SteppingClock
) -> None:
    failed = [add_history(engine, result=4, status=3) for _ in range(2)]
    token = _preview(admin, "Acknowledge", {"Query": FAILED})["PreviewToken"]
    # Recorded after the preview: not part of what was previewed, so it stays open.
    later = add_history(engine, result=4, status=3)
    clock.advance(minutes=5)

    # The same request in another spelling: the normalized query is what the token binds to.
    response = admin.post(
        f"{JOBS}/Acknowledge", json={"query": "RESULT -EQ Failure", "PreviewToken": token, "Note": "ok"}
    )

    assert response.status_code == 204, response.text
    state = history_state(engine)
    assert [state[row_id][:3] for row_id in failed] == [(4, 4, "admin")] * 2
    assert state[later][:3] == (3, 4, None)
    (entry,) = admin.get("/KeyfactorAPI/Audit", params={"QueryString": "Action -eq Acknowledge"}).json()
    assert (entry["Actor"], entry["RowCount"], entry["Query"]) == ("admin", 2, "RESULT -EQ Failure")
    assert entry["Details"] == {"Note": "ok", "PreviewedAt": NOW.isoformat()}


def test_a_change_to_the_previewed_rows_meanwhile_refuses_the_commit(admin: TestClient, engine: Engine) -> None:
    failed = [add_history(engine, result=4, status=3) for _ in range(3)]
    token = _preview(admin, "Acknowledge", {"Query": FAILED})["PreviewToken"]
    assert admin.post(f"{JOBS}/Acknowledge", json={"JobAuditIds": [failed[0]]}).status_code == 204
    before = history_state(engine)

    message = _refusal(
        admin.post(f"{JOBS}/Acknowledge", json={"Query": FAILED, "PreviewToken": token}), 409, "0xA0110071"
    )

    assert "3 then, 2 now" in message
    assert history_state(engine) == before


def test_the_same_number_of_other_rows_is_a_change_too(admin: TestClient, engine: Engine) -> None:
    """One previewed row left the set and an older one came back into it: same count, other rows."""
    earlier = add_history(engine, result=4, status=4, status_before_ack=3, acknowledged_by="someone")
    failed = [add_history(engine, result=4, status=3) for _ in range(2)]
    token = _preview(admin, "Acknowledge", {"Query": FAILED})["PreviewToken"]
    assert admin.post(f"{JOBS}/Acknowledge", json={"JobAuditIds": [failed[0]]}).status_code == 204
    assert admin.post(f"{JOBS}/Unacknowledge", json={"JobAuditIds": [earlier]}).status_code == 204
    before = history_state(engine)

    response = admin.post(f"{JOBS}/Acknowledge", json={"Query": FAILED, "PreviewToken": token})

    _refusal(response, 409, "0xA0110071")
    assert history_state(engine) == before


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"), id="altered-signature"),
        pytest.param(lambda token: "x" + token, id="altered-body"),
        pytest.param(lambda _token: "not-a-token", id="garbage"),
        pytest.param(lambda _token: "a." * 600, id="oversized"),
    ],
)
def test_a_forged_token_is_refused(admin: TestClient, engine: Engine, tamper: Any) -> None:
    add_history(engine, result=4, status=3)
    token = _preview(admin, "Acknowledge", {"Query": FAILED})["PreviewToken"]
    before = history_state(engine)

    response = admin.post(f"{JOBS}/Acknowledge", json={"Query": FAILED, "PreviewToken": tamper(token)})

    assert "preview token cannot be used" in _refusal(response, 400, "0xA0110070")
    assert history_state(engine) == before


def test_a_token_is_refused_for_another_body_another_action_and_after_it_expires(
    admin: TestClient, engine: Engine, clock: SteppingClock
) -> None:
    failed = add_history(engine, result=4, status=3)
    token = _preview(admin, "Acknowledge", {"Query": FAILED})["PreviewToken"]
    before = history_state(engine)

    other_query = admin.post(f"{JOBS}/Acknowledge", json={"Query": "Result -eq Warning", "PreviewToken": token})
    by_ids = admin.post(f"{JOBS}/Acknowledge", json={"JobAuditIds": [failed], "PreviewToken": token})
    other_action = admin.post(f"{JOBS}/Unacknowledge", json={"Query": FAILED, "PreviewToken": token})
    clock.advance(minutes=16)
    expired = admin.post(f"{JOBS}/Acknowledge", json={"Query": FAILED, "PreviewToken": token})

    assert "another selection" in _refusal(other_query, 400, "0xA0110070")
    assert "another selection" in _refusal(by_ids, 400, "0xA0110070")
    assert "issued for Acknowledge, not Unacknowledge" in _refusal(other_action, 400, "0xA0110070")
    assert "expired" in _refusal(expired, 400, "0xA0110070")
    assert history_state(engine) == before


def test_a_preview_resolves_relative_times_once_for_its_commit(
    admin: TestClient, engine: Engine, clock: SteppingClock
) -> None:
    """`%TODAY%` means the preview's day at the commit, however late the commit comes within the token's life."""
    clock.now = BASE_TIME.replace(hour=23, minute=55)
    today = add_history(engine, result=4, status=3, operation_start=BASE_TIME)
    query = f"{FAILED} AND OperationStart -eq %TODAY%"
    answer = _preview(admin, "Acknowledge", {"Query": query})
    clock.advance(minutes=10)  # the next day now

    response = admin.post(f"{JOBS}/Acknowledge", json={"Query": query, "PreviewToken": answer["PreviewToken"]})

    assert answer["Eligible"] == 1
    assert response.status_code == 204, response.text
    assert history_state(engine)[today][0] == 4


def test_a_preview_by_ids_and_its_commit(admin: TestClient, engine: Engine) -> None:
    failed = [add_history(engine, result=4, status=3) for _ in range(2)]
    answer = _preview(admin, "Acknowledge", {"JobAuditIds": [failed[1], failed[0], failed[1]]})

    response = admin.post(f"{JOBS}/Acknowledge", json={"JobAuditIds": failed, "PreviewToken": answer["PreviewToken"]})

    assert (answer["Selected"], answer["Eligible"], answer["Ids"]) == (2, 2, failed)
    assert "Query" not in answer
    assert response.status_code == 204, response.text
    assert {history_state(engine)[row_id][0] for row_id in failed} == {4}


def test_unacknowledge_previews_and_commits(admin: TestClient, engine: Engine) -> None:
    acknowledged = [
        add_history(engine, result=4, status=4, status_before_ack=3, acknowledged_by="someone") for _ in range(2)
    ]
    add_history(engine, result=4, status=3)
    answer = _preview(admin, "Unacknowledge", {"Query": FAILED})

    response = admin.post(f"{JOBS}/Unacknowledge", json={"Query": FAILED, "PreviewToken": answer["PreviewToken"]})

    assert (answer["Selected"], answer["Eligible"], answer["Ids"]) == (3, 2, acknowledged)
    assert response.status_code == 204, response.text
    assert {history_state(engine)[row_id][0] for row_id in acknowledged} == {3}


def test_reschedule_previews_the_jobs_it_would_make_due(admin: TestClient, engine: Engine) -> None:
    agent_id = add_agent(engine)
    job_ids = [add_job(engine, agent_id, "Management", next_run_at=None) for _ in range(2)]
    for job_id in job_ids:
        add_run(engine, job_id)
    answer = _preview(admin, "Reschedule", {"Query": FAILED})

    response = admin.post(f"{JOBS}/Reschedule", json={"Query": FAILED, "PreviewToken": answer["PreviewToken"]})

    assert (answer["Selected"], answer["Eligible"]) == (2, 2)
    assert sorted(answer["Ids"]) == sorted(str(job_id) for job_id in job_ids)
    assert response.status_code == 204, response.text
    assert all(job_row(engine, job_id).next_run_at == NOW for job_id in job_ids)


def test_unschedule_previews_and_refuses_once_the_jobs_changed(admin: TestClient, engine: Engine) -> None:
    agent_id = add_agent(engine)
    jobs = [add_job(engine, agent_id, "Management") for _ in range(3)]
    query = 'JobType -eq "Management"'
    answer = _preview(admin, "Unschedule", {"Query": query})
    assert admin.post(f"{JOBS}/Unschedule", json={"JobIds": [str(jobs[0])]}).status_code == 204
    before = snapshot(engine)

    changed = admin.post(f"{JOBS}/Unschedule", json={"Query": query, "PreviewToken": answer["PreviewToken"]})
    after_refusal = snapshot(engine)
    fresh = _preview(admin, "Unschedule", {"Query": query})
    committed = admin.post(f"{JOBS}/Unschedule", json={"Query": query, "PreviewToken": fresh["PreviewToken"]})

    assert (answer["Selected"], answer["Eligible"]) == (3, 3)
    _refusal(changed, 409, "0xA0110071")
    assert after_refusal == before
    assert (fresh["Selected"], fresh["Eligible"]) == (2, 2)
    assert committed.status_code == 204, committed.text
    assert all(job_row(engine, job_id) is None for job_id in jobs)


def test_a_preview_of_a_bad_request_is_refused_like_the_request(admin: TestClient, engine: Engine) -> None:
    add_history(engine, result=4, status=3)

    bad_query = admin.post(f"{JOBS}/Acknowledge/Preview", json={"Query": "Result -eq"})
    both = admin.post(f"{JOBS}/Acknowledge/Preview", json={"Query": FAILED, "JobAuditIds": [1]})

    assert bad_query.status_code == 400 and bad_query.json()["ErrorCode"] == "0xA0110040"
    assert both.status_code == 400


def test_me_in_a_bulk_query_is_the_caller(admin: TestClient, engine: Engine) -> None:
    mine = add_history(engine, result=4, status=4, status_before_ack=3, acknowledged_by="admin")
    theirs = add_history(engine, result=4, status=4, status_before_ack=3, acknowledged_by="someone")
    body = {"Query": "AcknowledgedBy -eq %ME%"}

    answer = _preview(admin, "Unacknowledge", body)
    response = admin.post(f"{JOBS}/Unacknowledge", json={**body, "PreviewToken": answer["PreviewToken"]})

    assert answer["Ids"] == [mine]
    assert response.status_code == 204, response.text
    state = history_state(engine)
    assert (state[mine][0], state[theirs][0]) == (3, 4)
