"""SQLAlchemy Core tables. The Alembic migrations create exactly these (a test compares them)."""

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    Uuid,
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

certificate_store = Table(
    "certificate_store",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("agent_id", Uuid, ForeignKey("agent.id", ondelete="CASCADE"), nullable=False),
    Column("store_type", String(64), nullable=False),
    Column("store_path", String(1024), nullable=False),
    Column("display_name", String(255)),
    Column("properties", Text),
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
    Column("priority", SmallInteger, nullable=False, default=5, server_default="5"),
    # Failed runs of this job so far; reset by a success.
    Column("retry_count", SmallInteger, nullable=False, default=0, server_default="0"),
    # The history row of the run in flight; a job is not handed out again while it is set.
    Column("running_history_id", BigId),
    Index(None, "agent_id", "next_run_at"),
    # ScheduledJobs' default page order (newest request first); id makes paging stable.
    Index(None, "requested_at", "id"),
    # Whether a job type is in use, before it is deleted.
    Index(None, "job_type_id"),
)

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
    # Default page order and time-window filters; id makes paging stable.
    Index(None, "operation_start", "id"),
    # The acknowledge eligibility filter and the failure count.
    Index(None, "status", "result", "operation_start"),
    Index(None, "job_id", "operation_start"),
    Index(None, "agent_id"),
)

# Sessions of the orchestrator protocol: a token (a GUID; the C agent holds at most 36 characters)
# bound to one orchestrator, until it expires.
agent_session = Table(
    "agent_session",
    metadata,
    Column("token", String(36), primary_key=True),
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

# What the last inventory of a certificate store found: one row per certificate.
certificate_store_entry = Table(
    "certificate_store_entry",
    metadata,
    Column("store_id", Uuid, ForeignKey("certificate_store.id", ondelete="CASCADE"), primary_key=True),
    Column("alias", String(255), primary_key=True),
    Column("certificate", Text, nullable=False),
    Column("private_key_entry", Boolean, nullable=False, default=False),
)

job_result_data = Table(
    "job_result_data",
    metadata,
    Column("job_history_id", BigId, ForeignKey("job_history.id", ondelete="CASCADE"), primary_key=True),
    Column("data", Text, nullable=False),
)

user_account = Table(
    "user_account",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(255), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime, nullable=False),
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
