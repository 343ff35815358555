"""SQLAlchemy Core tables. The Alembic migrations create exactly these (a test compares them)."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    Uuid,
    func,
    text,
)

from orchjobs.store.types import BigId, UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

agent = Table(
    "agent",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("client_machine", String(255), nullable=False),
    Column("username", String(255), nullable=False),
    Column("platform", SmallInteger, nullable=False, default=0),
    Column("version", String(64), nullable=False, default=""),
    Column("status", SmallInteger, nullable=False, default=1),
    Column("last_seen", UtcDateTime, nullable=False),
    Column("thumbprint", String(128)),
    Column("legacy_thumbprint", String(128)),
    Column("auth_certificate_reenrollment", SmallInteger, nullable=False, default=0),
    Column("last_error_code", BigId),
    Column("last_error_message", Text),
    Column("blueprint", String(255)),
    Index(None, "client_machine"),
)

agent_capability = Table(
    "agent_capability",
    metadata,
    Column("agent_id", Uuid, ForeignKey("agent.id", ondelete="CASCADE"), primary_key=True),
    Column("capability", String(255), primary_key=True),
)

job_type = Table(
    "job_type",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("description", Text, nullable=False, default=""),
    Column("is_custom", Boolean, nullable=False, default=False),
)

job_type_field = Table(
    "job_type_field",
    metadata,
    Column("job_type_id", Uuid, ForeignKey("job_type.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(255), primary_key=True),
    Column("type", SmallInteger, nullable=False, default=1),
    Column("default_value", Text),
    Column("required", Boolean, nullable=False, default=False),
    # The order the fields were declared in, which is the order they are answered in.
    Column("position", SmallInteger, nullable=False, default=0, server_default="0"),
)

# Certificate store types (Command's CertificateStoreTypes). The id is Command's integer StoreType; the built-in
# ones (domain/store_types.py) are made by the migration. What the API answers as nested objects or lists
# (Properties, EntryParameters, JobProperties) is kept as JSON text, already checked and in canonical form.
certificate_store_type = Table(
    "certificate_store_type",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(255), nullable=False, unique=True),
    Column("short_name", String(64), nullable=False, unique=True),
    # What orchestrators report as CertStores.<Capability>.<Operation>.
    Column("capability", String(255), nullable=False),
    Column("built_in", Boolean, nullable=False, default=False),
    Column("local_store", Boolean, nullable=False, default=False),
    Column("supports_add", Boolean, nullable=False, default=False),
    Column("supports_create", Boolean, nullable=False, default=False),
    Column("supports_discovery", Boolean, nullable=False, default=False),
    Column("supports_enrollment", Boolean, nullable=False, default=False),
    Column("supports_remove", Boolean, nullable=False, default=False),
    Column("properties", Text, nullable=False, default="[]"),
    Column("entry_parameters", Text, nullable=False, default="[]"),
    Column("job_properties", Text, nullable=False, default="[]"),
    Column("password_entry_supported", Boolean, nullable=False, default=False),
    Column("password_store_required", Boolean, nullable=False, default=False),
    Column("password_style", SmallInteger, nullable=False, default=0),
    Column("store_path_type", String(255), nullable=False, default=""),
    Column("store_path_value", Text, nullable=False, default=""),
    Column("private_key_allowed", SmallInteger, nullable=False, default=0),
    Column("custom_alias_allowed", SmallInteger, nullable=False, default=0),
    Column("server_required", Boolean, nullable=False, default=False),
    Column("power_shell", Boolean, nullable=False, default=False),
    Column("blueprint_allowed", Boolean, nullable=False, default=False),
    Column("import_type", Integer, nullable=False, default=0),
    Column("server_registration", Integer, nullable=False, default=0),
    Column("inventory_endpoint", String(255), nullable=False, default=""),
    # The JobTypeId orchestrators are handed for each operation on stores of this type.
    Column("inventory_job_type", Uuid, nullable=False),
    Column("management_job_type", Uuid, nullable=False),
    Column("discovery_job_type", Uuid, nullable=False),
    Column("enrollment_job_type", Uuid, nullable=False),
)

# Containers group stores of one type; a container's schedule becomes its stores' inventory schedule.
certificate_store_container = Table(
    "certificate_store_container",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("store_type_id", Integer, ForeignKey("certificate_store_type.id"), nullable=False),
    Column("overwrite_schedules", Boolean, nullable=False, default=False),
    # The schedule as the API takes it (JSON text of a KeyfactorSchedule); None: no schedule.
    Column("schedule", Text),
)

certificate_store = Table(
    "certificate_store",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("agent_id", Uuid, ForeignKey("agent.id", ondelete="CASCADE"), nullable=False),
    Column("store_type_id", Integer, ForeignKey("certificate_store_type.id"), nullable=False),
    # The machine the store is on, as Command names it: the orchestrator's own, or a remote server it reaches.
    Column("client_machine", String(255), nullable=False),
    Column("store_path", String(1024), nullable=False),
    Column("display_name", String(255)),
    # A JSON object of the store type's properties, defaults filled in.
    Column("properties", Text),
    Column("container_id", Integer, ForeignKey("certificate_store_container.id")),
    # False for a store found by discovery until an operator approves it.
    Column("approved", Boolean, nullable=False, default=True),
    Column("create_if_missing", Boolean, nullable=False, default=False),
    Column("password", Text),
    Index(None, "agent_id"),
    Index(None, "store_type_id"),
    Index(None, "container_id"),
    # The list's default order (ClientMachine, then id): a page is read in index order, not sorted from every store.
    Index(None, "client_machine", "id"),
    # One store per orchestrator, type and path.
    Index("uq_certificate_store_agent_type_path", "agent_id", "store_type_id", "store_path", unique=True),
)

# Servers that stores of server-bound types (ServerRequired) reach, with the credentials to use.
certificate_store_server = Table(
    "certificate_store_server",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("server_type", Integer, ForeignKey("certificate_store_type.id"), nullable=False),
    Column("username", Text, nullable=False),
    Column("password", Text, nullable=False),
    Column("use_ssl", Boolean, nullable=False, default=True),
    Column("container_id", Integer, ForeignKey("certificate_store_container.id")),
    Index("uq_certificate_store_server_type_name", "server_type", "name", unique=True),
)

# Certificates, kept once by thumbprint: found by inventories or imported.
certificate = Table(
    "certificate",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # Upper-case hex SHA-1 of the DER, as Command shows it.
    Column("thumbprint", String(40), nullable=False, unique=True),
    Column("serial_number", String(128), nullable=False),
    Column("issued_dn", Text, nullable=False),
    Column("issued_cn", String(255)),
    Column("issuer_dn", Text, nullable=False),
    Column("not_before", UtcDateTime, nullable=False),
    Column("not_after", UtcDateTime, nullable=False),
    Column("signing_algorithm", String(64), nullable=False),
    Column("key_type", SmallInteger, nullable=False, default=0),
    Column("key_size", Integer, nullable=False, default=0),
    Column("import_date", UtcDateTime, nullable=False),
    # Base64 DER.
    Column("content", Text, nullable=False),
    Index(None, "not_after"),
    Index(None, "issued_cn"),
)

# Agent pools (Command's SSL discovery/monitoring pools) and their orchestrators.
agent_pool = Table(
    "agent_pool",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
)

agent_pool_agent = Table(
    "agent_pool_agent",
    metadata,
    Column("pool_id", Uuid, ForeignKey("agent_pool.id", ondelete="CASCADE"), primary_key=True),
    Column("agent_id", Uuid, ForeignKey("agent.id", ondelete="CASCADE"), primary_key=True),
    Column("enable_discover", Boolean, nullable=False, default=False),
    Column("enable_monitor", Boolean, nullable=False, default=False),
    Index(None, "agent_id"),
)

scheduled_job = Table(
    "scheduled_job",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("agent_id", Uuid, ForeignKey("agent.id", ondelete="CASCADE"), nullable=False),
    Column("job_type_id", Uuid, ForeignKey("job_type.id"), nullable=False),
    Column("certificate_store_id", Uuid, ForeignKey("certificate_store.id", ondelete="CASCADE")),
    Column("schedule", Text),
    Column("schedule_type", String(64)),
    Column("target_path", String(1024)),
    Column("fields", Text),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("next_run_at", UtcDateTime),
    # What the orchestrator must be able to do, e.g. CertStores.PEM.Inventory or Custom.FetchLogs.
    Column("capability", String(255)),
    # The JobTypeId the orchestrator is handed when it is not the capability's own (store types that name theirs).
    Column("job_type_guid", Uuid),
    Column("priority", SmallInteger, nullable=False, default=5, server_default="5"),
    # Failed runs of this job so far; reset by a success.
    Column("retry_count", SmallInteger, nullable=False, default=0, server_default="0"),
    # The history row of the run in flight; a job is not handed out again while it is set.
    Column("running_history_id", BigId),
    # Its OperationStart, set with it at dispatch (meaningless while it is NULL): the protocol finds the run by
    # (id, operation_start), in one partition of job history on PostgreSQL.
    Column("running_started_at", UtcDateTime),
    Index(None, "agent_id", "next_run_at"),
    # ScheduledJobs' default page order (newest request first); id makes paging stable.
    Index(None, "requested_at", "id"),
    # Whether a job type is in use, before it is deleted.
    Index(None, "job_type_id"),
    # A store's jobs: its Inventory job in every row of the store list, its schedule changes, its deletion (CASCADE).
    Index(None, "certificate_store_id"),
)

# The runs the failure count counts: Status Completed (3) or CompletedWillRetry (5), Result Warning (3) or Failure
# (4) (domain.jobs.ACKNOWLEDGEABLE_*; a test holds them equal). Written as the query compiler writes the count.
OPEN_FAILURES = "status IN (3, 5) AND result IN (3, 4)"

# One row per run. History outlives its scheduled job and its agent's reset, so job_id and
# agent_id are plain values, not foreign keys, and the agent's machine name is kept as it was.
job_history = Table(
    "job_history",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("job_id", Uuid, nullable=False),
    Column("agent_id", Uuid, nullable=False),
    Column("client_machine", String(255), nullable=False),
    Column("job_type", String(255), nullable=False),
    Column("schedule", Text),
    Column("schedule_type", String(64)),
    Column("target_path", String(1024)),
    Column("operation_start", UtcDateTime, nullable=False),
    Column("operation_end", UtcDateTime),
    Column("message", Text),
    Column("result", SmallInteger, nullable=False, default=0),
    Column("status", SmallInteger, nullable=False, default=1),
    Column("acknowledged_at", UtcDateTime),
    Column("acknowledged_by", String(255)),
    Column("acknowledge_note", Text),
    Column("status_before_ack", SmallInteger),
    # The message of a warning or failure with what differs between runs folded (domain.failure_groups).
    Column("message_group", String(512)),
    # Default page order and time-window filters; id makes paging stable.
    Index(None, "operation_start", "id"),
    # The acknowledge eligibility filter and the failure count.
    Index(None, "status", "result", "operation_start"),
    Index(None, "job_id", "operation_start"),
    Index(None, "agent_id", "operation_start"),
    # Text equality compiles to lower(column) = lower(value) (query.sql): these serve it, in the default page order.
    Index("ix_job_history_lower_client_machine", func.lower(text("client_machine")), "operation_start", "id"),
    Index("ix_job_history_lower_job_type", func.lower(text("job_type")), "operation_start", "id"),
    # The runs the failure count counts (docs/failure-count.md), and only those: the count reads this index alone.
    Index(
        "ix_job_history_open_failures",
        "operation_start",
        postgresql_where=text(OPEN_FAILURES),
        sqlite_where=text(OPEN_FAILURES),
    ),
    # -contains, -startswith and -endswith (ILIKE) on free text: trigram indexes, PostgreSQL only (migration 0007).
    *(
        Index(
            name,
            column,
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
            info={"dialects": ("postgresql",)},
        )
        for name, column in {
            "ix_job_history_message_trgm": "message",
            "ix_job_history_client_machine_trgm": "client_machine",
            "ix_job_history_target_path_trgm": "target_path",
        }.items()
    ),
)

# Sessions of the orchestrator protocol: a token (a GUID; the C agent holds at most 36 characters)
# bound to one orchestrator, until it expires. Kept by the SHA-256 of the token (hex, store.agents.token_digest), so
# that a copy of the table opens no session.
agent_session = Table(
    "agent_session",
    metadata,
    Column("token_sha256", String(64), primary_key=True),
    Column("agent_id", Uuid, ForeignKey("agent.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index(None, "agent_id"),
)

# Protocol events worth an operator's attention: refused completions, rejected registrations.
agent_event = Table(
    "agent_event",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("agent_id", Uuid),
    Column("job_id", Uuid),
    Column("at", UtcDateTime, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("message", Text, nullable=False),
    Index(None, "agent_id", "at"),
)

# The certificate authority that signs orchestrator client certificates; one row, made on first start.
orchestrator_ca = Table(
    "orchestrator_ca",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("certificate_pem", Text, nullable=False),
    Column("private_key_pem", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# What the last inventory of a certificate store found: one row per alias, pointing at the certificate.
certificate_store_entry = Table(
    "certificate_store_entry",
    metadata,
    Column("store_id", Uuid, ForeignKey("certificate_store.id", ondelete="CASCADE"), primary_key=True),
    Column("alias", String(255), primary_key=True),
    Column("certificate_id", Integer, ForeignKey("certificate.id"), nullable=False),
    Column("private_key_entry", Boolean, nullable=False, default=False),
    Index(None, "certificate_id"),
)

# PostgreSQL only (migration 0013): the number of open failures (OPEN_FAILURES) per UTC day of OperationStart, as rows
# of changes the job-history triggers insert and the sweeper folds into one a day (store.history); FailureCount sums a
# window's days. SQLite counts the runs.
open_failure_delta = Table(
    "open_failure_delta",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("day", Date, nullable=False),
    Column("n", BigInteger, nullable=False),
    Index(None, "day"),
    info={"dialects": ("postgresql",)},
)

job_result_data = Table(
    "job_result_data",
    metadata,
    Column("job_history_id", BigId, primary_key=True),
    Column("data", Text, nullable=False),
    # SQLite only: on PostgreSQL job_history is partitioned and its key is (id, operation_start), which a foreign
    # key on the id alone cannot point at; a trigger deletes the result data of deleted runs there (migration 0011).
    ForeignKeyConstraint(["job_history_id"], ["job_history.id"], ondelete="CASCADE", info={"dialects": ("sqlite",)}),
)

user_account = Table(
    "user_account",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(255), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# Sessions of the console (a browser that logged in at /login): the SHA-256 (hex) of the cookie's random token,
# whose user it is and until when. A removed user's sessions go with it.
console_session = Table(
    "console_session",
    metadata,
    Column("token_sha256", String(64), primary_key=True),
    Column("username", String(255), ForeignKey("user_account.username", ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index(None, "username"),
    Index(None, "expires_at"),
)

# Security roles hold permissions (Command's v2 strings, domain/permissions.py); identities (users, token subjects,
# names from elsewhere) hold roles. Names are unique whatever their case: `*_key` is the case-folded name.
security_role = Table(
    "security_role",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("name_key", String(255), nullable=False, unique=True),
    Column("description", Text, nullable=False, default=""),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("private", Boolean, nullable=False, default=False),
    Column("immutable", Boolean, nullable=False, default=False),
)

security_role_permission = Table(
    "security_role_permission",
    metadata,
    Column("role_id", Integer, ForeignKey("security_role.id", ondelete="CASCADE"), primary_key=True),
    Column("permission", String(255), primary_key=True),
)

security_identity = Table(
    "security_identity",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_name", String(255), nullable=False),
    Column("account_key", String(255), nullable=False, unique=True),
    Column("identity_type", String(16), nullable=False, default="User"),
    Column("created_at", UtcDateTime, nullable=False),
)

security_identity_role = Table(
    "security_identity_role",
    metadata,
    Column("identity_id", Integer, ForeignKey("security_identity.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", Integer, ForeignKey("security_role.id", ondelete="CASCADE"), primary_key=True),
    Index(None, "role_id"),
)

app_setting = Table(
    "app_setting",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("short_name", String(128), nullable=False, unique=True),
    Column("display_name", String(255), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("value", Text, nullable=False),
    Column("value_type", String(32), nullable=False),
)

# Every change an operator or the system makes, one row each, written in the transaction of the change
# (docs/audit.md). `ids` and `details` are JSON text; `row_count` is how many rows the change touched.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(255), nullable=False),
    Column("action", String(64), nullable=False),
    Column("resource", String(64), nullable=False),
    Column("query", Text),
    Column("ids", Text),
    Column("row_count", Integer, nullable=False, default=0),
    Column("details", Text),
    Index(None, "at", "id"),
    Index(None, "actor", "at"),
    Index(None, "action", "at"),
)

# Secrets the service makes for itself and shares between its processes (the key that signs preview tokens), each
# created at first use.
signing_key = Table(
    "signing_key",
    metadata,
    Column("purpose", String(64), primary_key=True),
    Column("secret", String(128), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# Completion webhooks: where to send which events, and how to sign them.
webhook = Table(
    "webhook",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("url", String(2048), nullable=False),
    Column("secret", String(255), nullable=False),
    # A filter in the query language over the run's history row; empty matches every run.
    Column("query", Text, nullable=False, default=""),
    # Comma-separated event names (RunCompleted, RunFailed, FailuresAcknowledged).
    Column("events", String(255), nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("description", Text),
    Column("created_at", UtcDateTime, nullable=False),
)

# Events written in the same transaction as their cause; a background worker fans them out into deliveries.
webhook_event = Table(
    "webhook_event",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("job_history_id", BigId),
    Column("payload", Text, nullable=False),
    Column("fanned_out_at", UtcDateTime),
    Index(None, "fanned_out_at", "id"),
)

# One delivery of one event to one webhook, retried with backoff until it succeeds or gives up.
webhook_delivery = Table(
    "webhook_delivery",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("webhook_id", Uuid, ForeignKey("webhook.id", ondelete="CASCADE"), nullable=False),
    Column("event_id", BigId, ForeignKey("webhook_event.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    # When it is next tried (also the end of a worker's claim on it); None once delivered or given up.
    Column("next_attempt_at", UtcDateTime),
    Column("last_attempt_at", UtcDateTime),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("delivered_at", UtcDateTime),
    Index(None, "next_attempt_at"),
    Index(None, "webhook_id", "created_at"),
    Index(None, "event_id"),
)


def exists_on(item: object, dialect: str) -> bool:
    """Whether a declared index exists on this database: some (trigram indexes) are made on PostgreSQL only."""
    dialects = getattr(item, "info", {}).get("dialects")
    return dialects is None or dialect in dialects
