"""The authorization matrix: every admin-API route called as every built-in role (and as an identity holding no
role) answers 2xx when the role holds every permission docs/permissions.md lists for the route, and 403 in
Command's shape, changing nothing, when it does not."""

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, func, insert, select
from starlette.testclient import TestClient

from orchjobs.api.permissions import PERMISSIONS, SIGNED_IN
from orchjobs.domain.permissions import BUILT_IN_ROLES, CONNECT_ORCHESTRATOR, grants
from orchjobs.service.users import create_user
from orchjobs.settings import Settings
from orchjobs.store.security import ensure_identity, grant_roles, role_ids
from orchjobs.store.tables import agent_capability, certificate_store_container, exists_on, metadata, user_account
from tests.api.test_response_models import AGENT_ID, PATH_VALUES, REQUESTS, STORE_TYPE, arrange
from tests.conftest import api_client, empty_database
from tests.factories import BASE_TIME, add_history, add_job

DOCS = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"
PASSWORD = "matrix-password"
ROLES = {role.name: role.permissions for role in BUILT_IN_ROLES} | {"(no role)": frozenset[str]()}

# A request that answers 2xx, for each route the response-model test does not already call.
EXTRA_REQUESTS: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/KeyfactorAPI/OrchestratorJobs/JobHistory/Export"): {"params": {"format": "csv"}},
    ("POST", "/KeyfactorAPI/OrchestratorJobs/Acknowledge"): {"json": {"JobAuditIds": ["{history_id}"]}},
    ("POST", "/KeyfactorAPI/OrchestratorJobs/Unacknowledge"): {"json": {"JobAuditIds": ["{history_id}"]}},
    ("POST", "/KeyfactorAPI/OrchestratorJobs/Reschedule"): {"json": {"JobAuditIds": ["{failed_run_id}"]}},
    ("POST", "/KeyfactorAPI/OrchestratorJobs/Unschedule"): {"json": {"Query": 'JobType -eq "FetchLogs"'}},
    ("POST", "/KeyfactorAPI/Agents/Approve"): {"json": [str(AGENT_ID)]},
    ("POST", "/KeyfactorAPI/Agents/Disapprove"): {"json": [str(AGENT_ID)]},
    ("POST", "/KeyfactorAPI/Agents/Reset"): {"json": [str(AGENT_ID)]},
    ("POST", "/KeyfactorAPI/Agents/{agent_id}/Reset"): {},
    ("POST", "/KeyfactorAPI/Agents/{agent_id}/FetchLogs"): {},
    ("DELETE", "/KeyfactorAPI/JobTypes/Custom/{job_type_id}"): {},
    ("DELETE", "/KeyfactorAPI/Webhooks/{webhook_id}"): {},
    ("DELETE", "/KeyfactorAPI/CertificateStores"): {"json": ["{store_id}"]},
    ("DELETE", "/KeyfactorAPI/CertificateStores/{store_id}"): {},
    ("PUT", "/KeyfactorAPI/CertificateStores/Password"): {
        "json": {"CertStoreId": "{store_id}", "NewPassword": {"SecretValue": "s"}}
    },
    ("POST", "/KeyfactorAPI/CertificateStores/Approve"): {"json": [{"Id": "{store_id}", "Properties": "{{}}"}]},
    ("POST", "/KeyfactorAPI/CertificateStores/Schedule"): {
        "json": {"StoreIds": ["{store_id}"], "Schedule": {"Immediate": True}}
    },
    ("PUT", "/KeyfactorAPI/CertificateStores/DiscoveryJob"): {
        "json": {"Type": 2, "AgentId": str(AGENT_ID), "Dirs": "/opt", "Extensions": "pem"}
    },
    ("POST", "/KeyfactorAPI/CertificateStores/Reenrollment"): {
        "json": {"KeystoreId": "{store_id}", "SubjectName": "CN=web01.example.com", "AgentGuid": str(AGENT_ID)}
    },
    ("DELETE", "/KeyfactorAPI/CertificateStoreTypes"): {"json": [STORE_TYPE.id]},
    ("DELETE", "/KeyfactorAPI/CertificateStoreTypes/{store_type_id}"): {},
    ("DELETE", "/KeyfactorAPI/CertificateStoreContainers/{container_id}"): {"values": {"container_id": "80"}},
    ("DELETE", "/KeyfactorAPI/AgentPools/{pool_id}"): {},
    ("DELETE", "/KeyfactorAPI/Security/Roles/{role_id}"): {},
    ("DELETE", "/KeyfactorAPI/Security/Identities/{identity_id}"): {},
}
MATRIX_REQUESTS = {**REQUESTS, **EXTRA_REQUESTS}
# The changes run on one database, in an order where none spoils a later one's request: deletions, then what ends
# the orchestrator's approval and stores, then the few that delete what another call took or still uses, each on
# a database of its own.
ENDS_THE_ORCHESTRATOR = [
    ("POST", "/KeyfactorAPI/Agents/Disapprove"),
    ("POST", "/KeyfactorAPI/Agents/{agent_id}/Reset"),
    ("POST", "/KeyfactorAPI/Agents/Reset"),
]
ON_A_FRESH_DATABASE = [
    ("DELETE", "/KeyfactorAPI/JobTypes/Custom/{job_type_id}"),
    ("DELETE", "/KeyfactorAPI/CertificateStores"),
    ("DELETE", "/KeyfactorAPI/CertificateStoreTypes"),
]


