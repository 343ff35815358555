"""Orchestrator sessions are kept by the SHA-256 of their token (`token_sha256`, 64 hex characters), not the token.

The sessions open before the upgrade are deleted: their tokens were never kept anywhere else to be hashed. Each
orchestrator is told at its next call that its session is unknown, and registers again by itself (docs/security.md).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 23:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

from orchjobs.store.types import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _create_sessions(key: sa.Column[str]) -> None:
    op.create_table(
        "agent_session",
        key,
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agent.id"], name=op.f("fk_agent_session_agent_id_agent"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint(key.name, name=op.f("pk_agent_session")),
    )
    op.create_index(op.f("ix_agent_session_agent_id"), "agent_session", ["agent_id"], unique=False)


def upgrade() -> None:
    # Dropping the table (its index goes with it) deletes the old sessions with their plain tokens.
    op.drop_table("agent_session")
    _create_sessions(sa.Column("token_sha256", sa.String(length=64), nullable=False))


def downgrade() -> None:
    # A digest cannot be turned back into its token: the sessions end here too, and orchestrators register again.
    op.drop_table("agent_session")
    _create_sessions(sa.Column("token", sa.String(length=36), nullable=False))
