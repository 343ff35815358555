"""Pydantic models of the wire shapes. They document the API in OpenAPI; responses are built by `wire`."""

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field


class JobHistoryResponse(BaseModel):
    """KeyfactorApi.Models.CertificateStores.JobHistoryResponse, plus additive extensions."""

    JobHistoryId: int
    AgentMachine: str
    JobId: UUID
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
    AgentId: UUID | None = Field(None, description="Extension: the orchestrator's id.")
    AcknowledgedAt: datetime | None = Field(None, description="Extension: when the run was acknowledged.")
    AcknowledgedBy: str | None = Field(None, description="Extension: who acknowledged the run.")
    AcknowledgeNote: str | None = Field(None, description="Extension: the note given when acknowledging.")


class CustomJobResultDataResponse(BaseModel):
    JobHistoryId: int
    Data: str


class AcknowledgeJobRequest(BaseModel):
    """Exactly one of JobAuditIds or Query. Keys are matched case-insensitively."""

    JobAuditIds: list[int] | None = None
    Query: str | None = None
    Note: str | None = Field(None, description="Extension: a note kept with the acknowledgement.")


class FailureCountResponse(BaseModel):
    """Extension: the failure count of the job-history page and the query that defines it."""

    Count: int
    AgeOutDays: int
    Query: str


class CountResponse(BaseModel):
    """Extension: how many rows a query matches."""

    Count: int


class ErrorResponse(BaseModel):
    ErrorCode: str
    Message: str
    FailedOperations: list[dict[str, Any]] | None = None


class AppSettingResponse(BaseModel):
    Id: int
    DisplayName: str
    ShortName: str
    Description: str
    Value: str
    ValueType: str
