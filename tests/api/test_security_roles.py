"""/KeyfactorAPI/Security/Roles through HTTP on both databases: the list and its query, one role, create (as
keyfactor-go-client and kfutil's import send it, and in v2), update, copy, delete, who holds a role and what it
grants; the v1 and v2 shapes; and every refusal, each changing nothing."""

import json
from typing import Any

import pytest
from pydantic import TypeAdapter
from starlette.testclient import TestClient

from orchjobs.api.security_schemas import SecurityRoleResponse, SecurityRoleV2Response
from orchjobs.domain.permissions import CATALOGUE
from tests import gojson
from tests.gojson import Struct

URL = "/KeyfactorAPI/Security/Roles"
IDENTITIES = "/KeyfactorAPI/Security/Identities"
V2 = {"x-keyfactor-api-version": "2"}
INVALID, NOT_FOUND = "0xA0110001", "0xA0110014"
ADMINISTRATOR, OPERATOR, AUDITOR, ORCHESTRATOR = 1, 2, 3, 4
EVERY_V1 = [permission.v1 for permission in CATALOGUE]

# keyfactor-go-client v3 (v3/api/security_models.go): what kfutil's `export --security-roles` decodes GET
# /Security/Roles into, and what `import --security-roles` re-encodes and posts (cmd/export.go getRoles,
# cmd/import.go importSecurityRoles).
Struct("SecurityIdentity", {"Id": "float64", "AccountName": "string", "IdentityType": "string", "SID": "string"})
ROLES_RESPONSE = Struct(
    "GetSecurityRolesResponse",
    {
        "Id": "float64",
        "Description,omitempty": "string",
        "Enabled": "bool",
        "Immutable": "bool",
        "Valid": "bool",
        "Private": "bool",
        "Identities": "[]SecurityIdentity",
        "Name,omitempty": "string",
        "Permissions": "[]string",
    },
)
Struct("SecurityRoleIdentityConfig", {"AccountName": "string", "SID": "*string"})
CREATE_ROLE_ARG = Struct(
    "CreateSecurityRoleArg",
    {
        "Name,omitempty": "string",
        "Description,omitempty": "string",
        "Enabled,omitempty": "*bool",
        "Private,omitempty": "*bool",
        "Permissions,omitempty": "*[]string",
        "Identities,omitempty": "*[]SecurityRoleIdentityConfig",
    },
)
Struct(
    "GetSecurityRoleResponse",
    {
        "Id,omitempty": "float64",
        "Name,omitempty": "string",
        "Description,omitempty": "string",
        "Identities,omitempty": "[]SecurityIdentity",
        "Permissions,omitempty": "[]string",
    },
)


