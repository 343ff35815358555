"""Certificate stores' inventory schedules: the one Inventory scheduled job each store has while it has a schedule.
A container that overwrites its stores' schedules sets them here, and so does POST /CertificateStores/Schedule.
Functions take a connection and never commit.

A store's inventory job is a scheduled_job of job type Inventory with `certificate_store_id` set; it needs the
capability `CertStores.<type's capability>.Inventory`, targets the store's path, and carries the type's own
inventory JobTypeId when that is not the capability's (`job_type_guid`).
"""

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, exists, insert, select, update

from orchjobs.domain.capabilities import capability_guid, store_capability
from orchjobs.domain.schedules import first_run_at, schedule_type
from orchjobs.store.rows import chunks
from orchjobs.store.tables import certificate_store, certificate_store_type, job_type, scheduled_job

INVENTORY = "Inventory"


def set_inventory_schedules(
    conn: Connection, *, store_ids: Sequence[uuid.UUID], schedule: Mapping[str, Any] | None, now: datetime
) -> None:
    """Give every store of `store_ids` that exists this inventory schedule (canonical, as `canonical_schedule`
    makes it), or none when `schedule` is None (`Off`).

    With a schedule: a store's inventory job takes it (and its first run after `now`) unless it already has exactly
    this schedule, which it then keeps with its next run; a store without one gets one. Without: inventory jobs that
    are not running are deleted, and a running one gets no next run, so that it is deleted when its run ends.
    The stores are locked first, so that two calls cannot both give a store a job. A few set-based statements per
    500 stores."""
    ids = sorted(set(store_ids))
    if not ids:
        return
    inventory_type_id = conn.execute(select(job_type.c.id).where(job_type.c.name == INVENTORY)).scalar_one()
    text = None if schedule is None else json.dumps(dict(schedule))
    for chunk in chunks(ids):
        of_stores = scheduled_job.c.certificate_store_id.in_(chunk) & (scheduled_job.c.job_type_id == inventory_type_id)
        stores = _lock_stores(conn, chunk, inventory_type_id)
        if schedule is None or text is None:
            conn.execute(delete(scheduled_job).where(of_stores, scheduled_job.c.running_history_id.is_(None)))
            conn.execute(update(scheduled_job).where(of_stores).values(next_run_at=None))
            continue
        compact, first = schedule_type(dict(schedule)), first_run_at(dict(schedule), now)
        conn.execute(
            update(scheduled_job)
            .where(of_stores, scheduled_job.c.schedule.is_distinct_from(text))
            .values(schedule=text, schedule_type=compact, next_run_at=first, retry_count=0)
        )
        new_jobs = [
            _new_job(store, type_id=inventory_type_id, schedule=text, compact=compact, first=first, now=now)
            for store in stores
            if not store.has_job
        ]
        if new_jobs:
            conn.execute(insert(scheduled_job), new_jobs)


def _lock_stores(conn: Connection, store_ids: Sequence[uuid.UUID], inventory_type_id: uuid.UUID) -> list[Any]:
    """The stores that exist, with what a new inventory job needs and whether they have one, locked."""
    has_job = exists().where(
        scheduled_job.c.certificate_store_id == certificate_store.c.id,
        scheduled_job.c.job_type_id == inventory_type_id,
    )
    stmt = (
        select(
            certificate_store.c.id,
            certificate_store.c.agent_id,
            certificate_store.c.store_path,
            certificate_store_type.c.capability,
            certificate_store_type.c.inventory_job_type,
            has_job.label("has_job"),
        )
        .select_from(
            certificate_store.join(
                certificate_store_type, certificate_store_type.c.id == certificate_store.c.store_type_id
            )
        )
        .where(certificate_store.c.id.in_(store_ids))
        .order_by(certificate_store.c.id)
        .with_for_update(of=certificate_store)
    )
    return list(conn.execute(stmt))


def _new_job(
    store: Any, *, type_id: uuid.UUID, schedule: str, compact: str | None, first: datetime | None, now: datetime
) -> dict[str, Any]:
    capability = store_capability(store.capability, INVENTORY).name
    own_guid = store.inventory_job_type if store.inventory_job_type != capability_guid(capability) else None
    return {
        "id": uuid.uuid4(),
        "agent_id": store.agent_id,
        "job_type_id": type_id,
        "certificate_store_id": store.id,
        "schedule": schedule,
        "schedule_type": compact,
        "target_path": store.store_path,
        "fields": None,
        "requested_at": now,
        "next_run_at": first,
        "capability": capability,
        "job_type_guid": own_guid,
    }
