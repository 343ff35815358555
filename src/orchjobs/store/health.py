"""What /readyz and /metrics read from the database: one cheap statement each."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from orchjobs.store.tables import agent


@dataclass(frozen=True)
class StatusGroup:
    status: int
    count: int
    oldest_seen: datetime | None
    newest_seen: datetime | None


def agents_by_status(conn: Connection) -> list[StatusGroup]:
    """Orchestrators per approval status, with the oldest and newest last_seen of each status."""
    rows = conn.execute(
        select(agent.c.status, func.count(), func.min(agent.c.last_seen), func.max(agent.c.last_seen)).group_by(
            agent.c.status
        )
    )
    return [StatusGroup(row[0], row[1], row[2], row[3]) for row in rows]
