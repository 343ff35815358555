"""Pydantic models of the wire shapes. They document the API in OpenAPI; each route renders its own answers, and a
test checks every route's answer against the model it declares (extra keys forbidden, so the two cannot drift)."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Wire(BaseModel):
    """A response shape: exactly these keys, absent values omitted rather than null."""

    model_config = ConfigDict(extra="forbid")


class JobHistoryResponse(Wire):
    """KeyfactorApi.Models.CertificateStores.JobHistoryResponse, plus additive extensions."""

    JobHistoryId: int
    AgentMachine: str
    JobId: uuid.UUID
    Schedule: dict[str, Any]
    JobType: str
    OperationStart: datetime
    OperationEnd: datetime | None = Field(None, description="Omitted while the job has not finished.")
    Message: str | None = None
    Result: int = Field(description="0 Unknown, 2 Success, 3 Warning, 4 Failure")
    Status: int = Field(
        description="0 Unknown, 1 Waiting, 2 InProcess, 3 Completed, 4 Acknowledged, 5 CompletedWillRetry"
    )
    StorePath: str | None = None
    ClientMachine: str
    AgentId: uuid.UUID | None = Field(None, description="Extension: the orchestrator's id.")
    AcknowledgedAt: datetime | None = Field(None, description="Extension: when the run was acknowledged.")
    AcknowledgedBy: str | None = Field(None, description="Extension: who acknowledged the run.")
    AcknowledgeNote: str | None = Field(None, description="Extension: the note given when acknowledging.")


class CustomJobResultDataResponse(Wire):
    JobHistoryId: int
    Data: str


class AcknowledgeJobRequest(BaseModel):
    """Exactly one of JobAuditIds or Query. Keys are matched case-insensitively."""

    JobAuditIds: list[int] | None = None
    Query: str | None = None
    Note: str | None = Field(None, description="Extension: a note kept with the acknowledgement.")
    PreviewToken: str | None = Field(
        None, description="Extension: the token of a Preview of this request; then exactly the previewed rows change."
    )


class ScheduledJobResponse(Wire):
    """Models.OrchestratorJobs.Job, plus additive extensions. Absent values are omitted, never null."""

    Id: uuid.UUID = Field(description="The scheduled job's id: the JobId of its runs, what Unschedule takes.")
    ClientMachine: str
    Target: str | None = Field(None, description="The store path or target; omitted when the job has none.")
    Schedule: dict[str, Any] = Field(description='The KeyfactorSchedule; Immediate is {"Immediate": true}.')
    Requested: str = Field(
        description="When the job was scheduled: a string in Command's schema, here ISO 8601 UTC ending in Z, as "
        "every other time of the API (e.g. 2026-11-29T12:00:00Z; a fraction of a second only when there is one)."
    )
    JobType: str = Field(description="The job type's name: Inventory, Management, … or a custom job type.")
    AgentId: uuid.UUID | None = Field(None, description="Extension: the orchestrator's id.")
    NextRun: datetime | None = Field(
        None, description="Extension: when the job is next due; omitted while the run of a one-shot job is in flight."
    )


class RescheduleJobRequest(BaseModel):
    """Exactly one of JobAuditIds (JobHistoryIds of failed runs) or Query (over job history)."""

    JobAuditIds: list[int] | None = None
    Query: str | None = None
    PreviewToken: str | None = Field(None, description="Extension: the token of a Preview of this request.")


class UnscheduleJobRequest(BaseModel):
    """Exactly one of JobIds (scheduled-job ids, as ScheduledJobs lists them) or Query (the ScheduledJobs fields)."""

    JobIds: list[uuid.UUID] | None = None
    Query: str | None = None
    PreviewToken: str | None = Field(None, description="Extension: the token of a Preview of this request.")


class PreviewResponse(Wire):
    """Extension: what a bulk request would change, and the token that makes it change exactly that."""

    Selected: int = Field(description="Rows the request selects (history runs; for Unschedule, scheduled jobs).")
    Eligible: int = Field(description="Rows it would change (for Reschedule, the jobs of the failed runs).")
    Ids: list[int] | list[uuid.UUID] = Field(description="The first 50 ids of the rows it would change, ascending.")
    Query: str | None = Field(None, description="The query, normalized; absent for a selection by ids.")
    PreviewToken: str = Field(description="Send it back in the request's body as PreviewToken.")
    ExpiresAt: datetime


class FailureCountResponse(Wire):
    """Extension: the failure count of the job-history page and the query that defines it."""

    Count: int
    AgeOutDays: int
    Query: str


class FailureGroupResponse(Wire):
    """Extension: open failures that are the same failure, and the query that selects exactly them."""

    Count: int
    JobType: str
    AgentId: uuid.UUID
    ClientMachine: str
    TargetPath: str | None = Field(None, description="Absent for jobs without a target.")
    MessageGroup: str | None = Field(
        None, description="The message with numbers, ids, addresses, paths and thumbprints folded; absent for none."
    )
    FirstSeen: datetime
    LastSeen: datetime
    LastMessage: str | None = Field(None, description="The message of the group's latest run.")
    Query: str = Field(description="Selects exactly the group's runs: pass it to JobHistory, Preview or Acknowledge.")


class CountResponse(Wire):
    """Extension: how many rows a query matches."""

    Count: int


class JobTypeFieldResponse(Wire):
    Name: str
    Type: int = Field(description="1 String, 2 Int, 3 DateTime, 4 Bool")
    DefaultValue: str | None = Field(None, description="Omitted when the field has none; canonical for its type.")
    Required: bool


class JobTypeResponse(Wire):
    """KeyfactorApi.Models.OrchestratorJobs.JobTypeResponse: a custom job type, its fields in declared order."""

    Id: uuid.UUID
    JobTypeName: str
    Description: str
    JobTypeFields: list[JobTypeFieldResponse]


class JobTypeFieldRequest(BaseModel):
    Name: str = Field(description="Unique within the type, in any case; spaces allowed.")
    Type: int | str = Field(description='1 String, 2 Int, 3 DateTime, 4 Bool, or the name ("String", "Int", …).')
    DefaultValue: str | int | float | bool | None = Field(None, description="Must be a value of the Type.")
    Required: bool = False


class JobTypeCreateRequest(BaseModel):
    """Keys are matched case-insensitively."""

    JobTypeName: str = Field(description="Unique in any case; printable ASCII without spaces, at most 128 characters.")
    Description: str | None = None
    JobTypeFields: list[JobTypeFieldRequest] | None = None


class JobTypeUpdateRequest(JobTypeCreateRequest):
    """A Description or JobTypeFields left out stays as it is; JobTypeFields replaces all the fields."""

    Id: uuid.UUID


class JobFieldResponse(Wire):
    JobTypeField: str
    Value: str


class JobResponse(Wire):
    """KeyfactorApi.Models.OrchestratorJobs.JobResponse."""

    JobId: uuid.UUID
    OrchestratorId: uuid.UUID
    JobTypeName: str
    Schedule: dict[str, Any]
    JobFields: list[JobFieldResponse] = Field(description="The job's values: given, or defaults; canonical text.")
    RequestTimestamp: datetime


class ScheduleJobRequest(BaseModel):
    """Keys are matched case-insensitively. JobFields values may be JSON text, numbers or booleans."""

    AgentId: uuid.UUID
    JobTypeName: str = Field(description="A custom job type's name (any case), or FetchLogs.")
    Schedule: dict[str, Any] | None = Field(None, description="Command's KeyfactorSchedule; Immediate by default.")
    JobFields: dict[str, str | int | float | bool | None] | None = None


class ScheduleBulkJobRequest(BaseModel):
    """OrchestratorIds, a Query, or both (the orchestrators of either)."""

    OrchestratorIds: list[uuid.UUID] | None = None
    Query: str | None = Field(None, description="Extension: a query over GET /Agents' fields, e.g. Status -eq 2.")
    JobTypeName: str
    Schedule: dict[str, Any] | None = None
    JobFields: dict[str, str | int | float | bool | None] | None = None


class BulkOrchestratorJobPair(Wire):
    JobId: uuid.UUID
    OrchestratorId: uuid.UUID


class BulkJobResponse(Wire):
    """KeyfactorApi.Models.OrchestratorJobs.BulkJobResponse."""

    OrchestratorJobPairs: list[BulkOrchestratorJobPair]
    FailedOrchestratorIds: list[uuid.UUID] = Field(
        description="Orchestrators that were not found, are not Approved or lack the job's capability."
    )
    JobTypeName: str
    Schedule: dict[str, Any]
    JobFields: list[JobFieldResponse]
    RequestTimestamp: datetime


class AgentResponse(Wire):
    """KeyfactorApi.Models.Orchestrators.AgentResponse. Absent values are omitted, never null."""

    AgentId: uuid.UUID
    ClientMachine: str
    Username: str
    AgentPlatform: int = Field(
        description="0 Unknown, 1 .NET, 2 Java, 3 Mac, 4 Android, 5 Native, 6 Bash, 7 Universal Orchestrator"
    )
    Version: str
    Status: int = Field(description="1 New, 2 Approved, 3 Disapproved")
    LastSeen: datetime = Field(description="UTC, always present.")
    Capabilities: list[str]
    Blueprint: str | None = None
    Thumbprint: str | None = None
    LegacyThumbprint: str | None = None
    AuthCertificateReenrollment: str = Field(
        description='A string, as the Go clients expect: "0" None, "1" Requested, "2" Required.'
    )
    LastThumbprintUsed: str | None = Field(None, description="Omitted: orchjobs does not record it yet.")
    LastErrorCode: int | None = None
    LastErrorMessage: str | None = None


class AgentHealthItem(Wire):
    AgentId: uuid.UUID
    LastSeen: datetime = Field(description="UTC.")
    Health: str = Field(
        description="OK; Late: last seen more than LateAfterMinutes ago; Silent: more than SilentAfterMinutes ago."
    )


class AgentHealthResponse(Wire):
    """Extension: GET /Agents/Health. The thresholds come from the HeartbeatInterval application setting."""

    HeartbeatMinutes: int = Field(description="The HeartbeatInterval setting, in minutes.")
    LateAfterMinutes: int = Field(description="2 heartbeat intervals.")
    SilentAfterMinutes: int = Field(description="10 heartbeat intervals.")
    Agents: list[AgentHealthItem] = Field(description="The asked-for orchestrators that exist, by AgentId.")


class SetAuthCertificateReenrollmentRequest(BaseModel):
    """Keys are matched case-insensitively. StatusEnum, when given, wins over Status."""

    OrchestratorIds: list[uuid.UUID]
    Status: str | int = Field(description='0 None, 1 Requested, 2 Required; "0", 0 and "None" all work.')
    StatusEnum: int | None = None


class SetAuthCertificateReenrollmentResponse(Wire):
    FailedOrchestratorIds: list[uuid.UUID]
    Status: int


class AppSettingResponse(Wire):
    Id: int
    DisplayName: str
    ShortName: str
    Description: str
    Value: str
    ValueType: str


class AuditEntryResponse(Wire):
    """One entry of the audit log (extension, docs/audit.md)."""

    Id: int
    At: datetime
    Actor: str
    Action: str
    Resource: str
    Query: str | None = None
    Ids: list[Any] | None = None
    RowCount: int
    Details: dict[str, Any] | None = None


class ErrorResponse(Wire):
    ErrorCode: str
    Message: str
    FailedOperations: list[dict[str, Any]] | None = None


class WebhookRequest(BaseModel):
    """Keys are matched case-insensitively. POST needs Url and Events; a PUT changes only the fields it carries."""

    Url: str = Field(description="http:// or https://, at most 2048 characters; redirects are not followed.")
    Events: list[str] = Field(description="Any of RunCompleted, RunFailed, FailuresAcknowledged.")
    Query: str | None = Field(None, description="A job-history filter in the query language; empty: every run.")
    Secret: str | None = Field(
        None, description="16-255 characters; generated when left out of a POST, and never answered again."
    )
    Enabled: bool | None = Field(None, description="true by default.")
    Description: str | None = None


class WebhookResponse(Wire):
    """Extension: a completion webhook. Its Secret is never answered, except once when POST generated it."""

    Id: uuid.UUID
    Url: str
    Events: list[str]
    Query: str | None = Field(None, description="Omitted when the webhook takes every run.")
    Enabled: bool
    Description: str | None = None
    CreatedAt: datetime


class WebhookCreatedResponse(WebhookResponse):
    Secret: str | None = Field(None, description="Only when orchjobs generated it: keep it, it is not shown again.")


class WebhookDeliveryResponse(Wire):
    """Extension: one delivery of one event to one webhook."""

    Id: int
    WebhookId: uuid.UUID
    EventId: int
    Event: str
    Status: int = Field(description="0 Pending (waiting for an attempt), 1 Delivered, 2 Failed (gave up)")
    Attempts: int
    CreatedAt: datetime
    LastAttemptAt: datetime | None = None
    NextAttemptAt: datetime | None = Field(None, description="Omitted once delivered or given up.")
    LastStatusCode: int | None = None
    LastError: str | None = None
    DeliveredAt: datetime | None = None


# -- certificate store types: enumerations travel as names (what Keyfactor's Go client and kfutil decode) ----------


class StoreTypeSupportedOperations(Wire):
    Add: bool
    Create: bool
    Discovery: bool
    Enrollment: bool
    Remove: bool


class StoreTypePropertyResponse(Wire):
    StoreTypeId: int
    Name: str
    DisplayName: str
    Type: str = Field(description="String, MultipleChoice, Bool or Secret")
    DependsOn: str
    DefaultValue: str | None = Field(None, description="MultipleChoice: its choices, comma-separated.")
    Required: bool


class StoreTypeRequiredWhen(Wire):
    HasPrivateKey: bool
    OnAdd: bool
    OnRemove: bool
    OnReenrollment: bool


class StoreTypeEntryParameterResponse(Wire):
    StoreTypeId: int
    Name: str
    DisplayName: str
    Type: str = Field(description="String, MultipleChoice, Bool or Secret")
    RequiredWhen: StoreTypeRequiredWhen
    DependsOn: str
    DefaultValue: str | None = None
    Options: str | None = None


class StoreTypePasswordOptions(Wire):
    EntrySupported: bool
    StoreRequired: bool
    Style: str = Field(description="Default or Custom")


class CertificateStoreTypeResponse(Wire):
    """KeyfactorApi.Models.CertificateStoresTypes.CertificateStoreTypeResponse, enumerations as names."""

    Name: str
    ShortName: str
    Capability: str
    StoreType: int
    ImportType: int
    LocalStore: bool
    SupportedOperations: StoreTypeSupportedOperations
    Properties: list[StoreTypePropertyResponse]
    EntryParameters: list[StoreTypeEntryParameterResponse]
    PasswordOptions: StoreTypePasswordOptions
    StorePathType: str
    StorePathValue: str
    PrivateKeyAllowed: str = Field(description="Forbidden, Optional or Required")
    JobProperties: list[str]
    ServerRequired: bool
    PowerShell: bool
    BlueprintAllowed: bool
    CustomAliasAllowed: str = Field(description="Forbidden, Optional or Required")
    ServerRegistration: int
    InventoryEndpoint: str
    InventoryJobType: uuid.UUID
    ManagementJobType: uuid.UUID
    DiscoveryJobType: uuid.UUID
    EnrollmentJobType: uuid.UUID


class StoreTypePropertyRequest(BaseModel):
    Name: str
    DisplayName: str | None = None
    Type: int | str = Field(0, description="String (0), MultipleChoice (1), Bool (2) or Secret (3), any case")
    DependsOn: str | None = None
    DefaultValue: str | bool | int | None = Field(None, description="MultipleChoice: the choices, comma-separated.")
    Required: bool = False


class StoreTypeEntryParameterRequest(BaseModel):
    Name: str
    DisplayName: str | None = None
    Type: int | str = 0
    RequiredWhen: dict[str, bool] | None = None
    DependsOn: str | None = None
    DefaultValue: str | None = None
    Options: str | None = None


class CertificateStoreTypeCreationRequest(BaseModel):
    """Command's creation request, or an integration manifest's definition as kfutil posts it (unknown keys are
    ignored; keys are matched case-insensitively; enumerations as names or integers)."""

    Name: str
    ShortName: str = Field(description="Unique in any case; no spaces; at most 64 characters.")
    Capability: str | None = Field(None, description="Defaults to ShortName.")
    LocalStore: bool = False
    SupportedOperations: dict[str, bool] | None = None
    Properties: list[StoreTypePropertyRequest] | None = None
    EntryParameters: list[StoreTypeEntryParameterRequest] | None = None
    PasswordOptions: dict[str, Any] | None = None
    StorePathType: str | None = None
    StorePathValue: str | None = None
    PrivateKeyAllowed: int | str = 0
    CustomAliasAllowed: int | str = 0
    JobProperties: list[str] | None = None
    ServerRequired: bool = False
    PowerShell: bool = False
    BlueprintAllowed: bool = False
    ServerRegistration: int = 0
    InventoryEndpoint: str | None = None
    InventoryJobTypeId: uuid.UUID | None = Field(None, description="Also read as InventoryJobType.")
    ManagementJobTypeId: uuid.UUID | None = None
    DiscoveryJobTypeId: uuid.UUID | None = None
    EnrollmentJobTypeId: uuid.UUID | None = None


class CertificateStoreTypeUpdateRequest(CertificateStoreTypeCreationRequest):
    """Replaces what the type declares; the job-type GUIDs left out stay as they are."""

    StoreType: int


class CertificateLocationResponse(Wire):
    """Models.CertificateRetrievalResponse.CertificateStoreInventoryItemModel: a store entry holding the certificate."""

    StoreMachine: str
    StorePath: str
    StoreType: int = Field(description="The store type's integer id (1 JKS, 2 PEM, 100+ custom).")
    Alias: str
    ChainLevel: int = Field(description="Always 0: entries are kept by their certificate, chains are not followed.")
    CertStoreId: uuid.UUID


class LocationCountResponse(Wire):
    Type: str = Field(description="The store type's short name, e.g. PEM.")
    Count: int


class CertificateResponse(Wire):
    """Models.CertificateRetrievalResponse, the fields orchjobs knows; the others (CA, template, requester,
    revocation, metadata, SANs, key usages) are omitted because no certificate here carries them."""

    Id: int
    Thumbprint: str = Field(description="Upper-case hex SHA-1 of the DER.")
    SerialNumber: str = Field(description="Upper-case hex.")
    IssuedDN: str
    IssuedCN: str | None = Field(None, description="Omitted when the subject has no common name.")
    ImportDate: datetime = Field(description="When orchjobs first kept the certificate (an inventory or an import).")
    NotBefore: datetime
    NotAfter: datetime
    IssuerDN: str
    KeySizeInBits: int
    KeyType: int = Field(description="0 Unknown, 1 RSA, 2 DSA, 3 ECC, 4 DH")
    KeyTypeString: str
    SigningAlgorithm: str
    HasPrivateKey: bool = Field(description="Always false: orchjobs keeps no private keys.")
    ContentBytes: str | None = Field(
        None, description="Base64 DER; always in GET /Certificates/{id}, in the list only with verbose=1 or more."
    )
    Locations: list[CertificateLocationResponse] | None = Field(
        None, description="With includeLocations=true: the store entries holding it (at most 1000)."
    )
    LocationsCount: list[LocationCountResponse] | None = Field(
        None, description="With includeLocations=true: how many entries of each store type hold it."
    )


class CertificateImportRequest(BaseModel):
    """Models.CertificateImportRequestModel. Keys are matched case-insensitively."""

    Certificate: str = Field(
        description="PEM text, or base64 of DER, of PEM text or of a PKCS#12 file (with Password); at most 131072 "
        "characters."
    )
    Password: str | None = Field(None, description="Opens a PKCS#12 file; its private key is not kept.")
    Metadata: dict[str, Any] | None = Field(None, description="Must be empty: metadata is not kept.")
    StoreIds: list[uuid.UUID] | None = Field(
        None, description="Must be empty: add to stores with POST /CertificateStores/Certificates/Add."
    )
    StoreTypes: list[dict[str, Any]] | None = Field(None, description="Must be empty, as StoreIds.")
    Schedule: datetime | None = Field(None, description="Ignored: no store job is scheduled.")
    ImportMetadata: bool | None = Field(None, description="Ignored.")


class CertificateImportResponse(Wire):
    """Models.CertificateImportResponseModel. JobStatus is omitted: an import schedules no store job."""

    ImportStatus: int = Field(description="1 the certificate is new here, 4 it was already kept (nothing changed).")
    InvalidKeystores: list[dict[str, Any]] = Field(description="Always empty: no store is reached.")
    Thumbprint: str
    CertificateId: int = Field(description="Extension: the certificate's Id, as GET /Certificates answers it.")


class StoreInventoryCertificateResponse(Wire):
    """Models.CertificateStoreInventoryCertificates."""

    Id: int
    IssuedDN: str
    SerialNumber: str
    NotBefore: datetime
    NotAfter: datetime
    SigningAlgorithm: str
    IssuerDN: str
    Thumbprint: str
    Metadata: dict[str, Any] = Field(description="Always empty: metadata is not kept.")


class StoreInventoryResponse(Wire):
    """Models.CertificateStoreInventory: one entry (alias) of the store's last inventory."""

    Name: str = Field(description="The entry's alias.")
    Certificates: list[StoreInventoryCertificateResponse]
    Parameters: dict[str, Any] = Field(description="Always empty: entry parameters are not kept.")
    PrivateKeyEntry: bool = Field(description="Extension: whether the inventory reported a private key with it.")


