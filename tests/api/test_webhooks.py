"""/KeyfactorAPI/Webhooks through HTTP, on both databases: create, read, list, change, delete, the delivery log,
and every refusal (nothing changed)."""

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient

from orchjobs.service.users import create_user
from orchjobs.settings import Settings
from orchjobs.store.tables import webhook
from tests.conftest import api_client
from tests.live import ADMIN
from tests.webhooks import NOW, add_webhook_rows, clean_webhooks

URL = "/KeyfactorAPI/Webhooks"
HOOK = {"Url": "https://hooks.example.com/orchjobs", "Events": ["RunFailed"]}


@pytest.fixture
def settings(database_url: str) -> Settings:
    # The app's own worker never runs during these tests.
    return Settings(database_url=database_url, bootstrap_admin=f"{ADMIN[0]}:{ADMIN[1]}", webhook_poll_seconds=3600)


@pytest.fixture(autouse=True)
def _clean(engine: Engine) -> Iterator[None]:
    with clean_webhooks(engine):
        yield


def create(client: TestClient, **fields: Any) -> dict[str, Any]:
    response = client.post(URL, json=HOOK | fields)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def stored(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(webhook).order_by(webhook.c.created_at)))


def assert_refused(response: Any, status: int, fragment: str, *, code: str = "0xA0110001") -> None:
    assert response.status_code == status, response.text
    assert response.json()["ErrorCode"] == code
    assert fragment in response.json()["Message"]


# --- create and read -------------------------------------------------------------------------


def test_create_answers_the_webhook_and_a_generated_secret_once(client: TestClient, engine: Engine) -> None:
    answer = create(
        client,
        Events=["runfailed", "RunCompleted", "RunFailed"],
        Query='Agent -eq "web01" AND JobType -eq Inventory',
        Description="to the pager",
    )

    secret = answer.pop("Secret")
    assert len(secret) == 64
    created_at = answer.pop("CreatedAt")
    assert datetime.fromisoformat(created_at.replace("Z", "+00:00")).tzinfo is not None
    assert answer == {
        "Id": answer["Id"],
        "Url": "https://hooks.example.com/orchjobs",
        "Events": ["RunCompleted", "RunFailed"],
        "Query": 'Agent -eq "web01" AND JobType -eq Inventory',
        "Enabled": True,
        "Description": "to the pager",
    }
    (row,) = stored(engine)
    assert (str(row.id), row.secret, row.events) == (answer["Id"], secret, "RunCompleted,RunFailed")

    read = client.get(f"{URL}/{answer['Id']}").json()
    assert read == answer | {"CreatedAt": created_at}
    assert "Secret" not in read and "Secret" not in client.get(URL).json()[0]


def test_a_chosen_secret_is_kept_and_never_answered(client: TestClient, engine: Engine) -> None:
    answer = create(client, Secret="correct horse battery staple", Enabled=False)

    assert "Secret" not in answer
    assert answer["Enabled"] is False
    assert "Query" not in answer and "Description" not in answer
    assert stored(engine)[0].secret == "correct horse battery staple"


def test_keys_are_matched_case_insensitively(client: TestClient) -> None:
    response = client.post(URL, json={"url": "HTTP://hooks.example.com", "events": ["failuresacknowledged"]})
    assert response.status_code == 200, response.text
    assert response.json()["Events"] == ["FailuresAcknowledged"]


def test_unknown_and_malformed_ids(client: TestClient) -> None:
    missing = uuid.uuid4()
    assert_refused(client.get(f"{URL}/{missing}"), 404, f"Webhook {missing} was not found", code="0xA0110014")
    assert_refused(client.get(f"{URL}/not-a-guid"), 400, "'not-a-guid' is not a webhook id")
    assert_refused(client.put(f"{URL}/{missing}", json={"Enabled": False}), 404, "was not found", code="0xA0110014")
    assert_refused(client.delete(f"{URL}/{missing}"), 404, "was not found", code="0xA0110014")
    assert_refused(client.get(f"{URL}/{missing}/Deliveries"), 404, "was not found", code="0xA0110014")