def create(client: TestClient, headers: dict[str, str] | None = None, **fields: Any) -> dict[str, Any]:
    body = {"Name": "Deployers", "Description": "Run deployments.", **fields}
    response = client.post(URL, json=body, headers=headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def roles(client: TestClient) -> dict[str, dict[str, Any]]:
    """Every role by name, in the v1 shape."""
    response = client.get(URL, params={"pq.returnLimit": 1000})
    assert response.status_code == 200, response.text
    return {role["Name"]: role for role in response.json()}


def identity_id(client: TestClient, account_name: str) -> int:
    found = client.get(IDENTITIES, params={"pq.queryString": f'AccountName -eq "{account_name}"'}).json()
    assert len(found) == 1, found
    return int(found[0]["Id"])


def refused(response: Any, status: int = 400, code: str = INVALID) -> str:
    assert response.status_code == status, response.text
    answer = response.json()
    assert set(answer) == {"ErrorCode", "Message"} and answer["ErrorCode"] == code, answer
    message: str = answer["Message"]
    return message


def test_the_built_in_roles_in_the_v1_shape(client: TestClient) -> None:
    listed = client.get(URL).json()

    assert [role["Name"] for role in listed] == ["Administrator", "Auditor", "Operator", "Orchestrator"]
    TypeAdapter(list[SecurityRoleResponse]).validate_python(listed)
    administrator = listed[0]
    assert administrator == {
        "Id": ADMINISTRATOR,
        "Name": "Administrator",
        "Description": "Every permission.",
        "Enabled": True,
        "Immutable": True,
        "Valid": True,
        "Private": False,
        "Identities": [{"Id": identity_id(client, "admin"), "AccountName": "admin", "IdentityType": "User"}],
        "Permissions": EVERY_V1,
    }
    operator = client.get(f"{URL}/{OPERATOR}").json()
    assert operator["Permissions"] == [
        "AgentManagement:Read",
        "AgentManagement:Acknowledge",
        "CertificateStoreManagement:Read",
        "Certificates:Read",
        "ApplicationSettings:Read",
    ]
    assert operator["Identities"] == []
    assert gojson.type_errors(listed, "[]GetSecurityRolesResponse") == []


def test_the_v2_shape_has_the_strings_the_role_holds_and_its_identities_as_claims(client: TestClient) -> None:
    created = create(client, Permissions=["/agents/", "Auditing:Read"], Claims=[{"ClaimType": 1, "ClaimValue": "PKI"}])

    v2 = client.get(f"{URL}/{created['Id']}", headers=V2).json()
    listed = client.get(URL, headers=V2).json()

    SecurityRoleV2Response.model_validate(v2)
    assert v2 == {
        "Id": created["Id"],
        "Name": "Deployers",
        "Description": "Run deployments.",
        "Immutable": False,
        "Permissions": ["/agents/", "/auditing/read/"],
        "Claims": [{"ClaimType": 1, "ClaimValue": "PKI"}],
    }
    assert {role["Name"]: role["Permissions"] for role in listed}["Administrator"] == ["/"]
    assert created["Permissions"] == [
        "AgentManagement:Read",
        "AgentManagement:Modify",
        "AgentManagement:Acknowledge",
        "AgentAutoRegistration:Read",
        "AgentAutoRegistration:Modify",
        "Orchestrator:Connect",
        "Auditing:Read",
    ]
    group = client.get(IDENTITIES, params={"pq.queryString": 'AccountName -eq "PKI"'}).json()
    assert [(item["IdentityType"], [role["Name"] for role in item["Roles"]]) for item in group] == [
        ("Group", ["Deployers"])
    ]


def test_the_list_queries_sorts_and_pages(client: TestClient) -> None:
    create(client, Name="Zeta")
    create(client, Name="alpha", Description="first")

    by_name = client.get(URL, params={"pq.queryString": 'name -eq "OPERATOR"'}).json()
    page_two = client.get(URL, params={"pq.returnLimit": 2, "pq.pageReturned": 2}).json()
    by_id = client.get(URL, params={"SortField": "Id", "SortAscending": 1, "ReturnLimit": 1}).json()
    described = client.get(URL, params={"QueryString": 'Description -contains "first"'}).json()

    assert [role["Id"] for role in by_name] == [OPERATOR]
    assert [role["Name"] for role in page_two] == ["Operator", "Orchestrator"]
    assert [role["Name"] for role in by_id] == ["alpha"]
    assert [role["Name"] for role in described] == ["alpha"]
    assert refused(client.get(URL, params={"pq.sortField": "Permissions"}), code="0xA011004A")
    assert refused(client.get(URL, params={"pq.queryString": 'Nope -eq "x"'}), code="0xA0110040")


def test_create_as_keyfactor_go_client_sends_it(client: TestClient) -> None:
    body = gojson.marshal(
        {
            "Name": "Deployers",
            "Description": "Run deployments.",
            "Enabled": True,
            "Private": False,
            "Permissions": ["AgentManagement:Read", "certificatestoremanagement:schedule"],
            "Identities": [{"AccountName": "KEYEXAMPLE\\jsmith", "SID": None}],
        },
        CREATE_ROLE_ARG,
    )

    response = client.post(URL, content=body, headers={"x-keyfactor-api-version": "1"})

    assert response.status_code == 200, response.text
    created = response.json()
    jsmith = identity_id(client, "KEYEXAMPLE\\jsmith")
    assert created == {
        "Id": created["Id"],
        "Name": "Deployers",
        "Description": "Run deployments.",
        "Enabled": True,
        "Immutable": False,
        "Valid": True,
        "Private": False,
        "Identities": [{"Id": jsmith, "AccountName": "KEYEXAMPLE\\jsmith", "IdentityType": "User"}],
        "Permissions": ["AgentManagement:Read", "CertificateStoreManagement:Schedule"],
    }
    assert client.get(f"{URL}/{created['Id']}").json() == created
    # GetSecurityRole(name) asks the list for `name -eq "<name>"` and takes the first.
    found = client.get(URL, params={"pq.queryString": 'name -eq "deployers"'}).json()
    assert gojson.decode(found, "[]GetSecurityRolesResponse")[0]["Id"] == created["Id"]
    assert gojson.type_errors(created, "GetSecurityRoleResponse") == []


def test_kfutil_export_then_import_recreates_a_role(client: TestClient) -> None:
    original = create(
        client,
        Enabled=False,
        Private=True,
        Permissions=["/certificate_stores/", "SecuritySettings:Read"],
        Identities=[{"AccountName": "CORP\\deploy"}, "CORP\\release"],
    )
    # kfutil export --security-roles: GetSecurityRoles, each item re-encoded and decoded into CreateSecurityRoleArg.
    exported = [
        gojson.decode(json.loads(gojson.marshal(role, ROLES_RESPONSE)), CREATE_ROLE_ARG)
        for role in gojson.decode(client.get(URL).json(), "[]GetSecurityRolesResponse")
    ]
    assert client.delete(f"{URL}/{original['Id']}").status_code == 204

    # kfutil import --security-roles: CreateSecurityRole for each; the built-in ones exist already.
    answers = {
        role["Name"]: client.post(
            URL, content=gojson.marshal(role, CREATE_ROLE_ARG), headers={"x-keyfactor-api-version": "1"}
        )
        for role in exported
    }

    assert {name: answer.status_code for name, answer in answers.items()} == {
        "Administrator": 400,
        "Auditor": 400,
        "Operator": 400,
        "Orchestrator": 400,
        "Deployers": 200,
    }
    assert "already exists" in answers["Operator"].json()["Message"]
    recreated = answers["Deployers"].json()
    assert {**recreated, "Id": original["Id"]} == original


def test_update_replaces_what_is_given_and_keeps_what_is_left_out(client: TestClient) -> None:
    created = create(client, Permissions=["AgentManagement:Read"], Identities=[{"AccountName": "ops"}])
    ops = identity_id(client, "ops")

    renamed = client.put(URL, json={"Id": created["Id"], "Name": "Releasers", "Description": "Ship."}).json()
    changed = client.put(
        URL,
        json={
            "id": str(created["Id"]),
            "name": "Releasers",
            "description": "",
            "enabled": False,
            "permissions": [{"Area": "Certificates", "Permission": "Read"}, "/certificates/import/"],
            "identities": [],
        },
        headers=V2,
    ).json()

    assert (renamed["Name"], renamed["Description"], renamed["Permissions"]) == (
        "Releasers",
        "Ship.",
        ["AgentManagement:Read"],
    )
    assert renamed["Identities"] == [{"Id": ops, "AccountName": "ops", "IdentityType": "User"}]
    assert changed == {
        "Id": created["Id"],
        "Name": "Releasers",
        "Description": "",
        "Immutable": False,
        "Permissions": ["/certificates/collections/read/", "/certificates/import/"],
        "Claims": [],
    }
    assert client.get(f"{URL}/{created['Id']}").json()["Enabled"] is False
    # Renaming to its own name in another case is no clash.
    assert client.put(URL, json={"Id": created["Id"], "Name": "RELEASERS", "Description": ""}).status_code == 200


def test_copy_takes_the_permissions_and_none_of_the_identities(client: TestClient) -> None:
    copied = client.post(f"{URL}/{ADMINISTRATOR}/Copy", json={"Name": "Deputies"}).json()
    described = client.post(f"{URL}/{AUDITOR}/Copy", json={"Name": "Readers", "Description": "Read."}, headers=V2)

    assert copied == {
        "Id": copied["Id"],
        "Name": "Deputies",
        "Description": "Every permission.",
        "Enabled": True,
        "Immutable": False,
        "Valid": True,
        "Private": False,
        "Identities": [],
        "Permissions": EVERY_V1,
    }
    assert described.json()["Description"] == "Read."
    assert described.json()["Permissions"] == sorted(client.get(f"{URL}/{AUDITOR}", headers=V2).json()["Permissions"])
    # A copy is no built-in role: it can be changed.
    assert client.put(f"{URL}/{copied['Id']}/Permissions/Global", json=["SecuritySettings:Read"]).status_code == 200


def test_delete_removes_the_role_and_its_holders_hold_on_it(client: TestClient) -> None:
    created = create(client, Identities=[{"AccountName": "ops"}])

    assert client.delete(f"{URL}/{created['Id']}").status_code == 204

    refused(client.get(f"{URL}/{created['Id']}"), 404, NOT_FOUND)
    ops = client.get(IDENTITIES, params={"pq.queryString": 'AccountName -eq "ops"'}).json()
    assert ops[0]["Roles"] == []
    refused(client.delete(f"{URL}/{created['Id']}"), 404, NOT_FOUND)


def test_who_holds_a_role_is_set_whole_built_in_roles_included(client: TestClient) -> None:
    ops = client.post(IDENTITIES, json={"AccountName": "ops"}).json()["Id"]
    dev = client.post(IDENTITIES, json={"AccountName": "dev"}).json()["Id"]
    admin = identity_id(client, "admin")

    as_object = client.put(f"{URL}/{OPERATOR}/Identities", json={"Ids": [ops, dev, ops]})
    as_array = client.put(f"{URL}/{OPERATOR}/Identities", json=[str(dev)])

    assert as_object.status_code == 200, as_object.text
    assert as_object.json() == [{"Id": ops, "Name": "ops"}, {"Id": dev, "Name": "dev"}]
    assert as_array.json() == [{"Id": dev, "Name": "dev"}]
    assert client.get(f"{URL}/{OPERATOR}/Identities").json() == [{"Id": dev, "Name": "dev"}]
    assert client.get(f"{URL}/{ADMINISTRATOR}/Identities").json() == [{"Id": admin, "Name": "admin"}]
    assert client.put(f"{URL}/{OPERATOR}/Identities", json={"Ids": []}).json() == []


def test_permissions_read_added_and_set(client: TestClient) -> None:
    created = create(client, Permissions=["AgentManagement:Read"])
    role = f"{URL}/{created['Id']}/Permissions"

    added = client.post(f"{role}/Global", json=[{"Area": "Auditing", "Permission": "Read"}, "AgentManagement:Read"])
    listed = client.get(role).json()
    replaced = client.put(f"{role}/Global", json=["/security/"])

    assert added.status_code == 200, added.text
    assert added.json() == [
        {"Area": "AgentManagement", "Permission": "Read"},
        {"Area": "Auditing", "Permission": "Read"},
    ]
    assert listed == [
        {"Type": "Global", "Area": "AgentManagement", "Permission": "Read"},
        {"Type": "Global", "Area": "Auditing", "Permission": "Read"},
    ]
    assert replaced.json() == [
        {"Area": "SecuritySettings", "Permission": "Read"},
        {"Area": "SecuritySettings", "Permission": "Modify"},
    ]
    assert client.get(f"{role}/Global").json() == replaced.json()
    assert client.get(f"{URL}/{created['Id']}", headers=V2).json()["Permissions"] == ["/security/"]


# --- refusals: each one answers Command's error shape and changes nothing ---------------------------------------


def test_an_unknown_role_is_404_everywhere(client: TestClient) -> None:
    before = roles(client)
    calls: list[tuple[str, str, Any]] = [
        ("GET", f"{URL}/999", None),
        ("DELETE", f"{URL}/999", None),
        ("PUT", URL, {"Id": 999, "Name": "x", "Description": ""}),
        ("POST", f"{URL}/999/Copy", {"Name": "x"}),
        ("GET", f"{URL}/999/Identities", None),
        ("PUT", f"{URL}/999/Identities", {"Ids": []}),
        ("GET", f"{URL}/999/Permissions", None),
        ("GET", f"{URL}/999/Permissions/Global", None),
        ("POST", f"{URL}/999/Permissions/Global", []),
        ("PUT", f"{URL}/999/Permissions/Global", []),
    ]
    for method, path, body in calls:
        message = refused(client.request(method, path, json=body), 404, NOT_FOUND)
        assert message == "Security role 999 was not found.", (method, path)
    assert roles(client) == before


@pytest.mark.parametrize("role_id", ["abc", "0", "-1", "2147483648", "1.5", "9" * 5000])
def test_ids_out_of_range_are_400(client: TestClient, role_id: str) -> None:
    assert "is not a security role id" in refused(client.get(f"{URL}/{role_id}"))
    assert "is not a security role id" in refused(client.delete(f"{URL}/{role_id}"))
    assert "is not a security role id" in refused(client.put(f"{URL}/{role_id}/Identities", json=[]))
    assert "Id must be a positive integer" in refused(
        client.put(URL, json={"Id": role_id, "Name": "x", "Description": ""})
    )


def test_an_unknown_permission_is_named_and_nothing_is_made(client: TestClient) -> None:
    created = create(client, Permissions=["AgentManagement:Read"])
    before = roles(client)

    on_create = refused(client.post(URL, json={"Name": "X", "Description": "", "Permissions": ["Dashboard:Read"]}))
    on_update = refused(
        client.put(URL, json={"Id": created["Id"], "Name": "Y", "Description": "", "Permissions": ["/nope/"]})
    )
    on_add = refused(
        client.post(f"{URL}/{created['Id']}/Permissions/Global", json=[{"Area": "SSH", "Permission": "User"}])
    )
    on_set = refused(client.put(f"{URL}/{created['Id']}/Permissions/Global", json=["AgentManagement:Read", "x"]))

    assert on_create.startswith("Not a permission: 'Dashboard:Read'.")
    assert "'/nope/'" in on_update and "'SSH:User'" in on_add and "'x'" in on_set
    assert roles(client) == before


def test_a_taken_name_is_refused_in_any_case(client: TestClient) -> None:
    created = create(client)
    create(client, Name="Other")
    before = roles(client)

    assert "A security role named Deployers already exists" in refused(
        client.post(URL, json={"Name": " deployers ", "Description": ""})
    )
    assert "A security role named Administrator already exists" in refused(
        client.post(f"{URL}/{created['Id']}/Copy", json={"Name": "ADMINISTRATOR"})
    )
    assert "named Other already exists" in refused(
        client.put(URL, json={"Id": created["Id"], "Name": "OTHER", "Description": ""})
    )
    assert roles(client) == before


def test_built_in_roles_cannot_be_changed_or_deleted(client: TestClient) -> None:
    before = roles(client)

    messages = [
        refused(client.put(URL, json={"Id": OPERATOR, "Name": "Operator", "Description": "changed"})),
        refused(client.delete(f"{URL}/{AUDITOR}")),
        refused(client.delete(f"{URL}/{ADMINISTRATOR}")),
        refused(client.post(f"{URL}/{ORCHESTRATOR}/Permissions/Global", json=["AgentManagement:Read"])),
        refused(client.put(f"{URL}/{OPERATOR}/Permissions/Global", json=[])),
    ]

    assert messages[0].startswith("Security role Operator is built in and cannot be changed;")
    assert messages[1].startswith("Security role Auditor is built in and cannot be deleted;")
    assert all("PUT /Security/Roles/" in message for message in messages)
    assert roles(client) == before


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "The request body must be a JSON object."),
        ({"Description": ""}, "Name is required"),
        ({"Name": "  ", "Description": ""}, "Name is required"),
        ({"Name": "X"}, "Description is required"),
        ({"Name": 5, "Description": ""}, "Name must be a string."),
        ({"Name": "X", "Description": "", "Enabled": "yes"}, "Enabled must be true or false."),
        ({"Name": "X", "Description": "", "Permissions": "AgentManagement:Read"}, "Permissions must be a JSON array."),
        ({"Name": "X", "Description": "", "Permissions": [5]}, "A permission must be a string"),
        ({"Name": "X", "Description": "", "Identities": [5]}, "Each of Identities must be an object"),
        ({"Name": "X", "Description": "", "Identities": [{"SID": "S-1"}]}, "Each of Identities must be an object"),
        ({"Name": "X", "Description": "", "Identities": [{"AccountName": ""}]}, "AccountName is required"),
        ({"Name": "X", "Description": "", "Claims": [{"ClaimType": 5, "ClaimValue": "s"}]}, "ClaimType 5 is not"),
        ({"Name": "X", "Description": "", "Claims": ["s"]}, "Each of Claims must be an object"),
        ({"Name": "X\u0001", "Description": ""}, "Name may not contain control characters."),
        ({"Name": "X\u0000", "Description": ""}, "holds a NUL character"),
        ({"Name": "X" * 256, "Description": ""}, "Name may be at most 255 characters long."),
        ({"Name": "X", "Description": "d" * 4001}, "Description may be at most 4000 characters long."),
        ({"Name": "X", "Description": "", "Permissions": ["AgentManagement:Read"] * 201}, "at most 200 items"),
        ({"Name": "X", "Description": "", "Identities": [f"u{n}" for n in range(1001)]}, "at most 1000 items"),
        ({"Name": "X", "Description": "", "Identities": ["u" * 256]}, "at most 255 characters"),
        ({"Name": "X", "Description": "", "Permissions": ["p" * 100_000]}, "Not a permission: 'ppppp"),
    ],
)
def test_bodies_of_the_wrong_shape_or_size_are_400(client: TestClient, body: Any, message: str) -> None:
    before = roles(client)

    assert message in refused(client.post(URL, json=body))

    assert roles(client) == before
    assert client.get(IDENTITIES).json()[0]["AccountName"] == "admin" and len(client.get(IDENTITIES).json()) == 1


