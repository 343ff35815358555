"""PostgreSQL: every statement that inserts, updates or deletes job history issues `NOTIFY orchjobs_history`, so
that each server process's console watcher (one LISTEN connection a process) learns of a change made by any
process, at its commit (docs/console.md, live updates).

A statement-level trigger rather than pg_notify in the service: it catches every writer (dispatch, run close,
acknowledge, prune, the sweeper, an operator's SQL) and costs one notification per statement that changed a row, which PostgreSQL
folds into one per transaction (identical payloads). SQLite gets nothing: its watcher polls `PRAGMA data_version`.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 08:00:00.000000
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


# A statement that changed no row (the sweeper's UPDATE finding nothing due) notifies nobody: the function looks at
# the statement's transition table. PostgreSQL allows a transition table only on a trigger of one event: three.
TRIGGERS = {
    "job_history_inserted": ("INSERT", "NEW"),
    "job_history_updated": ("UPDATE", "NEW"),
    "job_history_deleted": ("DELETE", "OLD"),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE OR REPLACE FUNCTION orchjobs_history_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF EXISTS (SELECT 1 FROM changed_rows) THEN PERFORM pg_notify('orchjobs_history', ''); END IF; "
        "RETURN NULL; END $$"
    )
    for name, (event, side) in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON job_history REFERENCING {side} TABLE AS changed_rows "
            "FOR EACH STATEMENT EXECUTE FUNCTION orchjobs_history_changed()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON job_history")
    op.execute("DROP FUNCTION IF EXISTS orchjobs_history_changed()")
