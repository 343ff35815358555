"""Every route's answer is exactly the model it declares in the OpenAPI document: routes render their own JSON (for
speed), so this is what keeps the documentation and the wire from drifting apart."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.routing import APIRoute
from pydantic import TypeAdapter
from sqlalchemy import Engine, func, insert, select
from starlette.testclient import TestClient

from orchjobs.app import ROUTERS
from orchjobs.domain.store_types import (
    EntryParameter,
    KeyRule,
    PasswordOptions,
    PasswordStyle,
    PropertyDefinition,
    PropertyType,
    RequiredWhen,
    StoreType,
    SupportedOperations,
    default_job_type_ids,
)
from orchjobs.store.store_types import insert_store_type
from orchjobs.store.tables import (
    agent,
    agent_capability,
    agent_pool,
    agent_pool_agent,
    audit_log,
    certificate,
    certificate_store,
    certificate_store_container,
    certificate_store_server,
    job_type,
    job_type_field,
    security_identity,
    security_identity_role,
    security_role,
    security_role_permission,
)
from tests.factories import BASE_TIME, add_entry, add_history, add_job, add_result_data, add_store
from tests.orchestrator.certificates import make_certificate
from tests.webhooks import add_webhook_rows

AGENT_ID = uuid.UUID("0f0e0d0c-0b0a-4998-8776-655443322110")
JOB_TYPE_ID = uuid.UUID("7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d")
POOLED_ID = uuid.UUID("1a2b3c4d-5e6f-4a0b-8c1d-2e3f4a5b6c7d")
POOL_ID = uuid.UUID("5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a")
CONTAINER_ID = 7
SERVER_ID = 3
CUSTOM_JOB = {"JobTypeName": "Audit", "JobFields": {"Partition": "p1"}}

# (method, path) → what to send to get a real answer; every route with a response model must be here.
REQUESTS: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/KeyfactorAPI/OrchestratorJobs/JobHistory"): {},
    ("GET", "/KeyfactorAPI/OrchestratorJobs/JobHistory/Count"): {},
    ("GET", "/KeyfactorAPI/OrchestratorJobs/JobHistory/FailureCount"): {},
    ("GET", "/KeyfactorAPI/OrchestratorJobs/JobHistory/FailureGroups"): {},
    ("POST", "/KeyfactorAPI/OrchestratorJobs/Acknowledge/Preview"): {"json": {"JobAuditIds": ["{history_id}"]}},
    ("POST", "/KeyfactorAPI/OrchestratorJobs/Unacknowledge/Preview"): {"json": {"JobAuditIds": ["{history_id}"]}},
    ("POST", "/KeyfactorAPI/OrchestratorJobs/Reschedule/Preview"): {"json": {"JobAuditIds": ["{history_id}"]}},
    ("POST", "/KeyfactorAPI/OrchestratorJobs/Unschedule/Preview"): {"json": {"Query": 'JobType -eq "FetchLogs"'}},
    ("GET", "/KeyfactorAPI/OrchestratorJobs/JobStatus/Data"): {"params": {"jobHistoryId": "{history_id}"}},
    ("GET", "/KeyfactorAPI/OrchestratorJobs/Query/Explain"): {
        "params": {"resource": "JobHistory", "query": "OperationStart -ge %NOW-4h% AND Result -in (4, 3)"}
    },
    ("GET", "/KeyfactorAPI/OrchestratorJobs/ScheduledJobs"): {},
    ("GET", "/KeyfactorAPI/OrchestratorJobs/ScheduledJobs/Count"): {},
    ("GET", "/KeyfactorAPI/Agents"): {},
    ("GET", "/KeyfactorAPI/Agents/{agent_id}"): {},
    ("GET", "/KeyfactorAPI/Agents/Health"): {"params": {"agentIds": str(AGENT_ID)}},
    ("POST", "/KeyfactorAPI/Agents/SetAuthCertificateReenrollment"): {
        "json": {"OrchestratorIds": [str(AGENT_ID), str(uuid.uuid4())], "Status": 1}
    },
    ("GET", "/KeyfactorAPI/AppSetting"): {},
    ("GET", "/KeyfactorAPI/AppSetting/{key}"): {},
    ("PUT", "/KeyfactorAPI/AppSetting/{key}/Set"): {"json": {"Value": "7"}},
    ("PUT", "/KeyfactorAPI/AppSetting"): {"json": [{"Id": 1, "Value": "8"}]},
    ("GET", "/KeyfactorAPI/Audit"): {},
    ("GET", "/KeyfactorAPI/Audit/Count"): {},
    ("GET", "/KeyfactorAPI/Status/Endpoints"): {},
    ("GET", "/KeyfactorAPI/JobTypes/Custom"): {},
    ("GET", "/KeyfactorAPI/JobTypes/Custom/{job_type_id}"): {},
    ("POST", "/KeyfactorAPI/JobTypes/Custom"): {
        "json": {"JobTypeName": "New", "JobTypeFields": [{"Name": "n", "Type": 1}]}
    },
    ("PUT", "/KeyfactorAPI/JobTypes/Custom"): {"json": {"Id": str(JOB_TYPE_ID), "JobTypeName": "Audit2"}},
    ("POST", "/KeyfactorAPI/OrchestratorJobs/Custom"): {"json": {"AgentId": str(AGENT_ID), **CUSTOM_JOB}},
    ("POST", "/KeyfactorAPI/OrchestratorJobs/Custom/Bulk"): {
        "json": {"OrchestratorIds": [str(AGENT_ID), str(uuid.uuid4())], **CUSTOM_JOB}
    },
    ("GET", "/KeyfactorAPI/Webhooks"): {},
    ("GET", "/KeyfactorAPI/Webhooks/{webhook_id}"): {},
    ("POST", "/KeyfactorAPI/Webhooks"): {
        "json": {"Url": "https://hooks.example.com/a", "Events": ["RunFailed"], "Query": "Result -eq 4"}
    },
    ("PUT", "/KeyfactorAPI/Webhooks/{webhook_id}"): {"json": {"Enabled": False}},
    ("GET", "/KeyfactorAPI/Webhooks/{webhook_id}/Deliveries"): {},
    ("GET", "/KeyfactorAPI/Certificates"): {"params": {"includeLocations": "true", "verbose": "1"}},
    ("GET", "/KeyfactorAPI/Certificates/{certificate_id}"): {"params": {"includeLocations": "true"}},
    ("POST", "/KeyfactorAPI/Certificates/Import"): {"json": {"Certificate": make_certificate("imported").pem}},
    ("GET", "/KeyfactorAPI/CertificateStores/{store_id}/Inventory"): {},
    ("GET", "/KeyfactorAPI/CertificateStoreTypes"): {},
    ("GET", "/KeyfactorAPI/CertificateStoreTypes/{store_type_id}"): {},
    ("GET", "/KeyfactorAPI/CertificateStoreTypes/Name/{name}"): {},
    ("POST", "/KeyfactorAPI/CertificateStoreTypes"): {"json": {"Name": "Bare", "ShortName": "Bare"}},
    ("PUT", "/KeyfactorAPI/CertificateStoreTypes"): {"json": {"StoreType": 100, "Name": "Full 2", "ShortName": "Full"}},
    ("GET", "/KeyfactorAPI/CertificateStoreContainers"): {},
    ("GET", "/KeyfactorAPI/CertificateStoreContainers/{container_id}"): {},
    ("POST", "/KeyfactorAPI/CertificateStoreContainers"): {
        "json": {"Name": "New", "CertStoreType": 2, "Schedule": {"Daily": {"Time": "2026-12-01T02:00:00Z"}}}
    },
    ("PUT", "/KeyfactorAPI/CertificateStoreContainers"): {
        "json": {"Id": CONTAINER_ID, "Name": "Renamed", "OverwriteSchedules": True}
    },
    ("GET", "/KeyfactorAPI/AgentPools"): {},
    ("GET", "/KeyfactorAPI/AgentPools/Agents"): {},
    ("GET", "/KeyfactorAPI/AgentPools/{pool_id}"): {},
    ("POST", "/KeyfactorAPI/AgentPools"): {
        "json": {"Name": "Pool B", "Agents": [{"AgentId": str(AGENT_ID), "EnableMonitor": True}]}
    },
    ("PUT", "/KeyfactorAPI/AgentPools"): {"json": {"AgentPoolId": str(POOL_ID), "Name": "Renamed", "Agents": []}},
    ("GET", "/KeyfactorAPI/CertificateStores"): {},
    ("GET", "/KeyfactorAPI/CertificateStores/{store_id}"): {},
    ("POST", "/KeyfactorAPI/CertificateStores"): {
        "json": {"AgentId": str(AGENT_ID), "CertStoreType": 2, "Storepath": "/new.pem"}
    },
    ("PUT", "/KeyfactorAPI/CertificateStores"): {
        "json": {"Id": "{store_id}", "InventorySchedule": {"Interval": {"Minutes": 5}}}
    },
    ("PUT", "/KeyfactorAPI/CertificateStores/AssignContainer"): {
        "json": {"CertStoreContainerId": CONTAINER_ID, "KeystoreIds": ["{store_id}"]}
    },
    ("GET", "/KeyfactorAPI/CertificateStores/Server"): {},
    ("POST", "/KeyfactorAPI/CertificateStores/Server"): {
        "json": {"Name": "lb-02", "ServerType": 2, "UseSSL": True, "Username": "u", "Password": {"SecretValue": "p"}}
    },
    ("PUT", "/KeyfactorAPI/CertificateStores/Server"): {
        "json": {"Id": SERVER_ID, "Name": "lb-01b", "UseSSL": False, "Username": "u", "Password": "p"}
    },
    ("POST", "/KeyfactorAPI/CertificateStores/Certificates/Add"): {
        "json": {
            "CertificateId": "{certificate_id}",
            "CertificateStores": [{"CertificateStoreId": "{store_id}"}],
            "Schedule": {"Immediate": True},
        }
    },
    ("POST", "/KeyfactorAPI/CertificateStores/Certificates/Remove"): {
        "json": {
            "CertificateStores": [{"CertificateStoreId": "{store_id}", "Alias": "with-cn"}],
            "Schedule": {"Immediate": True},
        }
    },
    ("GET", "/KeyfactorAPI/Security/Roles"): {},
    ("GET", "/KeyfactorAPI/Security/Roles/{role_id}"): {},
    ("POST", "/KeyfactorAPI/Security/Roles"): {
        "json": {
            "Name": "New",
            "Description": "",
            "Permissions": ["Auditing:Read"],
            "Identities": [{"AccountName": "x"}],
        }
    },
    ("PUT", "/KeyfactorAPI/Security/Roles"): {"json": {"Id": "{role_id}", "Name": "Renamed", "Description": "d"}},
    ("POST", "/KeyfactorAPI/Security/Roles/{role_id}/Copy"): {"json": {"Name": "Copied"}},
    ("GET", "/KeyfactorAPI/Security/Roles/{role_id}/Identities"): {},
    ("PUT", "/KeyfactorAPI/Security/Roles/{role_id}/Identities"): {"json": {"Ids": ["{identity_id}"]}},
    ("GET", "/KeyfactorAPI/Security/Roles/{role_id}/Permissions"): {},
    ("GET", "/KeyfactorAPI/Security/Roles/{role_id}/Permissions/Global"): {},
    ("POST", "/KeyfactorAPI/Security/Roles/{role_id}/Permissions/Global"): {
        "json": [{"Area": "Auditing", "Permission": "Read"}]
    },
    ("PUT", "/KeyfactorAPI/Security/Roles/{role_id}/Permissions/Global"): {"json": ["/certificate_stores/"]},
    ("GET", "/KeyfactorAPI/Security/Identities"): {},
    ("POST", "/KeyfactorAPI/Security/Identities"): {"json": {"AccountName": "CORP\\new", "IdentityType": "Group"}},
    ("GET", "/KeyfactorAPI/Security/Identities/Lookup"): {"params": {"accountName": "admin"}},
    ("GET", "/KeyfactorAPI/Security/Identities/{identity_id}"): {},
    ("GET", "/KeyfactorAPI/Security/My"): {},
}
# A custom store type whose every optional field is set.
STORE_TYPE = StoreType(
    id=100,
    name="Full",
    short_name="Full",
    capability="Full",
    local_store=True,
    supported=SupportedOperations(add=True, create=True, discovery=True, enrollment=True, remove=True),
    properties=(
        PropertyDefinition("Region", "Region", PropertyType.MULTIPLE_CHOICE, True, "a,b", "Zone", ("a", "b")),
        PropertyDefinition("Key", "Key", PropertyType.SECRET),
    ),
    entry_parameters=(
        EntryParameter("Port", "Port", PropertyType.STRING, RequiredWhen(True, True, True, True), "Key", "443", "x"),
        EntryParameter("Bare", "Bare", PropertyType.BOOL),
    ),
    password=PasswordOptions(entry_supported=True, store_required=True, style=PasswordStyle.CUSTOM),
    store_path_type="Freeform",
    store_path_value="/x",
    private_key_allowed=KeyRule.REQUIRED,
    custom_alias_allowed=KeyRule.OPTIONAL,
    job_properties=("a",),
    server_required=True,
    power_shell=True,
    blueprint_allowed=True,
    import_type=100,
    server_registration=2,
    inventory_endpoint="/inv",
    job_type_ids=default_job_type_ids("Full"),
)
PATH_VALUES = {
    "agent_id": str(AGENT_ID),
    "key": "JobFailuresAndWarningsAgeOut",
    "job_type_id": str(JOB_TYPE_ID),
    "store_type_id": str(STORE_TYPE.id),
    "name": "full",
    "container_id": str(CONTAINER_ID),
    "pool_id": str(POOL_ID),
}


def arrange(engine: Engine) -> dict[str, str]:
    """Rows whose every optional field is set, and rows whose every optional field is empty."""
    with engine.begin() as conn:
        conn.execute(
            insert(agent).values(
                id=AGENT_ID,
                client_machine="web01.example.com",
                username="CORP\\svc",
                platform=1,
                version="10.4.1.0",
                status=2,
                last_seen=BASE_TIME,
                thumbprint="AB" * 20,
                legacy_thumbprint="CD" * 20,
                last_error_code=0xA0100002,
                last_error_message="was disapproved",
                blueprint="web",
            )
        )
        conn.execute(insert(agent).values(id=uuid.uuid4(), client_machine="bare", username="", last_seen=BASE_TIME))
        conn.execute(
            insert(agent_capability), [{"agent_id": AGENT_ID, "capability": name} for name in ("LOGS", "Custom.Audit")]
        )
        conn.execute(insert(job_type).values(id=JOB_TYPE_ID, name="Audit", description="", is_custom=True))
        full_entry = {"query": "Status -eq 3", "ids": "[1]", "details": '{"Note": "seen"}'}
        for optional in (full_entry, {}):
            entry = {"at": BASE_TIME, "actor": "admin", "action": "Acknowledge", "resource": "JobHistory"}
            conn.execute(insert(audit_log).values(**entry, row_count=1, **optional))
        fields = [("Partition", 1, None, True), ("Deep", 4, "false", False)]
        conn.execute(
            insert(job_type_field),
            [
                {"job_type_id": JOB_TYPE_ID, "name": n, "type": t, "default_value": d, "required": r, "position": p}
                for p, (n, t, d, r) in enumerate(fields)
            ],
        )
    _arrange_containers_and_pools(engine)
    full = add_history(
        engine, result=4, status=4, acknowledged_at=BASE_TIME, acknowledged_by="admin", acknowledge_note="seen"
    )
    add_history(engine, result=0, status=1, operation_end=None, message=None, target_path=None, schedule=None)
    # An open failure of the failure count, whose group FailureGroups answers.
    recently = datetime.now(UTC) - timedelta(hours=1)
    add_history(engine, result=4, status=3, operation_start=recently, message_group="Inventory failed: <n>")
    add_result_data(engine, full, "uploaded")
    weekly = {"Weekly": {"Days": [1, 3], "Time": "2026-11-30T08:30:00Z"}}
    add_job(engine, AGENT_ID, next_run_at=BASE_TIME, requested_at=BASE_TIME, schedule=weekly)
    add_job(engine, AGENT_ID, next_run_at=BASE_TIME, requested_at=BASE_TIME, type_name="FetchLogs", target_path=None)
    with engine.begin() as conn:
        insert_store_type(conn, STORE_TYPE)
    store_id = add_store(engine, AGENT_ID, path="/etc/ssl/inventory.pem")
    add_entry(engine, store_id, "with-cn", make_certificate("web01.example.com").pem, key=True)
    add_entry(engine, store_id, "without-cn", make_certificate(None).pem)
    with engine.connect() as conn:
        certificate_id = conn.execute(select(func.min(certificate.c.id))).scalar_one()
    return {
        "history_id": str(full),
        "store_id": str(store_id),
        "certificate_id": str(certificate_id),
        **add_webhook_rows(engine),
        **_arrange_security(engine),
    }


def _arrange_security(engine: Engine) -> dict[str, str]:
    """A role of its own holding a permission, and an identity holding it."""
    with engine.begin() as conn:
        role_id = conn.execute(
            insert(security_role)
            .values(name="Deployers", name_key="deployers", description="", enabled=True, private=False)
            .returning(security_role.c.id)
        ).scalar_one()
        conn.execute(insert(security_role_permission).values(role_id=role_id, permission="/agents/management/read/"))
        identity_id = conn.execute(
            insert(security_identity)
            .values(account_name="CORP\\deploy", account_key="corp\\deploy", identity_type="User", created_at=BASE_TIME)
            .returning(security_identity.c.id)
        ).scalar_one()
        conn.execute(insert(security_identity_role).values(identity_id=identity_id, role_id=role_id))
    return {"role_id": str(role_id), "identity_id": str(identity_id)}


def _arrange_containers_and_pools(engine: Engine) -> None:
    """A container with a schedule and a store with every optional field, one with neither; a pool holding an
    orchestrator that reported SSL, and AGENT_ID in the Default Agent Pool."""
    with engine.begin() as conn:
        conn.execute(
            insert(agent).values(
                id=POOLED_ID, client_machine="ssl01", username="svc", version="11.0", status=2, last_seen=BASE_TIME
            )
        )
        conn.execute(insert(agent_capability).values(agent_id=POOLED_ID, capability="SSL"))
        conn.execute(insert(agent_pool).values(id=POOL_ID, name="Pool A"))
        conn.execute(
            insert(agent_pool_agent).values(
                pool_id=POOL_ID, agent_id=POOLED_ID, enable_discover=True, enable_monitor=False
            )
        )
        weekly = '{"Weekly": {"Days": [1, 3], "Time": "2026-11-30T08:30:00Z"}}'
        conn.execute(
            insert(certificate_store_container).values(
                id=CONTAINER_ID, name="Web", store_type_id=2, overwrite_schedules=False, schedule=weekly
            )
        )
        conn.execute(
            insert(certificate_store_container).values(id=8, name="Empty", store_type_id=1, overwrite_schedules=False)
        )
        conn.execute(
            insert(certificate_store_server).values(
                id=SERVER_ID, name="lb-01", server_type=2, username="u", password="p", use_ssl=True
            )
        )
    store_id = add_store(engine, AGENT_ID, properties='{"separatePrivateKey": "false"}')
    add_store(engine, AGENT_ID, path="/etc/ssl/other.pem")
    with engine.begin() as conn:
        stores = certificate_store.update().where(certificate_store.c.agent_id == AGENT_ID)
        conn.execute(stores.values(container_id=CONTAINER_ID))
        conn.execute(stores.where(certificate_store.c.id == store_id).values(display_name="Web certificates"))


def _formatted(value: Any, values: dict[str, str]) -> Any:
    """The request option with the arranged rows' ids put in its strings (`{store_id}`)."""
    if isinstance(value, str):
        return value.format(**values)
    if isinstance(value, dict):
        return {key: _formatted(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [_formatted(item, values) for item in value]
    return value


def routes_with_models() -> dict[tuple[str, str], APIRoute]:
    found = {}
    for router in ROUTERS:
        for route in router.routes:
            if isinstance(route, APIRoute) and route.response_model is not None:
                found.update({(method, route.path): route for method in route.methods})
    return found


def test_every_declared_model_is_exercised() -> None:
    assert set(routes_with_models()) == set(REQUESTS)


@pytest.mark.parametrize(("method", "path"), sorted(REQUESTS))
def test_the_answer_is_the_declared_model(client: TestClient, engine: Engine, method: str, path: str) -> None:
    values = {**PATH_VALUES, **arrange(engine)}
    route = routes_with_models()[(method, path)]
    options = {key: _formatted(option, values) for key, option in REQUESTS[(method, path)].items()}

    response = client.request(method, path.format(**values), **options)

    assert response.status_code == 200, response.text
    answer = response.json()
    TypeAdapter(route.response_model).validate_python(answer)
    if isinstance(answer, list):
        assert answer, "an empty list proves nothing about its items"
    assert not list(nulls(answer)), "absent values are omitted, never null"


def nulls(value: Any, where: str = "") -> Any:
    """The paths of every null in a JSON value."""
    if value is None:
        yield where
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from nulls(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from nulls(item, f"{where}[{index}]")