def test_identity_bodies_of_the_wrong_shape_are_400_and_unknown_ids_are_named(client: TestClient) -> None:
    ops = client.post(IDENTITIES, json={"AccountName": "ops"}).json()["Id"]
    client.put(f"{URL}/{OPERATOR}/Identities", json=[ops])

    for body, message in [
        ("text", 'must be {"Ids": [identity ids]} or a JSON array'),
        ({"Ids": "1"}, 'must be {"Ids": [identity ids]} or a JSON array'),
        (["a", 0, True], 'Ids must contain only identity ids (positive integers); not: "a", 0, true.'),
        (list(range(1, 1002)), "At most 1000 identities"),
        ([ops, 998, 999], "There is no security identity with id 998, 999;"),
    ]:
        assert message in refused(client.put(f"{URL}/{OPERATOR}/Identities", json=body)), body
    assert "not valid JSON" in refused(client.put(f"{URL}/{OPERATOR}/Identities", content=b"{"))
    assert client.get(f"{URL}/{OPERATOR}/Identities").json() == [{"Id": ops, "Name": "ops"}]


def test_permission_and_copy_bodies_of_the_wrong_shape_are_400(client: TestClient) -> None:
    created = create(client, Permissions=["Auditing:Read"])
    global_permissions = f"{URL}/{created['Id']}/Permissions/Global"
    before = roles(client)

    for body, message in [
        ({"Area": "Auditing", "Permission": "Read"}, "must be a JSON array of {Area, Permission} objects"),
        ([{"Area": "Auditing"}], "A permission must be a string"),
        ([{"Area": "Auditing", "Permission": 1}], "A permission must be a string"),
        (["Auditing:Read"] * 201, "at most 200 permissions"),
    ]:
        assert message in refused(client.put(global_permissions, json=body)), body
        assert message in refused(client.post(global_permissions, json=body)), body
    assert "Id is required" in refused(client.put(URL, json={"Name": "x", "Description": ""}))
    assert "Name is required" in refused(client.post(f"{URL}/{created['Id']}/Copy", json={"Description": "x"}))
    assert "must be a JSON object" in refused(client.post(f"{URL}/{created['Id']}/Copy", json=["Copy"]))
    assert roles(client) == before


