"""The OpenAPI description of what routes read by hand: JSON bodies that no pydantic model reads, and query
parameters read from the query string (any case, as ASP.NET binds them). Only documentation: the routes' readers
(store_requests, protocol_requests, body) stay what decides; keys are matched case-insensitively there."""

from typing import Any

GUID: dict[str, Any] = {"type": "string", "format": "uuid"}
INTEGER: dict[str, Any] = {"type": "integer"}
STRING: dict[str, Any] = {"type": "string"}
BOOLEAN: dict[str, Any] = {"type": "boolean"}
OBJECT: dict[str, Any] = {"type": "object", "additionalProperties": True}
SCHEDULE: dict[str, Any] = {
    "type": "object",
    "description": 'A Keyfactor schedule: {"Immediate": true}, {"Interval": {"Minutes": 60}}, {"Daily": {"Time": '
    '"…"}}, {"ExactlyOnce": {"Time": "…"}} or {"Off": true}.',
    "additionalProperties": True,
}


def json_body(schema: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
    """openapi_extra declaring a JSON request body of `schema`."""
    return {"requestBody": {"required": required, "content": {"application/json": {"schema": schema}}}}


def json_object(description: str, required: tuple[str, ...] = (), **properties: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "description": description, "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def query_parameters(*parameters: tuple[str, dict[str, Any], bool, str]) -> dict[str, Any]:
    """openapi_extra declaring query parameters: (name, schema, required, description) each."""
    return {
        "parameters": [
            {"name": name, "in": "query", "required": required, "schema": schema, "description": description}
            for name, schema, required, description in parameters
        ]
    }


# For a route that answers 404 for an id outside its path (api.openapi adds the error schema).
NOT_FOUND: dict[str, Any] = {"responses": {"404": {"description": "Nothing has this id."}}}

API_VERSION_HEADER = {
    "parameters": [
        {
            "name": "x-keyfactor-api-version",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "enum": ["1", "2"], "default": "1"},
            "description": "The shape of the answer: Command's v1 (the default) or v2.",
        }
    ]
}

# -- certificate stores ---------------------------------------------------------------------------

_STORE_FIELDS: dict[str, dict[str, Any]] = {
    "ContainerId": INTEGER,
    "ClientMachine": STRING,
    "DisplayName": STRING,
    "Properties": {**OBJECT, "description": "The store type's properties, by name (or as a JSON string)."},
    "CreateIfMissing": BOOLEAN,
    "Password": {"description": "The store password: a string, or {Value} / {SecretValue}."},
    "InventorySchedule": SCHEDULE,
}
STORE_CREATE = json_object(
    "A new store on an approved orchestrator.",
    ("AgentId", "CertStoreType"),
    AgentId=GUID,
    CertStoreType=INTEGER,
    Storepath=STRING,
    **_STORE_FIELDS,
)
STORE_UPDATE = json_object(
    "A change to a store; absent fields keep their values.", ("Id",), Id=GUID, AgentId=GUID, **_STORE_FIELDS
)
STORE_IDS: dict[str, Any] = {"type": "array", "items": GUID, "description": "Certificate store ids."}
SERVER_CREATE = json_object(
    "A server that stores of server-bound types reach.",
    ("Name",),
    Name=STRING,
    ServerType=INTEGER,
    Username={"description": "A string, or {Value} / {SecretValue}."},
    Password={"description": "A string, or {Value} / {SecretValue}."},
    UseSSL=BOOLEAN,
    Container=INTEGER,
)
SERVER_UPDATE = {**SERVER_CREATE, "required": ["Id"], "properties": {"Id": INTEGER, **SERVER_CREATE["properties"]}}
STORE_PASSWORD = json_object(
    "A store's new password.",
    ("CertStoreId", "NewPassword"),
    CertStoreId=GUID,
    NewPassword={"description": "A string, or {Value}."},
)
ASSIGN_CONTAINER = json_object(
    "Stores to put in a container: an existing one, or a new one by name and type.",
    ("KeystoreIds",),
    KeystoreIds={"type": "array", "items": GUID},
    CertStoreContainerId=INTEGER,
    NewContainerName=STRING,
    NewContainerType=INTEGER,
)
STORE_APPROVALS: dict[str, Any] = {
    "type": "array",
    "description": "Discovered stores to approve: each an id, or an object.",
    "items": {
        "anyOf": [
            GUID,
            json_object(
                "A store to approve, with what it still needs.",
                ("Id",),
                Id=GUID,
                ContainerId=INTEGER,
                CertStoreType=INTEGER,
                Properties=OBJECT,
                Password={"description": "A string, or {Value}."},
            ),
        ]
    },
}
SCHEDULE_INVENTORY = json_object(
    "Stores and their new inventory schedule.",
    ("StoreIds",),
    StoreIds={"type": "array", "items": GUID},
    Schedule=SCHEDULE,
)
_STORE_ENTRY = json_object(
    "One store and the alias the entry has there.",
    ("CertificateStoreId",),
    CertificateStoreId=GUID,
    Alias=STRING,
    Overwrite=BOOLEAN,
    IncludePrivateKey=BOOLEAN,
    PfxPassword=STRING,
    JobFields=OBJECT,
)
ADD_CERTIFICATE = json_object(
    "Schedule adding a certificate to stores.",
    ("CertificateId", "CertificateStores"),
    CertificateId=INTEGER,
    CertificateStores={"type": "array", "items": _STORE_ENTRY},
    Schedule=SCHEDULE,
)
REMOVE_CERTIFICATE = json_object(
    "Schedule removing aliases from stores.",
    ("CertificateStores",),
    CertificateStores={"type": "array", "items": _STORE_ENTRY},
    Schedule=SCHEDULE,
)
DISCOVERY = json_object(
    "Schedule a Discovery of stores of a type on an orchestrator (AgentId or ClientMachine).",
    ("Type",),
    Type=INTEGER,
    AgentId=GUID,
    ClientMachine=STRING,
    Dirs=STRING,
    IgnoredDirs=STRING,
    Extensions=STRING,
    NamePatterns=STRING,
    ServerUsername=STRING,
    ServerPassword=STRING,
    ServerUseSsl=BOOLEAN,
    SymLinks=BOOLEAN,
    Compatibility=BOOLEAN,
    JobExecutionTimestamp={"type": "string", "format": "date-time"},
)
REENROLLMENT = json_object(
    "Schedule a Reenrollment of a store with a new key.",
    ("KeystoreId",),
    KeystoreId=GUID,
    AgentGuid=GUID,
    SubjectName=STRING,
    Alias=STRING,
    JobProperties=OBJECT,
)
APP_SETTING_VALUE = json_object("The setting's new value, checked by its type and range.", ("Value",), Value={})

# -- the orchestrator protocol --------------------------------------------------------------------

_SESSION = {"SessionToken": STRING}
REGISTER = json_object(
    "An orchestrator opening a session; with a CSR, it enrolls for a client certificate.",
    ("ClientMachine",),
    ClientMachine=STRING,
    AgentId=GUID,
    Capabilities={"type": "array", "items": STRING},
    AgentPlatform=INTEGER,
    AgentVersion=STRING,
    CSR=STRING,
)
HEARTBEAT = json_object("A session's heartbeat.", ("SessionToken",), **_SESSION)
_JOB = {"SessionToken": STRING, "JobId": GUID}
CONFIGURATION = json_object("The run the orchestrator starts.", ("SessionToken", "JobId"), **_JOB)
INVENTORY = json_object(
    "A store's inventory delta: items added, modified, removed or unchanged (ItemStatus 1-4).",
    ("SessionToken", "JobId", "Inventory"),
    **_JOB,
    Inventory={
        "type": "array",
        "items": json_object(
            "One entry.",
            ("Alias", "ItemStatus"),
            Alias=STRING,
            ItemStatus={"type": "integer", "enum": [1, 2, 3, 4]},
            Certificates={"type": "array", "items": STRING},
            PrivateKeyEntry=BOOLEAN,
        ),
    },
)
ENROLL = json_object("A Reenrollment's CSR.", ("SessionToken", "JobId", "CSRText"), **_JOB, CSRText=STRING)
DISCOVERY_REPORT = json_object(
    "The store paths a Discovery found.",
    ("SessionToken", "JobId", "Locations"),
    **_JOB,
    Locations={"type": "array", "items": STRING},
)
COMPLETE = json_object(
    "A run's outcome: Status 2 Success, 3 Warning or 4 Error.",
    ("SessionToken", "JobId", "Status"),
    **_JOB,
    AuditId=INTEGER,
    Status={"type": "integer", "enum": [2, 3, 4]},
    Message=STRING,
    Log=STRING,
    Data=STRING,
)


def combined(*extras: dict[str, Any]) -> dict[str, Any]:
    """Several openapi_extra dicts as one; their parameter lists joined."""
    merged: dict[str, Any] = {}
    for extra in extras:
        for key, value in extra.items():
            merged[key] = merged.get(key, []) + value if key == "parameters" else value
    return merged
