"""Reads and writes of certificate stores (/KeyfactorAPI/CertificateStores), and the store jobs scheduled on them.
Functions take a connection and never commit.

A store's inventory schedule is not a column: it is the store's Inventory scheduled job, so that what the store says
and what runs can never disagree. The list reads it (and the job's id, CertStoreInventoryJobId) by correlated
subqueries over the index on scheduled_job.certificate_store_id.
"""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, insert, literal, select, update
from sqlalchemy.orm import aliased

from orchjobs.query.fields import CERTIFICATE_STORE_FIELDS, CERTIFICATE_STORE_SERVER_FIELDS
from orchjobs.store.custom_jobs import JobSpec
from orchjobs.store.dialects import conflict_insert
from orchjobs.store.listing import ListResource
from orchjobs.store.rows import Record, chunks
from orchjobs.store.tables import (
    agent,
    agent_capability,
    certificate,
    certificate_store,
    certificate_store_container,
    certificate_store_entry,
    certificate_store_server,
    certificate_store_type,
    job_type,
    scheduled_job,
)

_inventory_job = aliased(scheduled_job)
_INVENTORY_TYPE = select(job_type.c.id).where(job_type.c.name == "Inventory").scalar_subquery()


def _inventory(column: Any) -> Any:
    """A column of the store's Inventory scheduled job (None when it has none)."""
    return (
        select(column)
        .where(_inventory_job.c.certificate_store_id == certificate_store.c.id)
        .where(_inventory_job.c.job_type_id == _INVENTORY_TYPE)
        .order_by(_inventory_job.c.requested_at.desc())
        .limit(1)
        .scalar_subquery()
    )


_CONTAINER_NAME = certificate_store_container.c.name.label("container_name")
CERTIFICATE_STORES = ListResource(
    table=certificate_store,
    fields=CERTIFICATE_STORE_FIELDS,
    columns=(
        certificate_store.c.id,
        certificate_store.c.display_name,
        certificate_store.c.container_id,
        certificate_store.c.client_machine,
        certificate_store.c.store_path,
        certificate_store.c.store_type_id,
        certificate_store.c.approved,
        certificate_store.c.create_if_missing,
        certificate_store.c.properties,
        certificate_store.c.agent_id,
        _CONTAINER_NAME,
        _inventory(_inventory_job.c.id).label("inventory_job_id"),
        _inventory(_inventory_job.c.schedule).label("inventory_schedule"),
        certificate_store_type.c.supports_enrollment,
        certificate_store_type.c.custom_alias_allowed,
        certificate_store_type.c.password_store_required,
        certificate_store_type.c.properties.label("type_properties"),
        certificate_store_type.c.entry_parameters,
        certificate_store_type.c.job_properties,
    ),
    default_sort="ClientMachine",
    source=certificate_store.join(
        certificate_store_type, certificate_store_type.c.id == certificate_store.c.store_type_id
    ).outerjoin(certificate_store_container, certificate_store_container.c.id == certificate_store.c.container_id),
    joined_columns=(_CONTAINER_NAME,),
    page_first=True,
)


@dataclass(frozen=True)
class StoreValues:
    """The columns a create or an update writes."""

    agent_id: uuid.UUID
    store_type_id: int
    client_machine: str
    store_path: str
    display_name: str | None
    properties: str
    container_id: int | None
    approved: bool
    create_if_missing: bool


def insert_store(conn: Connection, *, store_id: uuid.UUID, values: StoreValues, password: str | None) -> bool:
    """Insert a store; False when the orchestrator already has a store of that type and path."""
    stmt = (
        conflict_insert(conn, certificate_store)
        .values(id=store_id, password=password, **values.__dict__)
        .on_conflict_do_nothing()
        .returning(certificate_store.c.id)
    )
    return conn.execute(stmt).first() is not None


def update_store(conn: Connection, *, store_id: uuid.UUID, values: dict[str, Any]) -> None:
    conn.execute(update(certificate_store).where(certificate_store.c.id == store_id).values(**values))


