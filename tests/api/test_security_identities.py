"""/KeyfactorAPI/Security/Identities and /Security/My through HTTP on both databases: the list and its query, add,
look up, what an identity may do, delete; what the caller holds; who may call the Security API; and that a changed
role counts on the very next call."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from orchjobs.domain.permissions import CATALOGUE
from orchjobs.service.users import create_user
from orchjobs.settings import Settings
from tests import gojson
from tests.conftest import api_client
from tests.gojson import Struct

URL = "/KeyfactorAPI/Security/Identities"
ROLES = "/KeyfactorAPI/Security/Roles"
MY = "/KeyfactorAPI/Security/My"
V2 = {"x-keyfactor-api-version": "2"}
INVALID, NOT_FOUND, FORBIDDEN = "0xA0110001", "0xA0110014", "0xA0110012"
ADMINISTRATOR, OPERATOR, AUDITOR, ORCHESTRATOR = 1, 2, 3, 4
CAROL = ("carol", "carol-password")

# keyfactor-go-client v3 (v3/api/security_models.go): what GetSecurityIdentities and CreateSecurityIdentity decode.
Struct(
    "SecurityRoleInformation", {"Id,omitempty": "int", "Name,omitempty": "string", "Description,omitempty": "string"}
)
Struct(
    "GetSecurityIdentityResponse",
    {
        "Id,omitempty": "int",
        "AccountName,omitempty": "string",
        "IdentityType,omitempty": "string",
        "Roles,omitempty": "[]SecurityRoleInformation",
        "Valid,omitempty": "bool",
    },
)


def refused(response: Any, status: int = 400, code: str = INVALID) -> str:
    assert response.status_code == status, response.text
    answer = response.json()
    assert set(answer) == {"ErrorCode", "Message"} and answer["ErrorCode"] == code, answer
    message: str = answer["Message"]
    return message


def add(client: TestClient, account_name: str, **fields: Any) -> dict[str, Any]:
    response = client.post(URL, json={"AccountName": account_name, **fields})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def listed(client: TestClient) -> list[dict[str, Any]]:
    response = client.get(URL, params={"ReturnLimit": 1000})
    assert response.status_code == 200, response.text
    answer: list[dict[str, Any]] = response.json()
    return answer


def add_user(engine: Engine, roles: list[str], user: tuple[str, str] = CAROL) -> None:
    create_user(engine, username=user[0], password=user[1], roles=roles, now=datetime.now(UTC))


def test_identities_list_with_their_roles_and_query_and_page(client: TestClient) -> None:
    ops = add(client, "CORP\\ops")
    group = add(client, "CORP\\PKI Admins", IdentityType="group")
    client.put(f"{ROLES}/{OPERATOR}/Identities", json=[ops["Id"], group["Id"]])
    client.put(f"{ROLES}/{AUDITOR}/Identities", json=[ops["Id"]])

    everyone = listed(client)
    groups = client.get(URL, params={"pq.queryString": 'IdentityType -eq "Group"'}).json()
    second = client.get(URL, params={"pq.returnLimit": 1, "pq.pageReturned": 2}).json()
    by_name = client.get(URL, params={"QueryString": 'AccountName -contains "ops"', "SortField": "AccountName"}).json()

    assert ops == {"Id": ops["Id"], "AccountName": "CORP\\ops", "IdentityType": "User", "Roles": [], "Valid": True}
    assert [item["AccountName"] for item in everyone] == ["admin", "CORP\\ops", "CORP\\PKI Admins"]
    assert [(role["Id"], role["Name"]) for role in everyone[1]["Roles"]] == [
        (OPERATOR, "Operator"),
        (AUDITOR, "Auditor"),
    ]
    assert everyone[1]["Roles"][1]["Description"] == "Reads everything, changes nothing."
    assert [item["Id"] for item in groups] == [group["Id"]]
    assert [item["Id"] for item in second] == [ops["Id"]]
    assert [item["Id"] for item in by_name] == [ops["Id"]]
    assert gojson.type_errors(everyone, "[]GetSecurityIdentityResponse") == []
    assert refused(client.get(URL, params={"pq.sortField": "Roles"}), code="0xA011004A")


def test_what_an_identity_may_do_and_which_roles_grant_it(client: TestClient) -> None:
    ops = add(client, "ops")["Id"]
    client.post(ROLES, json={"Name": "Readers", "Description": "", "Permissions": ["/agents/", "Auditing:Read"]})
    readers = client.get(ROLES, params={"pq.queryString": 'Name -eq "Readers"'}).json()[0]["Id"]
    client.put(f"{ROLES}/{readers}/Identities", json=[ops])
    client.put(f"{ROLES}/{OPERATOR}/Identities", json=[ops])

    v1 = client.get(f"{URL}/{ops}").json()
    v2 = client.get(f"{URL}/{ops}", headers=V2).json()
    admin = client.get(f"{URL}/{listed(client)[0]['Id']}").json()

    assert v1["Identity"] == "ops" and v1["CollectionPermissions"] == [] and v1["ContainerPermissions"] == []
    assert v1["SecuredAreaPermissions"] == [
        {"Permission": "AgentManagement:Read", "GrantedByRoles": ["Operator", "Readers"]},
        {"Permission": "AgentManagement:Modify", "GrantedByRoles": ["Readers"]},
        {"Permission": "AgentManagement:Acknowledge", "GrantedByRoles": ["Operator", "Readers"]},
        {"Permission": "AgentAutoRegistration:Read", "GrantedByRoles": ["Readers"]},
        {"Permission": "AgentAutoRegistration:Modify", "GrantedByRoles": ["Readers"]},
        {"Permission": "Orchestrator:Connect", "GrantedByRoles": ["Readers"]},
        {"Permission": "CertificateStoreManagement:Read", "GrantedByRoles": ["Operator"]},
        {"Permission": "Certificates:Read", "GrantedByRoles": ["Operator"]},
        {"Permission": "ApplicationSettings:Read", "GrantedByRoles": ["Operator"]},
        {"Permission": "Auditing:Read", "GrantedByRoles": ["Readers"]},
    ]
    assert [pair["Permission"] for pair in v2["SecuredAreaPermissions"]][:2] == [
        "/agents/management/read/",
        "/agents/management/modify/",
    ]
    assert admin["SecuredAreaPermissions"] == [
        {"Permission": permission.v1, "GrantedByRoles": ["Administrator"]} for permission in CATALOGUE
    ]
    # A disabled role grants nothing, so it is named nowhere.
    client.put(ROLES, json={"Id": readers, "Name": "Readers", "Description": "", "Enabled": False})
    granting = {
        role for pair in client.get(f"{URL}/{ops}").json()["SecuredAreaPermissions"] for role in pair["GrantedByRoles"]
    }
    assert granting == {"Operator"}


def test_lookup_knows_identities_in_any_case_and_users(client: TestClient, engine: Engine) -> None:
    add(client, "CORP\\ops")
    add_user(engine, [])

    def valid(name: str) -> bool:
        response = client.get(f"{URL}/Lookup", params={"accountName": name})
        assert response.status_code == 200, response.text
        return bool(response.json()["Valid"])

    assert valid("admin") and valid("corp\\OPS") and valid("carol")
    assert not valid("nobody")
    assert "accountName is required" in refused(client.get(f"{URL}/Lookup"))
    assert "accountName is required" in refused(client.get(f"{URL}/Lookup", params={"accountName": " "}))
    assert "at most 255 characters" in refused(client.get(f"{URL}/Lookup", params={"AccountName": "x" * 256}))


def test_delete_takes_the_identity_out_of_its_roles(client: TestClient) -> None:
    ops = add(client, "ops")["Id"]
    client.put(f"{ROLES}/{OPERATOR}/Identities", json=[ops])

    assert client.delete(f"{URL}/{ops}").status_code == 204

    assert client.get(f"{ROLES}/{OPERATOR}/Identities").json() == []
    assert [item["AccountName"] for item in listed(client)] == ["admin"]
    assert refused(client.delete(f"{URL}/{ops}"), 404, NOT_FOUND) == f"Security identity {ops} was not found."
    assert refused(client.get(f"{URL}/{ops}"), 404, NOT_FOUND) == f"Security identity {ops} was not found."


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"AccountName": "ADMIN"}, "A security identity named admin already exists; account names ignore case."),
        ({}, "AccountName is required"),
        ({"AccountName": " "}, "AccountName is required"),
        ({"AccountName": 7}, "AccountName must be a string."),
        ({"AccountName": "x" * 256}, "AccountName may be at most 255 characters long."),
        ({"AccountName": "a\nb"}, "AccountName may not contain control characters."),
        ({"AccountName": "x", "IdentityType": "Computer"}, "IdentityType must be User or Group, not 'Computer'."),
        (["x"], "The request body must be a JSON object."),
    ],
)
def test_bad_identities_are_refused_and_nothing_is_added(client: TestClient, body: Any, message: str) -> None:
    before = listed(client)

    assert message in refused(client.post(URL, json=body))

    assert listed(client) == before


@pytest.mark.parametrize("identity_id", ["x", "0", "4294967296", "9" * 5000])
def test_identity_ids_out_of_range_are_400(client: TestClient, identity_id: str) -> None:
    before = listed(client)
    assert "is not a security identity id" in refused(client.get(f"{URL}/{identity_id}"))
    assert "is not a security identity id" in refused(client.delete(f"{URL}/{identity_id}"))
    assert listed(client) == before


def test_my_answers_the_callers_roles_and_permissions(client: TestClient, settings: Settings, engine: Engine) -> None:
    admin = client.get(MY).json()
    add_user(engine, ["Operator", "Auditor"])

    with api_client(settings, auth=CAROL) as carol:
        mine = carol.get(MY).json()

    assert admin["Roles"] == ["Administrator"] and admin["AccountName"] == "admin"
    assert admin["Permissions"] == [permission.path for permission in CATALOGUE]
    assert admin["GlobalPermissions"][0] == {"Area": "AgentManagement", "Permission": "Read"}
    assert len(admin["GlobalPermissions"]) == len(CATALOGUE)
    assert mine["Roles"] == ["Auditor", "Operator"]
    assert "/security/read/" in mine["Permissions"] and "/security/modify/" not in mine["Permissions"]
    assert {"Area": "AgentManagement", "Permission": "Acknowledge"} in mine["GlobalPermissions"]


def test_reading_needs_security_read_and_changing_security_modify(settings: Settings, engine: Engine) -> None:
    add_user(engine, ["Auditor"])
    add_user(engine, ["Operator"], ("olga", "olga-password"))

    with api_client(settings, auth=CAROL) as auditor, api_client(settings, auth=("olga", "olga-password")) as operator:
        assert auditor.get(ROLES).status_code == 200 and auditor.get(URL).status_code == 200
        assert auditor.get(f"{ROLES}/{OPERATOR}/Permissions").status_code == 200
        message = refused(auditor.post(URL, json={"AccountName": "x"}), 403, FORBIDDEN)
        assert message == "'carol' does not hold /security/modify/, which this call needs."
        refused(auditor.delete(f"{ROLES}/999"), 403, FORBIDDEN)  # refused before the role is looked for
        refused(auditor.put(f"{ROLES}/{AUDITOR}/Identities", json=[]), 403, FORBIDDEN)
        refused(operator.get(ROLES), 403, FORBIDDEN)
        refused(operator.get(f"{URL}/Lookup", params={"accountName": "admin"}), 403, FORBIDDEN)
        assert operator.get(MY).json()["Roles"] == ["Operator"]
    with api_client(settings) as admin:
        assert [item["AccountName"] for item in listed(admin)] == ["admin", "carol", "olga"]


def test_an_orchestrators_own_account_may_not_even_ask_what_it_may_do(settings: Settings, engine: Engine) -> None:
    add_user(engine, ["Orchestrator"])

    with api_client(settings, auth=CAROL) as orchestrator:
        assert refused(orchestrator.get(MY), 403, FORBIDDEN) == "'carol' holds no permission of this API."
        refused(orchestrator.get(ROLES), 403, FORBIDDEN)
        refused(orchestrator.post(URL, json={"AccountName": "x"}), 403, FORBIDDEN)


def test_a_changed_role_counts_on_the_very_next_call(settings: Settings, engine: Engine) -> None:
    add_user(engine, ["Operator"])
    with api_client(settings) as admin, api_client(settings, auth=CAROL) as carol:
        carol_id = next(item["Id"] for item in listed(admin) if item["AccountName"] == "carol")
        refused(carol.get(ROLES), 403, FORBIDDEN)

        assert admin.put(f"{ROLES}/{AUDITOR}/Identities", json=[carol_id]).status_code == 200
        assert carol.get(ROLES).status_code == 200
        assert carol.get(MY).json()["Roles"] == ["Auditor", "Operator"]

        assert admin.put(f"{ROLES}/{AUDITOR}/Identities", json=[]).status_code == 200
        refused(carol.get(ROLES), 403, FORBIDDEN)

        # A role of its own, then disabled: a disabled role grants nothing, at once.
        readers = admin.post(
            ROLES, json={"Name": "Readers", "Description": "", "Permissions": ["SecuritySettings:Read"]}
        )
        readers_id = readers.json()["Id"]
        admin.put(f"{ROLES}/{readers_id}/Identities", json=[carol_id])
        assert carol.get(ROLES).status_code == 200
        disabled = admin.put(ROLES, json={"Id": readers_id, "Name": "Readers", "Description": "", "Enabled": False})
        assert disabled.status_code == 200, disabled.text
        refused(carol.get(ROLES), 403, FORBIDDEN)
        assert carol.get(MY).json()["Roles"] == ["Operator"]

        # Losing its identity altogether leaves the user signed in with nothing it may do.
        assert admin.delete(f"{URL}/{carol_id}").status_code == 204
        assert refused(carol.get(MY), 403, FORBIDDEN) == "'carol' holds no permission of this API."


def test_two_administrators_removing_each_other_at_once_leave_one(settings: Settings, engine: Engine) -> None:
    """Security writers take turns, so two removals that each look fine alone cannot both pass the check: whatever
    the timing, one of the two administrators stays."""
    add_user(engine, ["Administrator"], ("root2", "root2-password"))
    with api_client(settings) as admin, api_client(settings, auth=("root2", "root2-password")) as root2:
        for _round in range(5):
            ids = {item["AccountName"]: item["Id"] for item in listed(admin if _round % 2 else root2)}
            # Both credentials verified already, so that the two removals start together.
            assert admin.get(MY).status_code == 200 and root2.get(MY).status_code == 200
            with ThreadPoolExecutor(max_workers=2) as pool:
                first = pool.submit(admin.delete, f"{URL}/{ids['root2']}")
                second = pool.submit(root2.delete, f"{URL}/{ids['admin']}")
                statuses = sorted([first.result().status_code, second.result().status_code])

            assert statuses[0] == 204 and statuses[1] in (400, 403), statuses
            (survivor,) = [client for client in (admin, root2) if client.get(ROLES).status_code == 200]
            gone = "root2" if survivor is admin else "admin"
            readded = survivor.post(URL, json={"AccountName": gone}).json()["Id"]
            holders = [item["Id"] for item in survivor.get(f"{ROLES}/{ADMINISTRATOR}/Identities").json()]
            assert len(holders) == 1
            restored = survivor.put(f"{ROLES}/{ADMINISTRATOR}/Identities", json=[*holders, readded])
            assert restored.status_code == 200
