"""The audit log (docs/audit.md): every hooked change writes exactly one entry naming the caller, the action, the
rows and the details, in the change's transaction; a refused change writes none; GET /Audit lists the entries with
the query language, sorting and paging of every list."""

import json
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, insert
from starlette.testclient import TestClient

from orchjobs.settings import Settings
from orchjobs.store.tables import audit_log
from tests.api.test_authorization_matrix import _arranged, _call, _change_order
from tests.api.test_response_models import AGENT_ID
from tests.conftest import api_client
from tests.factories import BASE_TIME
from tests.live import ADMIN

AUDIT = "/KeyfactorAPI/Audit"
ADMIN_NAME = ADMIN[0]

# Each hooked route (called with the authorization matrix's request) and the action its entry records.
HOOKED: dict[tuple[str, str], str] = {
    ("PUT", "/KeyfactorAPI/AppSetting/{key}/Set"): "SetAppSetting",
    ("PUT", "/KeyfactorAPI/AppSetting"): "SetAppSetting",
    ("POST", "/KeyfactorAPI/Agents/Approve"): "Approve",
    ("POST", "/KeyfactorAPI/Agents/Disapprove"): "Disapprove",
    ("POST", "/KeyfactorAPI/Agents/Reset"): "Reset",
    ("POST", "/KeyfactorAPI/Agents/{agent_id}/Reset"): "Reset",
    ("POST", "/KeyfactorAPI/Agents/SetAuthCertificateReenrollment"): "SetAuthCertificateReenrollment",
    ("POST", "/KeyfactorAPI/Agents/{agent_id}/FetchLogs"): "FetchLogs",
    ("POST", "/KeyfactorAPI/OrchestratorJobs/Custom"): "ScheduleCustomJob",
    ("POST", "/KeyfactorAPI/OrchestratorJobs/Custom/Bulk"): "ScheduleCustomJob",
    ("POST", "/KeyfactorAPI/CertificateStores/Schedule"): "Schedule",
    ("POST", "/KeyfactorAPI/CertificateStores/Certificates/Add"): "AddCertificate",
    ("POST", "/KeyfactorAPI/CertificateStores/Certificates/Remove"): "RemoveCertificate",
    ("PUT", "/KeyfactorAPI/CertificateStores/DiscoveryJob"): "ScheduleDiscovery",
    ("POST", "/KeyfactorAPI/CertificateStores/Reenrollment"): "ScheduleReenrollment",
    ("POST", "/KeyfactorAPI/Security/Identities"): "CreateIdentity",
    ("DELETE", "/KeyfactorAPI/Security/Identities/{identity_id}"): "DeleteIdentity",
    ("POST", "/KeyfactorAPI/Security/Roles"): "CreateRole",
    ("PUT", "/KeyfactorAPI/Security/Roles"): "UpdateRole",
    ("DELETE", "/KeyfactorAPI/Security/Roles/{role_id}"): "DeleteRole",
    ("POST", "/KeyfactorAPI/Security/Roles/{role_id}/Copy"): "CopyRole",
    ("PUT", "/KeyfactorAPI/Security/Roles/{role_id}/Identities"): "SetRoleIdentities",
    ("POST", "/KeyfactorAPI/Security/Roles/{role_id}/Permissions/Global"): "AddRolePermissions",
    ("PUT", "/KeyfactorAPI/Security/Roles/{role_id}/Permissions/Global"): "SetRolePermissions",
    ("POST", "/KeyfactorAPI/OrchestratorJobs/Acknowledge"): "Acknowledge",
    ("POST", "/KeyfactorAPI/OrchestratorJobs/Unacknowledge"): "Unacknowledge",
    ("POST", "/KeyfactorAPI/OrchestratorJobs/Reschedule"): "Reschedule",
    ("POST", "/KeyfactorAPI/OrchestratorJobs/Unschedule"): "Unschedule",
}
RESOURCES = {
    "SetAppSetting": "AppSetting",
    "Approve": "Agents",
    "Disapprove": "Agents",
    "Reset": "Agents",
    "SetAuthCertificateReenrollment": "Agents",
    "FetchLogs": "Agents",
    "CreateIdentity": "SecurityIdentities",
    "DeleteIdentity": "SecurityIdentities",
    "Acknowledge": "JobHistory",
    "Unacknowledge": "JobHistory",
    "Reschedule": "JobHistory",
}


