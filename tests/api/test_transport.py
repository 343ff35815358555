"""Command's transport rules: headers, Basic auth, case-insensitive paths, the error body."""

from sqlalchemy import Engine, delete, select
from starlette.testclient import TestClient

from orchjobs.settings import Settings
from orchjobs.store.tables import user_account
from tests.conftest import ADMIN, api_client

HISTORY = "/KeyfactorAPI/OrchestratorJobs/JobHistory"


def test_status_endpoints_answers_a_list_of_strings(client: TestClient) -> None:
    response = client.get("/KeyfactorAPI/Status/Endpoints")
    assert response.status_code == 200
    endpoints = response.json()
    assert "POST /KeyfactorAPI/OrchestratorJobs/Acknowledge" in endpoints
    assert all(isinstance(item, str) for item in endpoints)


def test_every_response_carries_the_product_version(client: TestClient) -> None:
    assert client.get(HISTORY).headers["x-keyfactor-product-version"] == "12.4.0.0"
    assert client.get("/nowhere").headers["x-keyfactor-product-version"] == "12.4.0.0"


def test_missing_requested_with_header_is_400(settings: Settings) -> None:
    with api_client(settings, headers=None) as bare:
        response = bare.get(HISTORY)
        assert response.status_code == 400
        assert "x-keyfactor-requested-with" in response.json()["Message"]
        assert bare.get(HISTORY, headers={"X-Keyfactor-Requested-With": "XMLHttpRequest"}).status_code == 200


def test_missing_or_wrong_credentials_are_401(settings: Settings) -> None:
    with api_client(settings, auth=None) as anonymous:
        for auth in (None, ("admin", "wrong-password"), ("nobody", "admin-password")):
            response = anonymous.get(HISTORY, auth=auth)
            assert response.status_code == 401
            assert response.headers["www-authenticate"].startswith("Basic")
            assert set(response.json()) == {"ErrorCode", "Message"}
        garbled = anonymous.get(HISTORY, headers={"Authorization": "Basic !!!notbase64"})
        assert garbled.status_code == 401


def test_domain_qualified_user_names_are_accepted(settings: Settings) -> None:
    with api_client(settings, auth=None) as anonymous:
        assert anonymous.get(HISTORY, auth=("CORP\\admin", ADMIN[1])).status_code == 200
        assert anonymous.get(HISTORY, auth=("admin@corp.example.com", ADMIN[1])).status_code == 200


def test_paths_are_case_insensitive(client: TestClient) -> None:
    assert client.get("/keyfactorapi/orchestratorjobs/jobhistory").status_code == 200
    assert client.get("/KeyfactorApi/OrchestratorJobs/JobHistory/").status_code == 200
    assert client.get("/KEYFACTORAPI/appsetting/jobfailuresandwarningsageout").status_code == 200


def test_unknown_routes_are_404_in_command_shape(client: TestClient) -> None:
    response = client.get("/KeyfactorAPI/NoSuchThing")
    assert response.status_code == 404
    assert set(response.json()) == {"ErrorCode", "Message"}


def test_a_database_outage_is_503_without_internals(tmp_path) -> None:  # type: ignore[no-untyped-def]
    unreachable = Settings(database_url="postgresql://nobody@127.0.0.1:1/none", db_pool_size=1)
    with api_client(unreachable) as client:
        response = client.get(HISTORY)
    assert response.status_code == 503
    assert "psycopg" not in response.text and "127.0.0.1" not in response.text


def test_the_bootstrap_administrator_is_created_with_an_argon2_hash(settings: Settings, engine: Engine) -> None:
    # The test databases already hold ADMIN (conftest); without it, start-up creates it from the setting.
    with engine.begin() as conn:
        conn.execute(delete(user_account))
    with api_client(settings) as client:
        assert client.get(HISTORY).status_code == 200
    with engine.connect() as conn:
        row = conn.execute(select(user_account)).one()
    assert row.username == ADMIN[0]
    assert row.password_hash.startswith("$argon2id$") and "m=65536" in row.password_hash