# --- list ------------------------------------------------------------------------------------


def test_list_filters_sorts_and_pages(client: TestClient) -> None:
    ids = {
        name: create(client, Url=f"https://{name}.example.com/hook", Events=events)["Id"]
        for name, events in (
            ("charlie", ["RunFailed"]),
            ("alpha", ["RunCompleted", "RunFailed"]),
            ("bravo", ["FailuresAcknowledged"]),
        )
    }

    def listed(**params: Any) -> list[str]:
        response = client.get(URL, params=params)
        assert response.status_code == 200, response.text
        return [item["Id"] for item in response.json()]

    assert listed() == [ids["charlie"], ids["alpha"], ids["bravo"]]  # oldest first
    assert listed(**{"pq.queryString": "Events -contains runfailed"}) == [ids["charlie"], ids["alpha"]]
    assert listed(QueryString=f'Id -eq "{ids["bravo"]}"') == [ids["bravo"]]
    assert listed(SortField="Url") == [ids["alpha"], ids["bravo"], ids["charlie"]]
    assert listed(SortField="Url", SortAscending=1, ReturnLimit=2, PageReturned=2) == [ids["alpha"]]
    assert_refused(client.get(URL, params={"SortField": "Secret"}), 400, "Invalid sort field", code="0xA011004A")
    assert_refused(client.get(URL, params={"QueryString": "Secret -eq x"}), 400, "unknown field", code="0xA0110040")


# --- change and delete -----------------------------------------------------------------------


def test_put_changes_only_what_it_carries(client: TestClient, engine: Engine) -> None:
    created = create(client, Secret="a secret of sixteen", Query="Result -eq Failure", Description="old")

    response = client.put(
        f"{URL}/{created['Id']}",
        json={"Url": "http://other.example.com:8080/x", "Events": ["RunCompleted"], "Enabled": False},
    )

    assert response.status_code == 200, response.text
    changed = response.json()
    assert "Secret" not in changed
    assert changed == created | {"Url": "http://other.example.com:8080/x", "Events": ["RunCompleted"], "Enabled": False}
    assert stored(engine)[0].secret == "a secret of sixteen"

    cleared = client.put(f"{URL}/{created['Id']}", json={"Query": "", "Description": None, "Secret": "x" * 20}).json()
    assert "Query" not in cleared and "Description" not in cleared
    assert stored(engine)[0].secret == "x" * 20
    assert client.put(f"{URL}/{created['Id']}", json={}).json() == cleared


