"""Failure handling beyond Command (issue 11): the audit log, message groups of failures, the key that signs
preview tokens, and the settings of auto-acknowledge and retention.

* `audit_log`: one row per change an operator or the system makes (docs/audit.md).
* `signing_key`: secrets the service creates at first use and shares between processes.
* `job_history.message_group`: the folded message of a warning or failure (docs/failure-count.md); the existing
  warnings and failures get theirs here, in batches.
* Settings 6 to 8: `AutoAcknowledgeFailures` (off), `JobHistoryRetentionDays` (0: keep every run) and
  `JobHistoryKeepRuns` (10).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 06:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

from orchjobs.domain.failure_groups import message_group
from orchjobs.store.types import BigId, UtcDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_BACKFILL_BATCH = 5000
_SETTINGS = [
    {
        "id": 6,
        "short_name": "AutoAcknowledgeFailures",
        "display_name": "Acknowledge Failures When a Later Run Succeeds",
        "description": "When a run of a job succeeds, the earlier open failures and warnings of the same job are "
        "acknowledged by the system.",
        "value": "False",
        "value_type": "Bool",
    },
    {
        "id": 7,
        "short_name": "JobHistoryRetentionDays",
        "display_name": "Job History Retention (days)",
        "description": "Runs older than this many days are deleted by the daily prune; 0 keeps every run.",
        "value": "0",
        "value_type": "Int",
    },
    {
        "id": 8,
        "short_name": "JobHistoryKeepRuns",
        "display_name": "Job History Runs Kept per Job",
        "description": "The prune always keeps this many of the latest runs of each job, however old.",
        "value": "10",
        "value_type": "Int",
    },
]


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("resource", sa.String(length=64), nullable=False),
        sa.Column("query", sa.Text(), nullable=True),
        sa.Column("ids", sa.Text(), nullable=True),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("details", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at_id"), "audit_log", ["at", "id"], unique=False)
    op.create_index(op.f("ix_audit_log_actor_at"), "audit_log", ["actor", "at"], unique=False)
    op.create_index(op.f("ix_audit_log_action_at"), "audit_log", ["action", "at"], unique=False)
    op.create_table(
        "signing_key",
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("purpose", name=op.f("pk_signing_key")),
    )
    with op.batch_alter_table("job_history", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message_group", sa.String(length=512), nullable=True))
    _backfill_message_groups()
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
        _SETTINGS,
    )


def _backfill_message_groups() -> None:
    """The group of every warning and failure already recorded, a batch of rows per statement pair."""
    bind = op.get_bind()
    history = sa.table(
        "job_history",
        sa.column("id", sa.BigInteger),
        sa.column("message", sa.Text),
        sa.column("result", sa.SmallInteger),
        sa.column("message_group", sa.String),
    )
    last_id = 0
    while True:
        rows = bind.execute(
            sa.select(history.c.id, history.c.message)
            .where(history.c.id > last_id, history.c.result.in_([3, 4]), history.c.message.is_not(None))
            .order_by(history.c.id)
            .limit(_BACKFILL_BATCH)
        ).all()
        if not rows:
            return
        bind.execute(
            sa.update(history)
            .where(history.c.id == sa.bindparam("row_id"))
            .values(message_group=sa.bindparam("group")),
            [{"row_id": row.id, "group": message_group(row.message)} for row in rows],
        )
        last_id = rows[-1].id


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM app_setting WHERE id IN (6, 7, 8)"))
    with op.batch_alter_table("job_history", schema=None) as batch_op:
        batch_op.drop_column("message_group")
    op.drop_table("signing_key")
    op.drop_index(op.f("ix_audit_log_action_at"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_actor_at"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_at_id"), table_name="audit_log")
    op.drop_table("audit_log")
