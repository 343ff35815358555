"""Queryable fields per resource: the name a user types, the column behind it and its kind.

Registries are plain data; the compiler decides what each kind means. A resource that wants
to be queryable declares a `FieldRegistry` here and hands its table's columns to the compiler.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum, IntEnum

from orchjobs.domain.certificates import KeyType
from orchjobs.domain.jobs import RESULT_NAMES, STATUS_NAMES, AgentPlatform, AgentStatus, JobResult, JobStatus
from orchjobs.errors import InvalidSortFieldError, QuerySyntaxError


class FieldKind(Enum):
    """How a field's values are read and which operators apply."""

    STRING = "string"
    INTEGER = "integer"
    ENUM = "enum"
    DATE = "date"
    UUID = "uuid"
    # Upper-case hexadecimal text (a certificate's thumbprint or serial number): a value is upper-cased (spaces and
    # colons dropped) and compared with the column as is, so `Thumbprint -eq` in any case uses the column's index.
    HEX = "hex"
    # A set of text values per row, held in another table (an agent's capabilities). `column` names
    # an entry of the compiler's `related` mapping, not a column; such a field cannot be sorted on.
    TEXT_SET = "text set"


@dataclass(frozen=True)
class QueryField:
    """One queryable field. `enum_names` maps lower-case names to values for ENUM fields;
    `enum_labels` gives the display name of each value (for messages, docs and `describe`)."""

    name: str
    column: str
    kind: FieldKind
    enum_names: Mapping[str, int] | None = field(default=None, hash=False)
    aliases: tuple[str, ...] = ()
    enum_labels: Mapping[int, str] | None = field(default=None, hash=False)

    @property
    def sortable(self) -> bool:
        """Whether rows can be ordered by this field (a set of values has no one value to order by)."""
        return self.kind is not FieldKind.TEXT_SET

    def label_of(self, value: int) -> str:
        """The display name of an enum value, or the number itself when it has none."""
        if self.enum_labels and value in self.enum_labels:
            return self.enum_labels[value]
        return str(value)


class FieldRegistry:
    """The fields of one resource, looked up by name or alias without regard to case."""

    def __init__(self, resource_name: str, fields: Iterable[QueryField]) -> None:
        self.resource_name = resource_name
        self.fields: tuple[QueryField, ...] = tuple(fields)
        self._by_name: dict[str, QueryField] = {}
        for query_field in self.fields:
            for name in (query_field.name, *query_field.aliases):
                if name.lower() in self._by_name:
                    raise ValueError(f"{resource_name}: field name {name!r} is declared twice")
                self._by_name[name.lower()] = query_field

    def names(self) -> tuple[str, ...]:
        """Canonical field names in declaration order."""
        return tuple(query_field.name for query_field in self.fields)

    def find(self, name: str) -> QueryField | None:
        return self._by_name.get(name.lower())

    def resolve(self, name: str, position: int) -> QueryField:
        """The field called `name`; a QuerySyntaxError pointing at `position` if there is none."""
        query_field = self.find(name)
        if query_field is None:
            raise QuerySyntaxError(
                f"unknown field '{name}' for {self.resource_name}",
                position=position,
                expected=f"a field name (one of: {', '.join(self.names())})",
            )
        return query_field

    def sort_column_name(self, name: str) -> str:
        """The column to sort by for field `name` (aliases accepted); InvalidSortFieldError if unknown
        or not sortable."""
        query_field = self.find(name)
        if query_field is None or not query_field.sortable:
            raise InvalidSortFieldError(name)
        return query_field.column


def _labels(enum: type[IntEnum]) -> dict[int, str]:
    """`COMPLETED_WILL_RETRY` -> `CompletedWillRetry`: Command's spelling of enum names."""
    return {member.value: "".join(part.capitalize() for part in member.name.split("_")) for member in enum}


def _names(enum: type[IntEnum], labels: Mapping[int, str], **extra: int) -> dict[str, int]:
    """Query names of an enum: its labels and member names, lower-cased and without `_`, `-`, spaces."""
    names = {label.replace(" ", "").lower(): int(value) for value, label in labels.items()}
    names.update({member.name.replace("_", "").lower(): int(member.value) for member in enum})
    names.update({name: int(value) for name, value in extra.items()})
    return names


# Command's display names (v11 docs); `.NET` is also accepted as `dotnet` and `net`.
AGENT_PLATFORM_LABELS: dict[int, str] = {
    int(AgentPlatform.UNKNOWN): "Unknown",
    int(AgentPlatform.DOTNET): ".NET",
    int(AgentPlatform.JAVA): "Java",
    int(AgentPlatform.MAC): "Mac",
    int(AgentPlatform.ANDROID): "Android",
    int(AgentPlatform.NATIVE): "Native",
    int(AgentPlatform.BASH): "Bash",
    int(AgentPlatform.UNIVERSAL_ORCHESTRATOR): "UniversalOrchestrator",
}
AGENT_PLATFORM_NAMES = _names(
    AgentPlatform, AGENT_PLATFORM_LABELS, net=AgentPlatform.DOTNET, uo=AgentPlatform.UNIVERSAL_ORCHESTRATOR
)
AGENT_STATUS_LABELS = _labels(AgentStatus)
AGENT_STATUS_NAMES = _names(AgentStatus, AGENT_STATUS_LABELS)

