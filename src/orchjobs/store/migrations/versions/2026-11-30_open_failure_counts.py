"""PostgreSQL: the open failures of job history counted per UTC day as history changes, so that FailureCount reads a
few rows instead of counting every open failure of its window (223,020 index entries and 16 ms at ten million runs,
BENCHMARKS.md, issue 13).

`open_failure_delta` holds (day, n) rows: the statement triggers on job_history, which already advance the change
sequence of the console's live updates (migrations 0010, 0012), add one row per day a statement changed the number of
open failures of (+ for runs that became open, - for runs that stopped being open: acknowledged, deleted, closed
otherwise). A row is only ever inserted, so two transactions never wait on one another for it; the sweeper folds
the rows into one per day now and then (store.history.fold_open_failure_counts). The count of a window is the sum
of its days' rows, read in the reader's snapshot like any other row: exactly what counting the runs would give.
TRUNCATE of job_history empties it. SQLite counts the runs (its partial index): it has no such triggers.

An open failure is what the failure count counts (tables.OPEN_FAILURES): Status 3 Completed or 5 CompletedWillRetry,
Result 3 Warning or 4 Failure; %TODAY-N% stands for a UTC day, so per-day counts add up to any window exactly.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 11:00:00.000000
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

OPEN_FAILURES = "status IN (3, 5) AND result IN (3, 4)"
DAY = "(operation_start AT TIME ZONE 'UTC')::date"
SEQUENCE = "orchjobs_history_changes"
# Trigger -> (event, transition tables, function body run when the statement changed a row).
TRIGGERS = {
    "job_history_inserted": (
        "INSERT",
        "NEW TABLE AS new_rows",
        "new_rows",
        f"INSERT INTO open_failure_delta (day, n) SELECT {DAY}, count(*) FROM new_rows WHERE {OPEN_FAILURES} "
        "GROUP BY 1;",
    ),
    "job_history_updated": (
        "UPDATE",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "new_rows",
        f"INSERT INTO open_failure_delta (day, n) SELECT day, sum(n) FROM ("
        f"SELECT {DAY} AS day, 1 AS n FROM new_rows WHERE {OPEN_FAILURES} "
        f"UNION ALL SELECT {DAY}, -1 FROM old_rows WHERE {OPEN_FAILURES}) AS changes "
        "GROUP BY day HAVING sum(n) <> 0;",
    ),
    "job_history_deleted": (
        "DELETE",
        "OLD TABLE AS old_rows",
        "old_rows",
        f"INSERT INTO open_failure_delta (day, n) SELECT {DAY}, -count(*) FROM old_rows WHERE {OPEN_FAILURES} "
        "GROUP BY 1;",
    ),
}
# Migration 0010's triggers, which 0012 made advance the sequence: what a downgrade puts back.
OLD_SIDES = {"job_history_inserted": "NEW", "job_history_updated": "NEW", "job_history_deleted": "OLD"}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE TABLE open_failure_delta (id bigserial PRIMARY KEY, day date NOT NULL, n bigint NOT NULL)")
    op.execute("CREATE INDEX ix_open_failure_delta_day ON open_failure_delta (day)")
    for name, (event, tables, changed, count) in TRIGGERS.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON job_history")
        op.execute(
            f"CREATE OR REPLACE FUNCTION orchjobs_{name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF EXISTS (SELECT 1 FROM {changed}) THEN PERFORM nextval('{SEQUENCE}'); {count} END IF; "
            "RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON job_history REFERENCING {tables} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION orchjobs_{name}()"
        )
    op.execute(
        "CREATE OR REPLACE FUNCTION orchjobs_job_history_truncated() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"DELETE FROM open_failure_delta; PERFORM nextval('{SEQUENCE}'); RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER job_history_truncated AFTER TRUNCATE ON job_history "
        "FOR EACH STATEMENT EXECUTE FUNCTION orchjobs_job_history_truncated()"
    )
    # The runs already there, in the same transaction as the triggers (the table is not written meanwhile: the
    # migration holds it).
    op.execute("LOCK TABLE job_history IN SHARE MODE")
    op.execute(
        f"INSERT INTO open_failure_delta (day, n) SELECT {DAY}, count(*) FROM job_history WHERE {OPEN_FAILURES} "
        "GROUP BY 1"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS job_history_truncated ON job_history")
    op.execute("DROP FUNCTION IF EXISTS orchjobs_job_history_truncated()")
    for name, side in OLD_SIDES.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON job_history")
        op.execute(f"DROP FUNCTION IF EXISTS orchjobs_{name}()")
        event = TRIGGERS[name][0]
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON job_history REFERENCING {side} TABLE AS changed_rows "
            "FOR EACH STATEMENT EXECUTE FUNCTION orchjobs_history_changed()"
        )
    op.execute("DROP TABLE IF EXISTS open_failure_delta")