def _change_order(route: tuple[str, str]) -> tuple[int, int, tuple[str, str]]:
    if route in ON_A_FRESH_DATABASE:
        return 3, ON_A_FRESH_DATABASE.index(route), route
    if route in ENDS_THE_ORCHESTRATOR:
        return 2, ENDS_THE_ORCHESTRATOR.index(route), route
    return int(route[0] == "DELETE"), 0, route


def documented_permissions() -> dict[tuple[str, str], tuple[str, ...]]:
    """The route table of docs/permissions.md: what the matrix checks the service against."""
    rows = re.findall(r"^\| (GET|POST|PUT|DELETE) \| `([^`]+)` \| (.+) \|$", DOCS.read_text(), flags=re.MULTILINE)
    return {(method, path): tuple(re.findall(r"`([^`]+)`", needed)) for method, path, needed in rows}


def role_may(role: str, needed: tuple[str, ...]) -> bool:
    held = ROLES[role]
    if needed == (SIGNED_IN,):
        return any(grants(held, permission) for permission in held - {CONNECT_ORCHESTRATOR}) or "/" in held
    return all(grants(held, permission) for permission in needed)


def test_every_route_has_a_request_and_the_docs_list_every_route() -> None:
    assert set(MATRIX_REQUESTS) == set(PERMISSIONS)
    assert documented_permissions() == PERMISSIONS


def _call(client: TestClient, route: tuple[str, str], values: dict[str, str]) -> Any:
    method, path = route
    request = dict(MATRIX_REQUESTS[route])
    values = {**values, **request.pop("values", {})}
    options = {key: _formatted(option, values) for key, option in request.items()}
    return client.request(method, path.format(**values), **options)