def lock_stores(conn: Connection, store_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Record]:
    """The stores with these ids (those that exist) with their type's rules, locked until the transaction ends."""
    found: dict[uuid.UUID, Record] = {}
    for chunk in chunks(list(store_ids)):
        stmt = (
            select(
                certificate_store.c.id,
                certificate_store.c.agent_id,
                certificate_store.c.store_type_id,
                certificate_store.c.client_machine,
                certificate_store.c.store_path,
                certificate_store.c.properties,
                certificate_store.c.container_id,
                certificate_store.c.approved,
                certificate_store_type.c.short_name,
                certificate_store_type.c.capability,
                certificate_store_type.c.properties.label("type_properties"),
                certificate_store_type.c.supports_add,
                certificate_store_type.c.supports_remove,
                certificate_store_type.c.supports_enrollment,
                certificate_store_type.c.custom_alias_allowed,
                certificate_store_type.c.private_key_allowed,
                certificate_store_type.c.management_job_type,
                certificate_store_type.c.enrollment_job_type,
                agent.c.status.label("agent_status"),
            )
            .join(certificate_store_type, certificate_store_type.c.id == certificate_store.c.store_type_id)
            .join(agent, agent.c.id == certificate_store.c.agent_id)
            .where(certificate_store.c.id.in_(chunk))
            .with_for_update(of=certificate_store)
        )
        found.update({row.id: row for row in conn.execute(stmt)})
    return found


def delete_stores(conn: Connection, store_ids: Sequence[uuid.UUID]) -> None:
    """Delete the stores; their inventory entries and scheduled jobs go with them (ON DELETE CASCADE)."""
    for chunk in chunks(list(store_ids)):
        conn.execute(delete(scheduled_job).where(scheduled_job.c.certificate_store_id.in_(chunk)))
        conn.execute(delete(certificate_store).where(certificate_store.c.id.in_(chunk)))


def running_jobs(conn: Connection, *, store_id: uuid.UUID) -> int:
    stmt = select(func.count()).where(
        scheduled_job.c.certificate_store_id == store_id, scheduled_job.c.running_history_id.is_not(None)
    )
    return int(conn.execute(stmt).scalar_one())


def move_jobs(conn: Connection, *, store_id: uuid.UUID, agent_id: uuid.UUID) -> None:
    """The store's scheduled jobs follow it to another orchestrator."""
    conn.execute(
        update(scheduled_job).where(scheduled_job.c.certificate_store_id == store_id).values(agent_id=agent_id)
    )


def has_capability(conn: Connection, *, agent_id: uuid.UUID, capability: str) -> bool:
    stmt = select(literal(1)).where(
        agent_capability.c.agent_id == agent_id, func.lower(agent_capability.c.capability) == capability.lower()
    )
    return conn.execute(stmt).first() is not None


def store_type_row(conn: Connection, *, store_type_id: int) -> Record | None:
    return conn.execute(select(certificate_store_type).where(certificate_store_type.c.id == store_type_id)).first()


def agent_row(conn: Connection, *, agent_id: uuid.UUID) -> Record | None:
    return conn.execute(
        select(agent.c.id, agent.c.status, agent.c.client_machine).where(agent.c.id == agent_id)
    ).first()


def agents_by_machine(conn: Connection, *, client_machine: str) -> Sequence[Record]:
    stmt = select(agent.c.id, agent.c.status, agent.c.client_machine).where(
        func.lower(agent.c.client_machine) == client_machine.lower()
    )
    return conn.execute(stmt.limit(2)).all()


def container_row(conn: Connection, *, container_id: int) -> Record | None:
    stmt = select(certificate_store_container).where(certificate_store_container.c.id == container_id)
    return conn.execute(stmt).first()


def present_aliases(conn: Connection, *, pairs: Sequence[tuple[uuid.UUID, str]]) -> set[tuple[uuid.UUID, str]]:
    """Which (store, alias) pairs the stores' last inventories hold (aliases compared case-insensitively)."""
    found: set[tuple[uuid.UUID, str]] = set()
    for chunk in chunks(list(pairs)):
        stores = sorted({store_id for store_id, _ in chunk})
        aliases = sorted({alias.lower() for _, alias in chunk})
        stmt = select(certificate_store_entry.c.store_id, func.lower(certificate_store_entry.c.alias)).where(
            certificate_store_entry.c.store_id.in_(stores), func.lower(certificate_store_entry.c.alias).in_(aliases)
        )
        found.update((store_id, alias) for store_id, alias in conn.execute(stmt))
    return {(store_id, alias) for store_id, alias in pairs if (store_id, alias.lower()) in found}