def test_an_unsupported_api_version_is_400(client: TestClient) -> None:
    assert "x-keyfactor-api-version must be 1 or 2" in refused(
        client.get(URL, headers={"x-keyfactor-api-version": "3"})
    )


# --- the last administrator --------------------------------------------------------------------------------------


def test_nobody_can_remove_the_last_who_may_change_security(client: TestClient) -> None:
    admin = identity_id(client, "admin")
    before = roles(client)

    messages = [
        refused(client.put(f"{URL}/{ADMINISTRATOR}/Identities", json={"Ids": []})),
        refused(client.delete(f"{IDENTITIES}/{admin}")),
    ]

    assert all("would leave no identity holding a role that may change security roles" in m for m in messages)
    assert roles(client) == before
    assert client.get(f"{IDENTITIES}/{admin}").status_code == 200


def test_a_custom_security_role_counts_and_each_way_of_losing_it_is_refused(client: TestClient) -> None:
    keeper = create(client, Name="Keepers", Permissions=["SecuritySettings:Modify", "SecuritySettings:Read"])
    role = f"{URL}/{keeper['Id']}"
    admin = identity_id(client, "admin")
    assert client.put(f"{role}/Identities", json=[admin]).status_code == 200
    # admin may leave Administrator now: Keepers still lets it change security, and it is the last who may.
    assert client.put(f"{URL}/{ADMINISTRATOR}/Identities", json=[]).status_code == 200
    before = roles(client)

    attempts = [
        client.delete(role),
        client.delete(f"{IDENTITIES}/{admin}"),
        client.put(f"{role}/Identities", json=[]),
        client.put(f"{role}/Permissions/Global", json=["SecuritySettings:Read"]),
        client.put(URL, json={"Id": keeper["Id"], "Name": "Keepers", "Description": "", "Enabled": False}),
        client.put(URL, json={"Id": keeper["Id"], "Name": "Keepers", "Description": "", "Permissions": []}),
        client.put(URL, json={"Id": keeper["Id"], "Name": "Keepers", "Description": "", "Identities": []}),
    ]

    for attempt in attempts:
        assert "would leave no identity" in refused(attempt)
    assert roles(client) == before
    # Adding before removing is the way: admin takes Administrator back, then Keepers may go.
    assert client.put(f"{URL}/{ADMINISTRATOR}/Identities", json=[admin]).status_code == 200
    assert client.delete(role).status_code == 204


def test_refused_changes_roll_back_whole(client: TestClient) -> None:
    """A refused change with many parts (rename, permissions, new identities) leaves every part as it was."""
    keeper = create(client, Name="Keepers", Permissions=["/security/"], Identities=["admin"])
    client.put(f"{URL}/{ADMINISTRATOR}/Identities", json=[])
    before = roles(client)
    identities_before = client.get(IDENTITIES).json()

    attempt = client.put(
        URL,
        json={
            "Id": keeper["Id"],
            "Name": "Renamed",
            "Description": "changed",
            "Permissions": ["AgentManagement:Read"],
            "Identities": ["newcomer", "admin"],
        },
    )

    assert "would leave no identity" in refused(attempt)
    assert roles(client) == before
    assert client.get(IDENTITIES).json() == identities_before
