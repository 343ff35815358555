"""Orchestrator protocol: sessions, events, the orchestrator CA, store inventory, dispatch state of jobs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 13:17:23.571887
"""

import uuid

import sqlalchemy as sa
from alembic import op

from orchjobs.store.types import BigId, UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_event",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=True),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_event")),
    )
    with op.batch_alter_table("agent_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_event_agent_id_at"), ["agent_id", "at"], unique=False)

    op.create_table(
        "orchestrator_ca",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("certificate_pem", sa.Text(), nullable=False),
        sa.Column("private_key_pem", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orchestrator_ca")),
    )
    op.create_table(
        "agent_session",
        sa.Column("token", sa.String(length=36), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agent.id"], name=op.f("fk_agent_session_agent_id_agent"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_agent_session")),
    )
    with op.batch_alter_table("agent_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_session_agent_id"), ["agent_id"], unique=False)

    op.create_table(
        "certificate_store_entry",
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("alias", sa.String(length=255), nullable=False),
        sa.Column("certificate", sa.Text(), nullable=False),
        sa.Column("private_key_entry", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["certificate_store.id"],
            name=op.f("fk_certificate_store_entry_store_id_certificate_store"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("store_id", "alias", name=op.f("pk_certificate_store_entry")),
    )
    with op.batch_alter_table("scheduled_job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("capability", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("priority", sa.SmallInteger(), server_default="5", nullable=False))
        batch_op.add_column(sa.Column("retry_count", sa.SmallInteger(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("running_history_id", BigId, nullable=True))

    # The built-in job types, with fixed ids (FetchLogs keeps the C agent's capability GUID).
    job_type = sa.table(
        "job_type",
        sa.column("id", sa.Uuid),
        sa.column("name", sa.String),
        sa.column("description", sa.Text),
        sa.column("is_custom", sa.Boolean),
    )
    existing = {row[0] for row in op.get_bind().execute(sa.select(job_type.c.name))}
    built_in = [
        ("4f0c9a52-8d0e-5a55-9d1b-6a1a4b3f0a01", "Inventory", "Reads the certificates in a certificate store.", False),
        ("4f0c9a52-8d0e-5a55-9d1b-6a1a4b3f0a02", "Management", "Adds or removes a certificate in a store.", False),
        ("4f0c9a52-8d0e-5a55-9d1b-6a1a4b3f0a03", "Discovery", "Looks for certificate stores on a machine.", False),
        ("4f0c9a52-8d0e-5a55-9d1b-6a1a4b3f0a04", "Reenrollment", "Makes a new key and certificate in a store.", False),
        ("0d8cf0c8-56ca-4b8a-b16a-c062018e170d", "FetchLogs", "Uploads the orchestrator's log.", True),
    ]
    op.bulk_insert(
        job_type,
        [
            {"id": uuid.UUID(ident), "name": name, "description": text, "is_custom": custom}
            for ident, name, text, custom in built_in
            if name not in existing
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("scheduled_job", schema=None) as batch_op:
        batch_op.drop_column("running_history_id")
        batch_op.drop_column("retry_count")
        batch_op.drop_column("priority")
        batch_op.drop_column("capability")

    op.drop_table("certificate_store_entry")
    with op.batch_alter_table("agent_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_session_agent_id"))

    op.drop_table("agent_session")
    op.drop_table("orchestrator_ca")
    with op.batch_alter_table("agent_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_event_agent_id_at"))

    op.drop_table("agent_event")
