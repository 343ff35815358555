"""Inventory schedules of certificate stores: each store's Inventory scheduled job. Functions take a connection and
never commit."""

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from orchjobs.domain.capabilities import capability_guid
from orchjobs.domain.schedules import first_run_at, schedule_type
from orchjobs.store.rows import chunks
from orchjobs.store.tables import certificate_store, certificate_store_type, job_type, scheduled_job


def set_inventory_schedules(
    conn: Connection, *, store_ids: Sequence[uuid.UUID], schedule: dict[str, Any] | None, now: datetime
) -> None:
    """Give the stores this inventory schedule (None or {}: none): their Inventory jobs that are not running are
    replaced, in set-based statements."""
    inventory = select(job_type.c.id).where(job_type.c.name == "Inventory").scalar_subquery()
    for chunk in chunks(list(store_ids)):
        mine = (scheduled_job.c.certificate_store_id.in_(chunk), scheduled_job.c.job_type_id == inventory)
        conn.execute(delete(scheduled_job).where(*mine, scheduled_job.c.running_history_id.is_(None)))
        if not schedule:
            conn.execute(update(scheduled_job).where(*mine).values(next_run_at=None))
            continue
        running = set(conn.execute(select(scheduled_job.c.certificate_store_id).where(*mine)).scalars())
        if running:
            conn.execute(
                update(scheduled_job)
                .where(*mine)
                .values(schedule=json.dumps(schedule), schedule_type=schedule_type(schedule))
            )
        stores = conn.execute(
            select(
                certificate_store.c.id,
                certificate_store.c.agent_id,
                certificate_store.c.store_path,
                certificate_store_type.c.capability,
                certificate_store_type.c.inventory_job_type,
            )
            .join(certificate_store_type, certificate_store_type.c.id == certificate_store.c.store_type_id)
            .where(certificate_store.c.id.in_(chunk))
        ).all()
        type_id = conn.execute(select(inventory)).scalar_one()
        rows = []
        for found in stores:
            if found.id in running:
                continue
            capability = f"CertStores.{found.capability}.Inventory"
            guid = found.inventory_job_type
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "agent_id": found.agent_id,
                    "job_type_id": type_id,
                    "certificate_store_id": found.id,
                    "schedule": json.dumps(schedule),
                    "schedule_type": schedule_type(schedule),
                    "target_path": found.store_path,
                    "requested_at": now,
                    "next_run_at": first_run_at(schedule, now),
                    "capability": capability,
                    "job_type_guid": None if guid == capability_guid(capability) else guid,
                }
            )
        if rows:
            conn.execute(insert(scheduled_job), rows)
