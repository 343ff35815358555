"""Scheduling: declared order of job-type fields, scheduled-job indexes, completion webhooks, and one ScheduleType
encoding (the orchestrators' compact form, `D_08:30`, where history and scheduled jobs stored `D_0830`).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 18:40:00.000000
"""

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from orchjobs.store.types import BigId, UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("job_type_field") as batch:
        batch.add_column(sa.Column("position", sa.SmallInteger(), server_default="0", nullable=False))
    op.create_index(op.f("ix_scheduled_job_requested_at_id"), "scheduled_job", ["requested_at", "id"])
    op.create_index(op.f("ix_scheduled_job_job_type_id"), "scheduled_job", ["job_type_id"])
    op.create_table(
        "webhook",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("secret", sa.String(length=255), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("events", sa.String(length=255), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook")),
    )
    op.create_table(
        "webhook_event",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("job_history_id", BigId, nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("fanned_out_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_event")),
    )
    op.create_index(op.f("ix_webhook_event_fanned_out_at_id"), "webhook_event", ["fanned_out_at", "id"])
    op.create_table(
        "webhook_delivery",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("webhook_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", BigId, nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=True),
        sa.Column("last_attempt_at", UtcDateTime(), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["webhook_id"], ["webhook.id"], name=op.f("fk_webhook_delivery_webhook_id_webhook"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["webhook_event.id"],
            name=op.f("fk_webhook_delivery_event_id_webhook_event"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery")),
    )
    op.create_index(op.f("ix_webhook_delivery_next_attempt_at"), "webhook_delivery", ["next_attempt_at"])
    op.create_index(op.f("ix_webhook_delivery_webhook_id_created_at"), "webhook_delivery", ["webhook_id", "created_at"])
    op.create_index(op.f("ix_webhook_delivery_event_id"), "webhook_delivery", ["event_id"])
    for table in ("scheduled_job", "job_history"):
        _recompute_schedule_types(table)


def downgrade() -> None:
    op.drop_table("webhook_delivery")
    op.drop_table("webhook_event")
    op.drop_table("webhook")
    op.drop_index(op.f("ix_scheduled_job_job_type_id"), table_name="scheduled_job")
    op.drop_index(op.f("ix_scheduled_job_requested_at_id"), table_name="scheduled_job")
    with op.batch_alter_table("job_type_field") as batch:
        batch.drop_column("position")


def _recompute_schedule_types(table: str) -> None:
    """One UPDATE per distinct stored schedule (a handful), so that a million history rows are set in SQL."""
    conn = op.get_bind()
    rows = sa.table(table, sa.column("schedule", sa.Text), sa.column("schedule_type", sa.String))
    for (text,) in conn.execute(sa.select(rows.c.schedule).where(rows.c.schedule.is_not(None)).distinct()):
        conn.execute(sa.update(rows).where(rows.c.schedule == text).values(schedule_type=_compact(text)))


def _compact(text: str) -> str | None:
    """The compact form of a stored schedule, as orchestrators read it (agent-protocol.md §6); None when it is
    Immediate or cannot be read. Written out here so that this migration does the same whatever the code does later."""
    try:
        schedule = json.loads(text)
        (kind, spec), *others = [(key, value) for key, value in schedule.items() if value not in (None, False)]
    except (ValueError, AttributeError):
        return None
    if others or not isinstance(spec, dict):
        return None
    spec = {str(key).lower(): value for key, value in spec.items()}
    try:
        if kind == "Interval":
            return f"I_{int(spec['minutes'])}"
        if kind == "Monthly":
            return f"M_{int(spec['day'])}_{_clock(spec['time'])}"
        if kind == "Weekly":
            names = {"sunday": 0, "monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5, "saturday": 6}
            days: list[Any] = spec["days"]
            numbers = sorted({names[day.lower()] if isinstance(day, str) else int(day) for day in days})
            return f"W_{''.join(str(day + 1) for day in numbers)}_{_clock(spec['time'])}"
        if kind == "Daily":
            return f"D_{_clock(spec['time'])}"
        if kind == "ExactlyOnce":
            return f"O_{_utc(spec['time']):%Y-%m-%dT%H:%M}"
    except (KeyError, TypeError, ValueError):
        return None
    return None


def _clock(value: str) -> str:
    return f"{_utc(value):%H:%M}"


def _utc(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
