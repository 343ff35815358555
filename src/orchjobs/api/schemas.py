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


class UnscheduleJobRequest(BaseModel):
    """Exactly one of JobIds (scheduled-job ids, as ScheduledJobs lists them) or Query (the ScheduledJobs fields)."""

    JobIds: list[uuid.UUID] | None = None
    Query: str | None = None


class FailureCountResponse(Wire):
    """Extension: the failure count of the job-history page and the query that defines it."""

    Count: int
    AgeOutDays: int
    Query: str


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
    Properties: str = Field(description="A JSON object as a string; values of Secret properties are left out.")
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