def test_delete_removes_the_webhook_and_its_log(client: TestClient, engine: Engine) -> None:
    webhook_id = add_webhook_rows(engine)["webhook_id"]
    assert len(client.get(f"{URL}/{webhook_id}/Deliveries").json()) == 2

    response = client.delete(f"{URL}/{webhook_id}")

    assert response.status_code == 204
    assert response.content == b""
    assert client.get(f"{URL}/{webhook_id}").status_code == 404
    assert [str(row.id) for row in stored(engine)] != [] and webhook_id not in [str(row.id) for row in stored(engine)]


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "fragment", "code"),
    [
        ({"Events": ["RunFailed"]}, "Url is required", "0xA0110001"),
        ({"Url": "https://x.example.com"}, "Events is required", "0xA0110001"),
        (HOOK | {"Url": "ftp://files.example.com/x"}, "must be an http:// or https:// address, not ftp", "0xA0110001"),
        (HOOK | {"Url": "javascript:alert(1)"}, "http:// or https://", "0xA0110001"),
        (HOOK | {"Url": "https:///no-host"}, "must name a host", "0xA0110001"),
        (HOOK | {"Url": "https://x.example.com:99999/"}, "not a valid address", "0xA0110001"),
        (HOOK | {"Url": "https://x.example.com/a b"}, "spaces or control characters", "0xA0110001"),
        (HOOK | {"Url": "https://x.example.com/" + "a" * 2048}, "at most 2048", "0xA0110001"),
        (HOOK | {"Url": 42}, "Url must be a string", "0xA0110001"),
        (HOOK | {"Events": []}, "non-empty list", "0xA0110001"),
        (HOOK | {"Events": "RunFailed"}, "Events must be a list", "0xA0110001"),
        (HOOK | {"Events": ["RunFailed", "JobDeleted", 7]}, 'not events: "JobDeleted", 7', "0xA0110001"),
        (HOOK | {"Secret": "too short"}, "Secret must be 16 to 255 characters", "0xA0110001"),
        (HOOK | {"Secret": 1234567890123456789}, "Secret must be a string", "0xA0110001"),
        (HOOK | {"Enabled": "yes"}, "Enabled must be true or false", "0xA0110001"),
        (HOOK | {"Description": "d" * 2001}, "at most 2000", "0xA0110001"),
        (HOOK | {"Query": 'Result -eq Failure AND Agent -zz "x"'}, "at position 29", "0xA0110040"),
        (HOOK | {"Query": "Secret -eq x"}, "unknown field 'Secret' for JobHistory", "0xA0110040"),
    ],
)
def test_bad_webhooks_are_refused_and_nothing_is_stored(
    client: TestClient, engine: Engine, body: dict[str, Any], fragment: str, code: str
) -> None:
    assert_refused(client.post(URL, json=body), 400, fragment, code=code)
    assert stored(engine) == []


def test_a_bad_change_changes_nothing(client: TestClient, engine: Engine) -> None:
    created = create(client)
    before = stored(engine)

    for body in ({"Url": "gopher://x"}, {"Events": ["Nope"]}, {"Query": "Result -eq"}, {"Enabled": 1}, [1]):
        assert client.put(f"{URL}/{created['Id']}", json=body).status_code == 400

    assert stored(engine) == before


def test_only_settings_modifiers_change_webhooks(settings: Settings, engine: Engine, client: TestClient) -> None:
    created = create(client)
    create_user(engine, username="operator", password="operator-password", roles=["Operator"], now=NOW)

    with api_client(settings, auth=("operator", "operator-password")) as operator:
        assert operator.get(URL).status_code == 200
        assert operator.get(f"{URL}/{created['Id']}/Deliveries").status_code == 200
        for response in (
            operator.post(URL, json=HOOK),
            operator.put(f"{URL}/{created['Id']}", json={"Enabled": False}),
            operator.delete(f"{URL}/{created['Id']}"),
        ):
            assert_refused(response, 403, "does not hold /application_settings/modify/", code="0xA0110012")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(webhook)).scalar_one() == 1


# --- the delivery log ------------------------------------------------------------------------


def test_the_delivery_log_is_paged_newest_first_and_filtered(client: TestClient, engine: Engine) -> None:
    webhook_id = add_webhook_rows(engine)["webhook_id"]
    log_url = f"{URL}/{webhook_id}/Deliveries"

    full, bare = client.get(log_url).json()

    assert bare == {
        "Id": bare["Id"],
        "WebhookId": webhook_id,
        "EventId": bare["EventId"],
        "Event": "RunFailed",
        "Status": 2,
        "Attempts": 0,
        "CreatedAt": "2026-11-29T12:00:00Z",
    }
    assert full["Id"] > bare["Id"] and full["Status"] == 1  # newest first; DeliveredAt set
    assert (full["LastStatusCode"], full["LastError"]) == (500, "The receiver answered HTTP 500.")
    assert [item["Id"] for item in client.get(log_url, params={"ReturnLimit": 1, "PageReturned": 2}).json()] == [
        bare["Id"]
    ]
    assert client.get(log_url, params={"QueryString": "Attempts -gt 1"}).json() == [full]
    assert client.get(log_url, params={"SortField": "Id", "SortAscending": 0}).json() == [bare, full]
    assert_refused(client.get(log_url, params={"QueryString": "Url -eq x"}), 400, "unknown field", code="0xA0110040")