def entries(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    answer = client.get(AUDIT, params={"ReturnLimit": 100, **params})
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def test_every_hooked_change_writes_one_entry_naming_the_caller(settings: Settings, engine: Engine) -> None:
    values = _arranged(engine)
    wrong: dict[tuple[str, str], Any] = {}
    with api_client(settings) as client:
        for route in sorted(HOOKED, key=_change_order):
            before = {entry["Id"] for entry in entries(client)}
            answer = _call(client, route, values)
            assert 200 <= answer.status_code < 300, (route, answer.text)
            new = [entry for entry in entries(client) if entry["Id"] not in before]
            action = HOOKED[route]
            resource = RESOURCES.get(action, "SecurityRoles" if "Role" in action else "ScheduledJobs")
            if [(entry["Action"], entry["Actor"], entry["Resource"]) for entry in new] != [
                (action, ADMIN_NAME, resource)
            ]:
                wrong[route] = new
    assert not wrong, json.dumps({f"{method} {path}": new for (method, path), new in wrong.items()}, indent=1)


def test_an_entry_says_what_changed(client: TestClient, engine: Engine) -> None:
    _arranged(engine)

    client.put("/KeyfactorAPI/AppSetting/JobRetries/Set", json={"Value": "5"})
    client.post("/KeyfactorAPI/Agents/Approve", json=[str(AGENT_ID), str(AGENT_ID).upper()])

    approve, setting = entries(client, QueryString='Actor -eq "admin" AND Action -ne "Acknowledge"')
    assert setting["Details"] == {"ShortName": "JobRetries", "OldValue": "3", "NewValue": "5"}
    assert setting["RowCount"] == 1 and len(setting["Ids"]) == 1
    assert approve["Ids"] == [str(AGENT_ID)] and approve["RowCount"] == 1
    assert approve["Id"] > setting["Id"] and approve["At"] >= setting["At"]
    assert "Query" not in approve and "Details" not in approve


def test_a_refused_change_writes_no_entry(client: TestClient, engine: Engine) -> None:
    values = _arranged(engine)
    arranged = entries(client)
    unknown = str(uuid.uuid4())
    refused = [
        client.put("/KeyfactorAPI/AppSetting/JobRetries/Set", json={"Value": "101"}),
        client.put("/KeyfactorAPI/AppSetting", json=[{"Id": 3, "Value": "4"}, {"Id": 99, "Value": "1"}]),
        client.post("/KeyfactorAPI/Agents/Approve", json=[str(AGENT_ID), unknown]),
        client.post(f"/KeyfactorAPI/Agents/{unknown}/Reset"),
        client.post("/KeyfactorAPI/OrchestratorJobs/Custom", json={"AgentId": unknown, "JobTypeName": "Audit"}),
        client.post(
            "/KeyfactorAPI/CertificateStores/Schedule", json={"StoreIds": [unknown], "Schedule": {"Immediate": True}}
        ),
        client.post("/KeyfactorAPI/Security/Identities", json={"AccountName": ADMIN_NAME}),
        client.delete("/KeyfactorAPI/Security/Roles/1"),
        client.put(f"/KeyfactorAPI/Security/Roles/{values['role_id']}/Identities", json={"Ids": [987654]}),
    ]
    assert [answer.status_code for answer in refused if answer.status_code not in (400, 404)] == []
    assert entries(client) == arranged


def add_entries(engine: Engine) -> None:
    rows = [
        ("admin", "SetAppSetting", "AppSetting", 0, None),
        ("operator", "Acknowledge", "JobHistory", 1, "Status -eq 3"),
        ("admin", "Approve", "Agents", 2, None),
        ("admin", "SetAppSetting", "AppSetting", 3, None),
        ("(system)", "PruneHistory", "JobHistory", 4, None),
        ("admin", "SetAppSetting", "AppSetting", 5, None),
    ]
    with engine.begin() as conn:
        conn.execute(
            insert(audit_log),
            [
                {
                    "at": BASE_TIME + timedelta(minutes=minutes),
                    "actor": actor,
                    "action": action,
                    "resource": resource,
                    "query": query,
                    "row_count": minutes,
                    "details": json.dumps({"Step": minutes}),
                }
                for actor, action, resource, minutes, query in rows
            ],
        )


def test_the_list_queries_sorts_and_pages(client: TestClient, engine: Engine) -> None:
    add_entries(engine)

    newest_first = [entry["RowCount"] for entry in entries(client)]
    settings_by_admin = entries(client, QueryString='Action -eq "SetAppSetting" AND Actor -eq "admin"')
    count = client.get(f"{AUDIT}/Count", params={"pq.queryString": 'Action -eq "SetAppSetting"'}).json()
    page = entries(client, **{"pq.sortField": "Actor", "pq.sortAscending": "1", "pq.returnLimit": 2})
    second = entries(client, **{"pq.sortField": "RowCount", "pq.returnLimit": 2, "pq.pageReturned": 2})
    recent = entries(client, QueryString=f'At -ge "{(BASE_TIME + timedelta(minutes=4)).isoformat()}"')
    bad = client.get(AUDIT, params={"QueryString": 'Color -eq "red"'})

    assert newest_first == [5, 4, 3, 2, 1, 0]
    assert [entry["RowCount"] for entry in settings_by_admin] == [5, 3, 0]
    assert settings_by_admin[0]["Details"] == {"Step": 5}
    assert count == {"Count": 3}
    assert [entry["Actor"] for entry in page] == ["operator", "admin"]
    assert [entry["RowCount"] for entry in second] == [2, 3]
    assert [entry["RowCount"] for entry in recent] == [5, 4]
    assert bad.status_code == 400 and "Color" in bad.json()["Message"]
