"""Trigram indexes (PostgreSQL's pg_trgm) serve `-contains`, `-startswith` and `-endswith` on the job history's
free-text fields: Message, Agent (client_machine) and TargetPath.

The query language compiles those operators to `column ILIKE '%…%'`, which a B-tree cannot serve; a GIN index with
`gin_trgm_ops` on the column itself can, for any pattern of three or more characters. Without it, each such query
reads the whole history, and a dozen of them at once keep every other request waiting (issue 10).

The extension is created when it is missing, which needs a role allowed to (a superuser, or the database's owner
on PostgreSQL 13 and later, pg_trgm being a trusted extension). When it cannot be created, the migration goes on
without the indexes and logs a warning: the queries still work, by scanning. SQLite gets nothing: it has no index
for substring matches short of an FTS5 table, see docs/query-language.md.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 01:00:00.000000
"""

import logging

from alembic import op
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)

# Index name -> column; tables.py declares the same (TRIGRAM_INDEXES).
INDEXES = {
    "ix_job_history_message_trgm": "message",
    "ix_job_history_client_machine_trgm": "client_machine",
    "ix_job_history_target_path_trgm": "target_path",
}


def _has_pg_trgm() -> bool:
    bind = op.get_bind()
    try:
        # In a savepoint: a refused CREATE EXTENSION must not abort the migration's transaction.
        with bind.begin_nested():
            bind.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except DBAPIError as error:
        reason = str(error.orig).splitlines()[0]
        log.warning(
            "pg_trgm could not be created (%s): -contains on job history will scan; "
            "docs/operations.md says how to add its indexes later",
            reason,
        )
        return False
    return True


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql" or not _has_pg_trgm():
        return
    for name, column in INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON job_history USING gin ({column} gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    # The extension stays: something else may use it, and dropping it needs the same rights as creating it.
