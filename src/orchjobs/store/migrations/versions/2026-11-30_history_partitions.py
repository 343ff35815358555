"""Job history at ten million rows (issue 13): monthly partitions on PostgreSQL, and an index for every filter the
console and the failure count use, on both databases.

* PostgreSQL: `job_history` becomes a table partitioned by RANGE (operation_start), one partition a month
  (`job_history_2026_11`) and a DEFAULT partition (`job_history_default`) for rows of a month that has none. The
  rows move over in this migration (a new table, a copy, a swap; the id sequence is kept, ids do not change). The
  partitions of the coming months are made by `store.partitions.roll_partitions`, run by `orchjobs migrate` and by
  every server process once a day (docs/operations.md, "Job history partitions").
* The primary key of a partitioned table must hold its partition key: it is (id, operation_start). A foreign key
  needs a unique key to point at, so `job_result_data.job_history_id` loses its foreign key on PostgreSQL; the
  ON DELETE CASCADE it gave is a statement trigger now (`job_history_deleted_result_data`) that deletes the result
  data of the deleted runs in the same statement. SQLite keeps its one table and its foreign key.
* The NOTIFY triggers of migration 0010 are made again on the new table (statement triggers with transition tables
  are allowed on a partitioned table, and see the rows of every partition); the trigram indexes of 0007 too.
* Both databases: indexes on what the query compiler emits for text equality (`lower(client_machine)`,
  `lower(job_type)`) followed by the default order (operation_start, id), (agent_id, operation_start) in place of
  (agent_id), and `ix_job_history_open_failures`, a partial index on operation_start of the runs the failure count
  counts (Status Completed or CompletedWillRetry, Result Warning or Failure): the failure count reads it alone.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 12:00:00.000000
"""

from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# Status 3 Completed, 5 CompletedWillRetry; Result 3 Warning, 4 Failure (domain.jobs.ACKNOWLEDGEABLE_*).
OPEN_FAILURES = "status IN (3, 5) AND result IN (3, 4)"
# Index name -> (expressions, predicate); tables.py declares the same.
NEW_INDEXES = {
    "ix_job_history_lower_client_machine": ("lower(client_machine), operation_start, id", None),
    "ix_job_history_lower_job_type": ("lower(job_type), operation_start, id", None),
    "ix_job_history_agent_id_operation_start": ("agent_id, operation_start", None),
    "ix_job_history_open_failures": ("operation_start", OPEN_FAILURES),
}
OLD_INDEXES = {
    "ix_job_history_operation_start_id": "operation_start, id",
    "ix_job_history_status_result_operation_start": "status, result, operation_start",
    "ix_job_history_job_id_operation_start": "job_id, operation_start",
}
TRIGRAM_INDEXES = {
    "ix_job_history_message_trgm": "message",
    "ix_job_history_client_machine_trgm": "client_machine",
    "ix_job_history_target_path_trgm": "target_path",
}
NOTIFY_TRIGGERS = {
    "job_history_inserted": ("INSERT", "NEW"),
    "job_history_updated": ("UPDATE", "NEW"),
    "job_history_deleted": ("DELETE", "OLD"),
}
RESULT_DATA_FK = "fk_job_result_data_job_history_id_job_history"
# Months ahead made now; the roller keeps this many ahead of today from then on.
MONTHS_AHEAD = 3
# Months with rows this far back get their own partition; older rows (if any) stay in DEFAULT.
MONTHS_BACK = 60


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _partition_postgres()
        return
    op.drop_index("ix_job_history_agent_id", table_name="job_history")
    for name, (columns, predicate) in NEW_INDEXES.items():
        where = f" WHERE {predicate}" if predicate else ""
        op.execute(f"CREATE INDEX {name} ON job_history ({columns}){where}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _unpartition_postgres()
        return
    for name in NEW_INDEXES:
        op.drop_index(name, table_name="job_history")
    op.create_index("ix_job_history_agent_id", "job_history", ["agent_id"])


# -- PostgreSQL ------------------------------------------------------------------------------------------------------


def _partition_postgres() -> None:
    bind = op.get_bind()
    op.execute("LOCK TABLE job_history IN ACCESS EXCLUSIVE MODE")
    op.execute(f"ALTER TABLE job_result_data DROP CONSTRAINT IF EXISTS {RESULT_DATA_FK}")
    _drop_triggers()
    op.execute("ALTER TABLE job_history RENAME TO job_history_unpartitioned")
    op.execute("ALTER TABLE job_history_unpartitioned RENAME CONSTRAINT pk_job_history TO pk_job_history_unpartitioned")
    for name in [*OLD_INDEXES, *TRIGRAM_INDEXES, "ix_job_history_agent_id"]:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute(
        "CREATE TABLE job_history (LIKE job_history_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
        "INCLUDING STORAGE) PARTITION BY RANGE (operation_start)"
    )
    op.execute("ALTER TABLE job_history ADD CONSTRAINT pk_job_history PRIMARY KEY (id, operation_start)")
    op.execute("ALTER SEQUENCE job_history_id_seq OWNED BY job_history.id")
    op.execute("CREATE TABLE job_history_default PARTITION OF job_history DEFAULT")
    today = datetime.now(UTC).date().replace(day=1)
    months = {_add_months(today, n) for n in range(MONTHS_AHEAD + 1)}
    oldest = _add_months(today, -MONTHS_BACK)
    held = bind.execute(
        sa.text(
            "SELECT DISTINCT date_trunc('month', operation_start AT TIME ZONE 'UTC')::date AS month "
            "FROM job_history_unpartitioned"
        )
    ).scalars()
    months.update(month for month in held if oldest <= month <= _add_months(today, MONTHS_AHEAD))
    for month in sorted(months):
        op.execute(
            f"CREATE TABLE {_partition_name(month)} PARTITION OF job_history "
            f"FOR VALUES FROM ('{month.isoformat()} 00:00:00+00') TO ('{_add_months(month, 1).isoformat()} 00:00:00+00')"
        )
    # Rows first, indexes after: building an index once is cheaper than maintaining it row by row.
    op.execute("INSERT INTO job_history SELECT * FROM job_history_unpartitioned")
    op.execute("DROP TABLE job_history_unpartitioned")
    for name, columns in OLD_INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON job_history ({columns})")
    for name, (columns, predicate) in NEW_INDEXES.items():
        where = f" WHERE {predicate}" if predicate else ""
        op.execute(f"CREATE INDEX {name} ON job_history ({columns}){where}")
    if bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).first():
        for name, column in TRIGRAM_INDEXES.items():
            op.execute(f"CREATE INDEX {name} ON job_history USING gin ({column} gin_trgm_ops)")
    _create_triggers()
    op.execute("ANALYZE job_history")


