"""What the audit log records: who changed what, when, by which query or ids, and how many rows it touched
(docs/audit.md). One entry per change, written in the change's own transaction."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

# The actor of changes nobody asked for at that moment: auto-acknowledge, the daily prune. Not a valid user name
# (parentheses), so no account can be mistaken for it.
SYSTEM_ACTOR = "(system)"


class AuditAction(StrEnum):
    """The kinds of change. Values are what GET /Audit shows and its `Action` field matches."""

    ACKNOWLEDGE = "Acknowledge"
    UNACKNOWLEDGE = "Unacknowledge"
    AUTO_ACKNOWLEDGE = "AutoAcknowledge"
    RESCHEDULE = "Reschedule"
    UNSCHEDULE = "Unschedule"
    SCHEDULE = "Schedule"
    SET_SETTING = "SetAppSetting"
    APPROVE = "Approve"
    DISAPPROVE = "Disapprove"
    RESET = "Reset"
    SET_REENROLLMENT = "SetAuthCertificateReenrollment"
    FETCH_LOGS = "FetchLogs"
    CREATE_USER = "CreateUser"
    SET_PASSWORD = "SetPassword"
    REMOVE_USER = "RemoveUser"
    CREATE_IDENTITY = "CreateIdentity"
    DELETE_IDENTITY = "DeleteIdentity"
    CREATE_ROLE = "CreateRole"
    UPDATE_ROLE = "UpdateRole"
    DELETE_ROLE = "DeleteRole"
    COPY_ROLE = "CopyRole"
    SET_ROLE_IDENTITIES = "SetRoleIdentities"
    ADD_ROLE_PERMISSIONS = "AddRolePermissions"
    SET_ROLE_PERMISSIONS = "SetRolePermissions"
    ADD_CERTIFICATE = "AddCertificate"
    REMOVE_CERTIFICATE = "RemoveCertificate"
    SCHEDULE_REENROLLMENT = "ScheduleReenrollment"
    SCHEDULE_DISCOVERY = "ScheduleDiscovery"
    SCHEDULE_CUSTOM_JOB = "ScheduleCustomJob"
    PRUNE = "PruneHistory"


class AuditResource(StrEnum):
    """What a change touched: GET /Audit's `Resource` field."""

    APP_SETTING = "AppSetting"
    AGENTS = "Agents"
    USERS = "Users"
    SECURITY_IDENTITIES = "SecurityIdentities"
    SECURITY_ROLES = "SecurityRoles"
    CERTIFICATE_STORES = "CertificateStores"
    SCHEDULED_JOBS = "ScheduledJobs"
    JOB_HISTORY = "JobHistory"


@dataclass(frozen=True)
class AuditEntry:
    """One change. `ids` are the rows named by the request (not every row a query touched); `details` what else
    tells the change apart (a note, a setting's old and new value)."""

    actor: str
    action: AuditAction
    resource: str
    row_count: int
    query: str | None = None
    ids: Sequence[object] | None = None
    details: Mapping[str, object] | None = None
