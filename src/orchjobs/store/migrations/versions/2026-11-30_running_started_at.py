"""The OperationStart of a job's run in flight kept beside its id (`scheduled_job.running_started_at`), so that the
protocol's statements find the run by (id, operation_start): on PostgreSQL job history is partitioned by month of
operation_start (migration 0011), and a run found by its id alone costs a look into every month's partition, more
each month the history keeps.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 11:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scheduled_job") as batch:
        batch.add_column(sa.Column("running_started_at", sa.DateTime(timezone=True)))
    op.execute(
        "UPDATE scheduled_job SET running_started_at = (SELECT h.operation_start FROM job_history h "
        "WHERE h.id = scheduled_job.running_history_id) WHERE running_history_id IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("scheduled_job") as batch:
        batch.drop_column("running_started_at")