JOB_HISTORY_FIELDS = FieldRegistry(
    "JobHistory",
    [
        QueryField("JobHistoryId", "id", FieldKind.INTEGER),
        QueryField("AgentId", "agent_id", FieldKind.UUID),
        QueryField("Agent", "client_machine", FieldKind.STRING, aliases=("ClientMachine", "AgentMachine")),
        QueryField("JobId", "job_id", FieldKind.UUID),
        QueryField("JobType", "job_type", FieldKind.STRING),
        QueryField("Result", "result", FieldKind.ENUM, RESULT_NAMES, enum_labels=_labels(JobResult)),
        QueryField("Status", "status", FieldKind.ENUM, STATUS_NAMES, enum_labels=_labels(JobStatus)),
        QueryField("Message", "message", FieldKind.STRING),
        QueryField("OperationStart", "operation_start", FieldKind.DATE),
        QueryField("OperationEnd", "operation_end", FieldKind.DATE),
        QueryField("ScheduleType", "schedule_type", FieldKind.STRING),
        QueryField("TargetPath", "target_path", FieldKind.STRING, aliases=("StorePath",)),
        QueryField("AcknowledgedBy", "acknowledged_by", FieldKind.STRING),
        QueryField("AcknowledgedAt", "acknowledged_at", FieldKind.DATE),
        # Extension: the folded message of a warning or failure (domain.failure_groups), what FailureGroups groups by.
        QueryField("MessageGroup", "message_group", FieldKind.STRING),
    ],
)

AGENT_FIELDS = FieldRegistry(
    "Agents",
    [
        QueryField("AgentId", "id", FieldKind.UUID),
        QueryField("ClientMachine", "client_machine", FieldKind.STRING),
        QueryField("Identity", "username", FieldKind.STRING, aliases=("Username",)),
        QueryField("LastSeen", "last_seen", FieldKind.DATE),
        QueryField(
            "Platform",
            "platform",
            FieldKind.ENUM,
            AGENT_PLATFORM_NAMES,
            aliases=("AgentPlatform",),
            enum_labels=AGENT_PLATFORM_LABELS,
        ),
        QueryField("Status", "status", FieldKind.ENUM, AGENT_STATUS_NAMES, enum_labels=AGENT_STATUS_LABELS),
        QueryField("Version", "version", FieldKind.STRING),
        QueryField("Capabilities", "capabilities", FieldKind.TEXT_SET, aliases=("Capability",)),
    ],
)

JOB_TYPE_FIELDS = FieldRegistry(
    "JobTypes",
    [
        QueryField("Id", "id", FieldKind.UUID, aliases=("JobTypeId",)),
        QueryField("JobTypeName", "name", FieldKind.STRING, aliases=("Name",)),
        QueryField("Description", "description", FieldKind.STRING),
    ],
)

# GET /OrchestratorJobs/ScheduledJobs and Unschedule's Query. ClientMachine and JobType live in the agent and job_type
# tables: the resource joins them and names their columns client_machine and job_type.
SCHEDULED_JOB_FIELDS = FieldRegistry(
    "ScheduledJobs",
    [
        QueryField("Id", "id", FieldKind.UUID, aliases=("JobId",)),
        QueryField("AgentId", "agent_id", FieldKind.UUID),
        QueryField("ClientMachine", "client_machine", FieldKind.STRING, aliases=("Agent",)),
        QueryField("JobType", "job_type", FieldKind.STRING),
        QueryField("Target", "target_path", FieldKind.STRING, aliases=("TargetPath", "StorePath")),
        QueryField("Requested", "requested_at", FieldKind.DATE),
        QueryField("ScheduleType", "schedule_type", FieldKind.STRING),
        QueryField("NextRun", "next_run_at", FieldKind.DATE),
    ],
)

CERTIFICATE_STORE_FIELDS = FieldRegistry(
    "CertificateStores",
    [
        QueryField("Id", "id", FieldKind.UUID, aliases=("CertificateStoreId",)),
        QueryField("ClientMachine", "client_machine", FieldKind.STRING),
        QueryField("Storepath", "store_path", FieldKind.STRING),
        QueryField("CertStoreType", "store_type_id", FieldKind.INTEGER, aliases=("StoreType",)),
        QueryField("AgentId", "agent_id", FieldKind.UUID),
        QueryField("ContainerId", "container_id", FieldKind.INTEGER),
        QueryField("ContainerName", "container_name", FieldKind.STRING),
        QueryField("DisplayName", "display_name", FieldKind.STRING),
    ],
)

CERTIFICATE_STORE_SERVER_FIELDS = FieldRegistry(
    "CertificateStores/Server",
    [
        QueryField("Id", "id", FieldKind.INTEGER),
        QueryField("Name", "name", FieldKind.STRING),
        QueryField("ServerType", "server_type", FieldKind.INTEGER),
    ],
)