class ContainerListResponse(Wire):
    """Models.CertificateStoreContainerListResponse (also what keyfactor-go-client's CertStoreContainer decodes)."""

    Id: int
    Name: str
    OverwriteSchedules: bool
    Schedule: str | None = Field(
        None, description="The schedule's compact form (I_60, D_08:30, W_246_13:30, M_1_02:00, O_…); omitted for none."
    )
    CertStoreType: int
    StoreCount: int


class ContainerStoreResponse(Wire):
    """A store of a container, in Command's CertificateStore shape."""

    Id: uuid.UUID
    DisplayName: str | None = None
    ContainerId: int
    ClientMachine: str
    Storepath: str
    CertStoreType: int
    Approved: bool
    CreateIfMissing: bool
    Properties: str = Field(description="A JSON object as a string; values of Secret properties are blanked.")
    AgentId: uuid.UUID
    AgentAssigned: bool
    ContainerName: str


class ContainerResponse(Wire):
    """CertificateStoreContainers.CertificateStoreContainerResponse (v11), plus OverwriteSchedules (extension)."""

    Id: int
    Name: str
    OverwriteSchedules: bool = Field(description="Extension: whether the container sets its stores' schedules.")
    Schedule: dict[str, Any] | None = Field(None, description="The KeyfactorSchedule; omitted when there is none.")
    CertStoreType: int
    CertificateStores: list[ContainerStoreResponse]