def _unpartition_postgres() -> None:
    bind = op.get_bind()
    op.execute("LOCK TABLE job_history IN ACCESS EXCLUSIVE MODE")
    _drop_triggers()
    op.execute("ALTER TABLE job_history RENAME TO job_history_partitioned")
    op.execute("ALTER TABLE job_history_partitioned RENAME CONSTRAINT pk_job_history TO pk_job_history_partitioned")
    for name in [*OLD_INDEXES, *NEW_INDEXES, *TRIGRAM_INDEXES]:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute(
        "CREATE TABLE job_history (LIKE job_history_partitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
        "INCLUDING STORAGE)"
    )
    op.execute("ALTER TABLE job_history ADD CONSTRAINT pk_job_history PRIMARY KEY (id)")
    op.execute("ALTER SEQUENCE job_history_id_seq OWNED BY job_history.id")
    op.execute("INSERT INTO job_history SELECT * FROM job_history_partitioned")
    op.execute("DROP TABLE job_history_partitioned")  # and its partitions
    for name, columns in OLD_INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON job_history ({columns})")
    op.execute("CREATE INDEX ix_job_history_agent_id ON job_history (agent_id)")
    if bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).first():
        for name, column in TRIGRAM_INDEXES.items():
            op.execute(f"CREATE INDEX {name} ON job_history USING gin ({column} gin_trgm_ops)")
    op.execute("DELETE FROM job_result_data WHERE job_history_id NOT IN (SELECT id FROM job_history)")
    op.execute(
        f"ALTER TABLE job_result_data ADD CONSTRAINT {RESULT_DATA_FK} FOREIGN KEY (job_history_id) "
        "REFERENCES job_history (id) ON DELETE CASCADE"
    )
    for name, (event, side) in NOTIFY_TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON job_history REFERENCING {side} TABLE AS changed_rows "
            "FOR EACH STATEMENT EXECUTE FUNCTION orchjobs_history_changed()"
        )
    op.execute("DROP FUNCTION IF EXISTS orchjobs_history_result_data_deleted()")
    op.execute("ANALYZE job_history")


def _drop_triggers() -> None:
    for name in [*NOTIFY_TRIGGERS, "job_history_deleted_result_data"]:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON job_history")


def _create_triggers() -> None:
    # The function orchjobs_history_changed() of migration 0010 stays as it was.
    for name, (event, side) in NOTIFY_TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON job_history REFERENCING {side} TABLE AS changed_rows "
            "FOR EACH STATEMENT EXECUTE FUNCTION orchjobs_history_changed()"
        )
    # What the foreign key's ON DELETE CASCADE did: a deleted run takes its result data along, in its statement.
    op.execute(
        "CREATE OR REPLACE FUNCTION orchjobs_history_result_data_deleted() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN DELETE FROM job_result_data WHERE job_history_id IN (SELECT id FROM deleted_rows); RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER job_history_deleted_result_data AFTER DELETE ON job_history "
        "REFERENCING OLD TABLE AS deleted_rows FOR EACH STATEMENT "
        "EXECUTE FUNCTION orchjobs_history_result_data_deleted()"
    )


def _add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def _partition_name(month: date) -> str:
    return f"job_history_{month.year:04d}_{month.month:02d}"