# GET /CertificateStoreTypes. LocalStore and ServerRequired are booleans, which the query language has no kind for;
# they are left out.
STORE_TYPE_FIELDS = FieldRegistry(
    "CertificateStoreTypes",
    [
        QueryField("StoreType", "id", FieldKind.INTEGER, aliases=("Id", "StoreTypeId")),
        QueryField("Name", "name", FieldKind.STRING),
        QueryField("ShortName", "short_name", FieldKind.STRING),
        QueryField("Capability", "capability", FieldKind.STRING),
        QueryField("InventoryEndpoint", "inventory_endpoint", FieldKind.STRING),
    ],
)

# Command's KeyTypeString of each KeyType.
KEY_TYPE_LABELS: dict[int, str] = {
    int(KeyType.UNKNOWN): "Unknown",
    int(KeyType.RSA): "RSA",
    int(KeyType.DSA): "DSA",
    int(KeyType.ECC): "ECC",
    int(KeyType.DH): "DH",
}
KEY_TYPE_NAMES = _names(KeyType, KEY_TYPE_LABELS, ec=KeyType.ECC, ecdsa=KeyType.ECC)

# GET /Certificates: the certificates kept once by thumbprint (found by inventories or imported).
CERTIFICATE_FIELDS = FieldRegistry(
    "Certificates",
    [
        QueryField("Id", "id", FieldKind.INTEGER, aliases=("CertId", "CertificateId")),
        QueryField("Thumbprint", "thumbprint", FieldKind.HEX),
        QueryField("SerialNumber", "serial_number", FieldKind.HEX, aliases=("Serial",)),
        QueryField("IssuedDN", "issued_dn", FieldKind.STRING, aliases=("DN",)),
        QueryField("IssuedCN", "issued_cn", FieldKind.STRING, aliases=("CN",)),
        QueryField("IssuerDN", "issuer_dn", FieldKind.STRING),
        QueryField("NotBefore", "not_before", FieldKind.DATE, aliases=("EffectiveDate",)),
        QueryField("NotAfter", "not_after", FieldKind.DATE, aliases=("ExpirationDate",)),
        QueryField("ImportDate", "import_date", FieldKind.DATE),
        QueryField("KeySizeInBits", "key_size", FieldKind.INTEGER, aliases=("KeySize",)),
        QueryField("KeyType", "key_type", FieldKind.ENUM, KEY_TYPE_NAMES, enum_labels=KEY_TYPE_LABELS),
        QueryField("SigningAlgorithm", "signing_algorithm", FieldKind.STRING),
    ],
)

# GET /CertificateStoreContainers. CertStoreType is the store type's integer id.
CONTAINER_FIELDS = FieldRegistry(
    "CertificateStoreContainers",
    [
        QueryField("Id", "id", FieldKind.INTEGER),
        QueryField("Name", "name", FieldKind.STRING),
        QueryField("CertStoreType", "store_type_id", FieldKind.INTEGER, aliases=("StoreType",)),
    ],
)

# GET /AgentPools.
AGENT_POOL_FIELDS = FieldRegistry(
    "AgentPools",
    [
        QueryField("AgentPoolId", "id", FieldKind.UUID, aliases=("Id",)),
        QueryField("Name", "name", FieldKind.STRING),
    ],
)

# GET /AgentPools/Agents: the orchestrators of the Default Agent Pool.
AGENT_POOL_AGENT_FIELDS = FieldRegistry(
    "AgentPoolAgents",
    [
        QueryField("AgentId", "id", FieldKind.UUID),
        QueryField("ClientMachine", "client_machine", FieldKind.STRING),
        QueryField("Version", "version", FieldKind.STRING),
    ],
)

# GET /Security/Roles.
SECURITY_ROLE_FIELDS = FieldRegistry(
    "SecurityRoles",
    [
        QueryField("Id", "id", FieldKind.INTEGER),
        QueryField("Name", "name", FieldKind.STRING),
        QueryField("Description", "description", FieldKind.STRING),
    ],
)

# GET /Security/Identities. IdentityType is User or Group.
SECURITY_IDENTITY_FIELDS = FieldRegistry(
    "SecurityIdentities",
    [
        QueryField("Id", "id", FieldKind.INTEGER),
        QueryField("AccountName", "account_name", FieldKind.STRING),
        QueryField("IdentityType", "identity_type", FieldKind.STRING),
    ],
)

# GET /Audit (extension): the audit log, newest first by default (docs/audit.md). Ids and Details are the JSON text
# they are kept as, so `-contains` finds a GUID or a value in them.
AUDIT_FIELDS = FieldRegistry(
    "Audit",
    [
        QueryField("Id", "id", FieldKind.INTEGER),
        QueryField("At", "at", FieldKind.DATE),
        QueryField("Actor", "actor", FieldKind.STRING),
        QueryField("Action", "action", FieldKind.STRING),
        QueryField("Resource", "resource", FieldKind.STRING),
        QueryField("Query", "query", FieldKind.STRING),
        QueryField("Ids", "ids", FieldKind.STRING),
        QueryField("RowCount", "row_count", FieldKind.INTEGER),
        QueryField("Details", "details", FieldKind.STRING),
    ],
)
