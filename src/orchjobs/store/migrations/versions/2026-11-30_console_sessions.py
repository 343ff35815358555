"""Console sessions: a browser that logged in at /login holds a random token in a cookie; the table keeps the token's
SHA-256 (hex), whose user it is, and when it expires, so that a copy of the table opens no session
(docs/console.md). Removing a user deletes its sessions (the foreign key's cascade).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 07:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

from orchjobs.store.types import UtcDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_session",
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=255), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["username"],
            ["user_account.username"],
            name=op.f("fk_console_session_username_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_sha256", name=op.f("pk_console_session")),
    )
    op.create_index(op.f("ix_console_session_username"), "console_session", ["username"], unique=False)
    op.create_index(op.f("ix_console_session_expires_at"), "console_session", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_table("console_session")
