"""Initial schema: agents, stores, job types, scheduled jobs, job history, users, app settings.

Revision ID: 0001
Revises:
Create Date: 2026-11-29 12:47:06.765039
"""

import sqlalchemy as sa
from alembic import op

from orchjobs.store.types import BigId, UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_machine", sa.String(length=255), nullable=False),
        sa.Column("username", sa.String(length=255), nullable=False),
        sa.Column("platform", sa.SmallInteger(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("last_seen", UtcDateTime(), nullable=False),
        sa.Column("thumbprint", sa.String(length=128), nullable=True),
        sa.Column("legacy_thumbprint", sa.String(length=128), nullable=True),
        sa.Column("auth_certificate_reenrollment", sa.SmallInteger(), nullable=False),
        sa.Column("last_error_code", BigId, nullable=True),
        sa.Column("last_error_message", sa.Text(), nullable=True),
        sa.Column("blueprint", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent")),
    )
    with op.batch_alter_table("agent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_client_machine"), ["client_machine"], unique=False)

    op.create_table(
        "app_setting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("short_name", sa.String(length=128), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("value_type", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_setting")),
        sa.UniqueConstraint("short_name", name=op.f("uq_app_setting_short_name")),
    )
    op.create_table(
        "job_history",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("client_machine", sa.String(length=255), nullable=False),
        sa.Column("job_type", sa.String(length=255), nullable=False),
        sa.Column("schedule", sa.Text(), nullable=True),
        sa.Column("schedule_type", sa.String(length=64), nullable=True),
        sa.Column("target_path", sa.String(length=1024), nullable=True),
        sa.Column("operation_start", UtcDateTime(), nullable=False),
        sa.Column("operation_end", UtcDateTime(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("result", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("acknowledged_at", UtcDateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=255), nullable=True),
        sa.Column("acknowledge_note", sa.Text(), nullable=True),
        sa.Column("status_before_ack", sa.SmallInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_history")),
    )
    with op.batch_alter_table("job_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_history_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_job_history_job_id_operation_start"), ["job_id", "operation_start"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_job_history_operation_start_id"), ["operation_start", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_job_history_status_result_operation_start"),
            ["status", "result", "operation_start"],
            unique=False,
        )

    op.create_table(
        "job_type",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("is_custom", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_type")),
        sa.UniqueConstraint("name", name=op.f("uq_job_type_name")),
    )
    op.create_table(
        "user_account",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=255), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_account")),
        sa.UniqueConstraint("username", name=op.f("uq_user_account_username")),
    )
    op.create_table(
        "agent_capability",
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("capability", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agent.id"], name=op.f("fk_agent_capability_agent_id_agent"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("agent_id", "capability", name=op.f("pk_agent_capability")),
    )
    op.create_table(
        "certificate_store",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("store_type", sa.String(length=64), nullable=False),
        sa.Column("store_path", sa.String(length=1024), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=True),
        sa.Column("properties", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agent.id"], name=op.f("fk_certificate_store_agent_id_agent"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_store")),
    )
    with op.batch_alter_table("certificate_store", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_certificate_store_agent_id"), ["agent_id"], unique=False)

    op.create_table(
        "job_result_data",
        sa.Column("job_history_id", BigId, nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_history_id"],
            ["job_history.id"],
            name=op.f("fk_job_result_data_job_history_id_job_history"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_history_id", name=op.f("pk_job_result_data")),
    )
    op.create_table(
        "job_type_field",
        sa.Column("job_type_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("type", sa.SmallInteger(), nullable=False),
        sa.Column("default_value", sa.Text(), nullable=True),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_type_id"],
            ["job_type.id"],
            name=op.f("fk_job_type_field_job_type_id_job_type"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_type_id", "name", name=op.f("pk_job_type_field")),
    )
    op.create_table(
        "scheduled_job",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("job_type_id", sa.Uuid(), nullable=False),
        sa.Column("certificate_store_id", sa.Uuid(), nullable=True),
        sa.Column("schedule", sa.Text(), nullable=True),
        sa.Column("schedule_type", sa.String(length=64), nullable=True),
        sa.Column("target_path", sa.String(length=1024), nullable=True),
        sa.Column("fields", sa.Text(), nullable=True),
        sa.Column("requested_at", UtcDateTime(), nullable=False),
        sa.Column("next_run_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agent.id"], name=op.f("fk_scheduled_job_agent_id_agent"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["certificate_store_id"],
            ["certificate_store.id"],
            name=op.f("fk_scheduled_job_certificate_store_id_certificate_store"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["job_type_id"], ["job_type.id"], name=op.f("fk_scheduled_job_job_type_id_job_type")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_job")),
    )
    with op.batch_alter_table("scheduled_job", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_scheduled_job_agent_id_next_run_at"), ["agent_id", "next_run_at"], unique=False
        )

    op.bulk_insert(
        sa.table(
            "app_setting",
            sa.column("id", sa.Integer),
            sa.column("short_name", sa.String),
            sa.column("display_name", sa.String),
            sa.column("description", sa.Text),
            sa.column("value", sa.Text),
            sa.column("value_type", sa.String),
        ),
        [
            {
                "id": 1,
                "short_name": "JobFailuresAndWarningsAgeOut",
                "display_name": "Job Failures and Warnings Age Out (days)",
                "description": "Failed and warning jobs older than this many days leave the failure count.",
                "value": "7",
                "value_type": "Int",
            },
            {
                "id": 2,
                "short_name": "AgentHeartbeatInterval",
                "display_name": "Orchestrator Heartbeat Interval (minutes)",
                "description": "How often orchestrators are told to check in.",
                "value": "5",
                "value_type": "Int",
            },
            {
                "id": 3,
                "short_name": "JobRetries",
                "display_name": "Job Retries",
                "description": "How many times a failed job runs again before it is left failed.",
                "value": "3",
                "value_type": "Int",
            },
            {
                "id": 4,
                "short_name": "JobRetryDelay",
                "display_name": "Job Retry Delay (minutes)",
                "description": "How long after a failure a job is retried.",
                "value": "5",
                "value_type": "Int",
            },
            {
                "id": 5,
                "short_name": "JobInProcessTimeout",
                "display_name": "Job In Process Timeout (minutes)",
                "description": "A job still in process after this long fails: its orchestrator did not report back.",
                "value": "60",
                "value_type": "Int",
            },
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("scheduled_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scheduled_job_agent_id_next_run_at"))

    op.drop_table("scheduled_job")
    op.drop_table("job_type_field")
    op.drop_table("job_result_data")
    with op.batch_alter_table("certificate_store", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificate_store_agent_id"))

    op.drop_table("certificate_store")
    op.drop_table("agent_capability")
    op.drop_table("user_account")
    op.drop_table("job_type")
    with op.batch_alter_table("job_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_history_status_result_operation_start"))
        batch_op.drop_index(batch_op.f("ix_job_history_operation_start_id"))
        batch_op.drop_index(batch_op.f("ix_job_history_job_id_operation_start"))
        batch_op.drop_index(batch_op.f("ix_job_history_agent_id"))

    op.drop_table("job_history")
    op.drop_table("app_setting")
    with op.batch_alter_table("agent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_client_machine"))

    op.drop_table("agent")