def insert_store_jobs(
    conn: Connection,
    *,
    jobs: Sequence[tuple[uuid.UUID, Record, str]],
    spec: JobSpec,
    job_type_guid: Callable[[Record], uuid.UUID | None] | None = None,
) -> None:
    """One scheduled job per (job id, store, fields JSON), all of one job type and schedule; one executemany.
    `job_type_guid`: a function of the store giving the JobTypeId to hand out, or None."""
    if not jobs:
        return
    rows = [
        {
            "id": job_id,
            "agent_id": store.agent_id,
            "job_type_id": spec.job_type_id,
            "certificate_store_id": store.id,
            "schedule": spec.schedule,
            "schedule_type": spec.schedule_type,
            "target_path": store.store_path,
            "fields": fields,
            "requested_at": spec.requested_at,
            "next_run_at": spec.next_run_at,
            "capability": f"CertStores.{store.capability}.{spec.capability}",
            "job_type_guid": job_type_guid(store) if job_type_guid else None,
        }
        for job_id, store, fields in jobs
    ]
    conn.execute(insert(scheduled_job), rows)


def insert_agent_job(conn: Connection, *, job_id: uuid.UUID, agent_id: uuid.UUID, spec: JobSpec, **values: Any) -> None:
    """One scheduled job not tied to a store (Discovery)."""
    conn.execute(
        insert(scheduled_job).values(
            id=job_id,
            agent_id=agent_id,
            job_type_id=spec.job_type_id,
            schedule=spec.schedule,
            schedule_type=spec.schedule_type,
            fields=spec.fields,
            requested_at=spec.requested_at,
            next_run_at=spec.next_run_at,
            capability=spec.capability,
            **values,
        )
    )


def job_type_id(conn: Connection, *, name: str) -> uuid.UUID:
    found: uuid.UUID = conn.execute(select(job_type.c.id).where(job_type.c.name == name)).scalar_one()
    return found


SERVERS = ListResource(
    table=certificate_store_server,
    fields=CERTIFICATE_STORE_SERVER_FIELDS,
    columns=(
        certificate_store_server.c.id,
        certificate_store_server.c.name,
        certificate_store_server.c.server_type,
        certificate_store_server.c.use_ssl,
        certificate_store_server.c.container_id,
    ),
    default_sort="Name",
)


def insert_server(conn: Connection, *, values: dict[str, Any]) -> int | None:
    """A new server's id; None when one of that type and name exists."""
    stmt = conflict_insert(conn, certificate_store_server).values(**values).on_conflict_do_nothing()
    result = conn.execute(stmt.returning(certificate_store_server.c.id)).first()
    return None if result is None else int(result.id)


def update_server(conn: Connection, *, server_id: int, values: dict[str, Any]) -> bool:
    stmt = update(certificate_store_server).where(certificate_store_server.c.id == server_id).values(**values)
    return conn.execute(stmt).rowcount == 1


def insert_container(conn: Connection, *, name: str, store_type_id: int) -> int | None:
    """A new container's id; None when one of that name exists."""
    stmt = conflict_insert(conn, certificate_store_container).values(
        name=name, store_type_id=store_type_id, overwrite_schedules=False
    )
    result = conn.execute(stmt.on_conflict_do_nothing().returning(certificate_store_container.c.id)).first()
    return None if result is None else int(result.id)


def set_container(conn: Connection, *, store_ids: Sequence[uuid.UUID], container_id: int) -> None:
    for chunk in chunks(list(store_ids)):
        conn.execute(
            update(certificate_store).where(certificate_store.c.id.in_(chunk)).values(container_id=container_id)
        )


def certificate_by_id(conn: Connection, *, certificate_id: int) -> Record | None:
    stmt = select(certificate.c.id, certificate.c.thumbprint, certificate.c.content).where(
        certificate.c.id == certificate_id
    )
    return conn.execute(stmt).first()
