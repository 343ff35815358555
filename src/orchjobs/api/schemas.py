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
