"""PostgreSQL: job history's statement triggers (migration 0010) count changes in a sequence instead of issuing
`NOTIFY`, and each server process's console watcher reads the sequence every poll interval.

A transaction that issued NOTIFY takes PostgreSQL's database-wide notification lock at its commit, and holds it
through the commit's WAL flush: every completion, dispatch and acknowledgement of every server process then commits
one after another. bench/protocol.py measured the orchestrator protocol at about half its rate with the triggers
notifying. `nextval` is not transactional and takes no lock that lasts to the commit; the watcher reads the sequence's
last value, which any session sees at once. It also needs no LISTEN, so servers can reach PostgreSQL through a pooler
in transaction mode.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 10:00:00.000000
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

SEQUENCE = "orchjobs_history_changes"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE}")
    _replace_function(f"PERFORM nextval('{SEQUENCE}');")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _replace_function("PERFORM pg_notify('orchjobs_history', '');")
    op.execute(f"DROP SEQUENCE IF EXISTS {SEQUENCE}")


def _replace_function(action: str) -> None:
    op.execute(
        "CREATE OR REPLACE FUNCTION orchjobs_history_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF EXISTS (SELECT 1 FROM changed_rows) THEN {action} END IF; "
        "RETURN NULL; END $$"
    )