class ContainerRequest(BaseModel):
    """CertStoreContainerRequest; keys are matched case-insensitively. On PUT, Id and Name are required and what is
    left out stays as it is."""

    Id: int | None = Field(None, description="PUT only: the container to update.")
    Name: str = Field(description="Unique in any case, at most 255 characters.")
    OverwriteSchedules: bool | None = Field(
        None, description="Whether the container's schedule becomes every one of its stores' inventory schedule."
    )
    Schedule: dict[str, Any] | None = Field(None, description='A KeyfactorSchedule; {"Off": true} or null: none.')
    CertStoreType: int | None = Field(None, description="The store type's integer id; required on POST.")


class AgentPoolAgentResponse(Wire):
    """Models.Agents.AgentPoolAgent."""

    AgentId: uuid.UUID
    EnableDiscover: bool
    EnableMonitor: bool
    Version: str
    AllowsDiscover: bool = Field(description="The orchestrator reported the capability SSL or SslDiscovery.")
    AllowsMonitor: bool = Field(
        description="The orchestrator reported the capability SSL, SslMonitoring or Monitoring."
    )
    ClientMachine: str


class AgentPoolResponse(Wire):
    """Models.Agents.AgentPool."""

    AgentPoolId: uuid.UUID
    Name: str
    DiscoverAgentsCount: int
    MonitorAgentsCount: int
    Agents: list[AgentPoolAgentResponse]