def _formatted(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        formatted = value.format(**values)
        return int(formatted) if value in ("{history_id}", "{failed_run_id}") else formatted
    if isinstance(value, dict):
        return {key: _formatted(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [_formatted(item, values) for item in value]
    return value


def _arranged(engine: Engine) -> dict[str, str]:
    values = {**PATH_VALUES, **arrange(engine)}
    weekly = {"Weekly": {"Days": [2], "Time": "2026-11-30T08:30:00Z"}}
    job_id = add_job(
        engine, AGENT_ID, next_run_at=BASE_TIME, requested_at=BASE_TIME, schedule=weekly, type_name="Weekly"
    )
    values["failed_run_id"] = str(add_history(engine, job_id=job_id, agent_id=AGENT_ID, result=4, status=3))
    with engine.begin() as conn:
        conn.execute(insert(certificate_store_container).values(id=80, name="Unused", store_type_id=2))
        # What the discovery and reenrollment routes check the orchestrator for.
        conn.execute(
            insert(agent_capability),
            [{"agent_id": AGENT_ID, "capability": f"CertStores.PEM.{job}"} for job in ("Discovery", "Reenrollment")],
        )
    return values


def _snapshot(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in metadata.sorted_tables
            # open_failure_delta follows job_history, and the sweeper may fold its rows at any moment
            if exists_on(table, engine.dialect.name) and table.name != "open_failure_delta"
        }


# Cheap Argon2 parameters (a verify reads them from the hash), made once: the matrix logs in a few hundred times.
_HASH = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)


def _user_with(engine: Engine, role: str) -> tuple[str, str]:
    """A user holding `role` alone (or no role at all), as `orchjobs user add` makes one."""
    name = f"matrix-{role.strip('()').replace(' ', '-').lower()}"
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(insert(user_account).values(username=name, password_hash=_HASH, created_at=now))
        identity = ensure_identity(conn, account_name=name, identity_type="User", now=now)
        if role != "(no role)":
            grant_roles(conn, identity_id=identity, role_ids=role_ids(conn, names=[role]).values())
    return name, PASSWORD


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The arranged webhook rows are not for delivering.
    return settings.model_copy(update={"webhook_poll_seconds": 3600.0})


@pytest.mark.parametrize("role", sorted(ROLES))
def test_a_role_is_refused_every_route_it_lacks_a_permission_for(settings: Settings, engine: Engine, role: str) -> None:
    values = _arranged(engine)
    auth = _user_with(engine, role)
    refused = [route for route, needed in documented_permissions().items() if not role_may(role, needed)]
    before = _snapshot(engine)

    with api_client(settings, auth=auth) as client:
        answers = {route: _call(client, route, values) for route in refused}

    wrong = {route: (answer.status_code, answer.text) for route, answer in answers.items() if answer.status_code != 403}
    assert not wrong
    assert all(answer.json()["ErrorCode"] == "0xA0110012" for answer in answers.values())
    assert _snapshot(engine) == before


@pytest.mark.parametrize("role", sorted(ROLES))
def test_a_role_may_call_every_route_it_holds_the_permissions_for(
    settings: Settings, engine: Engine, database_url: str, role: str
) -> None:
    permitted = [route for route, needed in documented_permissions().items() if role_may(role, needed)]
    reads = [route for route in permitted if route[0] == "GET"]
    changes = [route for route in permitted if route[0] != "GET"]
    failures: dict[tuple[str, str], tuple[int, str]] = {}

    values = _arranged(engine)
    auth = _user_with(engine, role)
    with api_client(settings, auth=auth) as client:
        for route in reads:
            answer = _call(client, route, values)
            if not 200 <= answer.status_code < 300:
                failures[route] = (answer.status_code, answer.text)
        for route in sorted(changes, key=_change_order):
            if route in ON_A_FRESH_DATABASE:
                empty_database(database_url)
                values = _arranged(engine)
                _user_with(engine, role)
            answer = _call(client, route, values)
            if not 200 <= answer.status_code < 300:
                failures[route] = (answer.status_code, answer.text)

    assert not failures, "\n".join(f"{route}: {status} {text}" for route, (status, text) in failures.items())


def test_an_orchestrator_account_cannot_approve_itself(settings: Settings, engine: Engine) -> None:
    """The attack that started this: an orchestrator registers with its own account, then approves itself and
    disapproves another, with the same credentials."""
    from orchjobs.api import paths
    from tests.api.test_agent_session import REGISTER, registration

    create_user(engine, username="orch-01", password=PASSWORD, roles=["Orchestrator"], now=datetime.now(UTC))
    with api_client(settings, auth=("orch-01", PASSWORD), headers=None) as orchestrator:
        session = orchestrator.post(REGISTER, json=registration(ClientMachine="orch-01.example.com")).json()
        agent_id = session["Session"]["AgentId"]
        assert session["Result"] == {"Status": 1}
        other = str(uuid.uuid4())
        approve = orchestrator.post(
            f"{paths.ORCHESTRATORS}/Approve", json=[agent_id], headers={"x-keyfactor-requested-with": "APIClient"}
        )
        disapprove = orchestrator.post(
            f"{paths.ORCHESTRATORS}/Disapprove", json=[other], headers={"x-keyfactor-requested-with": "APIClient"}
        )
        endpoints = orchestrator.get(f"{paths.STATUS}/Endpoints", headers={"x-keyfactor-requested-with": "APIClient"})
    assert [approve.status_code, disapprove.status_code, endpoints.status_code] == [403, 403, 403]
    with api_client(settings) as admin:
        assert admin.get(f"{paths.ORCHESTRATORS}/{agent_id}").json()["Status"] == 1


def test_registering_needs_the_orchestrator_permission(settings: Settings, engine: Engine) -> None:
    from tests.api.test_agent_session import REGISTER, registration

    create_user(engine, username="reader", password=PASSWORD, roles=["Auditor"], now=datetime.now(UTC))
    with api_client(settings, auth=("reader", PASSWORD), headers=None) as reader:
        refused = reader.post(REGISTER, json=registration())
    assert refused.status_code == 403, refused.text
    assert "/agents/connect/" in refused.text, refused.text
    assert _snapshot(engine)["agent"] == 0


def test_status_endpoints_lists_only_what_the_caller_may_call(settings: Settings, engine: Engine) -> None:
    from orchjobs.api import paths

    create_user(engine, username="watcher", password=PASSWORD, roles=["Operator"], now=datetime.now(UTC))
    with api_client(settings, auth=("watcher", PASSWORD)) as operator:
        listed = set(operator.get(f"{paths.STATUS}/Endpoints").json())
    with api_client(settings) as admin:
        everything = set(admin.get(f"{paths.STATUS}/Endpoints").json())
    expected = {
        f"{method} {path}"
        for (method, path), needed in documented_permissions().items()
        if role_may("Operator", needed)
    }
    assert listed == expected
    assert "POST /KeyfactorAPI/OrchestratorJobs/Acknowledge" in listed
    assert "POST /KeyfactorAPI/Agents/Approve" not in listed
    assert not any(endpoint.split(" ", 1)[1].startswith(paths.AGENTS) for endpoint in listed)
    assert expected < everything and "POST /KeyfactorAgents/Session/Register" in everything