class AgentPoolAgentRequest(BaseModel):
    AgentId: uuid.UUID
    EnableDiscover: bool = False
    EnableMonitor: bool = False


class AgentPoolRequest(BaseModel):
    """OrchestratorPools.AgentPoolCreationRequest / AgentPoolUpdateRequest; keys are matched case-insensitively."""

    AgentPoolId: uuid.UUID | None = Field(None, description="PUT only: the pool to update.")
    Name: str = Field(description="Unique in any case, at most 255 characters.")
    Agents: list[AgentPoolAgentRequest] | None = Field(
        None, description="The pool's orchestrators; on PUT, left out: they stay as they are."
    )


class ReenrollmentStatusResponse(Wire):
    Data: bool = Field(description="Whether the store's type supports Reenrollment.")
    AgentId: uuid.UUID
    Message: str
    JobProperties: str = Field(description="The store type's job properties, a JSON array as a string.")
    CustomAliasAllowed: int
    EntryParameters: list[StoreTypeEntryParameterResponse]


class CertificateStoreResponse(Wire):
    """Models.CertificateStore (v10), CertificateStoreResponse (v11); absent values omitted, Password never shown."""

    Id: uuid.UUID
    DisplayName: str | None = None
    ContainerId: int | None = None
    ClientMachine: str
    Storepath: str
    CertStoreInventoryJobId: uuid.UUID | None = Field(None, description="The store's Inventory job, when scheduled.")
    CertStoreType: int
    Approved: bool
    CreateIfMissing: bool
    Properties: str = Field(description="A JSON object as a string; values of Secret properties are blanked.")
    AgentId: uuid.UUID
    AgentAssigned: bool
    ContainerName: str | None = None
    InventorySchedule: dict[str, Any] | None = Field(None, description="The KeyfactorSchedule of the inventory.")
    ReenrollmentStatus: ReenrollmentStatusResponse
    SetNewPasswordAllowed: bool


class CertificateStoreServerResponse(Wire):
    Id: int
    UseSSL: bool
    ServerType: int
    Name: str
