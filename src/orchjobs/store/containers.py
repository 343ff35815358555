"""Reads and writes of certificate store containers (/KeyfactorAPI/CertificateStoreContainers). Functions take a
connection and never commit.

Names are unique whatever their case. The containers are a small catalogue: writers take turns (`lock_containers`)
and compare a name with every other one, as the job types do.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from orchjobs.query.fields import CONTAINER_FIELDS
from orchjobs.store.dialects import advisory_lock
from orchjobs.store.listing import ListResource
from orchjobs.store.rows import Record
from orchjobs.store.tables import certificate_store, certificate_store_container, certificate_store_type

_CONTAINER_WRITERS = 0x4F4A_0001  # the advisory lock key of container writers (PostgreSQL)
_STORE_COUNT = (
    select(func.count())
    .select_from(certificate_store)
    .where(certificate_store.c.container_id == certificate_store_container.c.id)
    .scalar_subquery()
    .label("store_count")
)
CONTAINERS = ListResource(
    table=certificate_store_container,
    fields=CONTAINER_FIELDS,
    columns=(
        certificate_store_container.c.id,
        certificate_store_container.c.name,
        certificate_store_container.c.overwrite_schedules,
        certificate_store_container.c.schedule,
        certificate_store_container.c.store_type_id,
        _STORE_COUNT,
    ),
    default_sort="Name",
)


def lock_containers(conn: Connection) -> dict[int, str]:
    """`{id: name}` of every container; container writers take turns until the transaction ends (PostgreSQL: an
    advisory lock, which also covers the first container of an empty table; SQLite's writers take turns anyway)."""
    advisory_lock(conn, _CONTAINER_WRITERS)
    stmt = select(certificate_store_container.c.id, certificate_store_container.c.name)
    return {row.id: row.name for row in conn.execute(stmt)}


def lock_container(conn: Connection, *, container_id: int) -> Record | None:
    """The container row, locked against stores joining it (their foreign key check waits) until the transaction
    ends; None when there is none."""
    stmt = select(certificate_store_container).where(certificate_store_container.c.id == container_id)
    return conn.execute(stmt.with_for_update()).first()


def store_type_exists(conn: Connection, *, store_type_id: int) -> bool:
    stmt = select(certificate_store_type.c.id).where(certificate_store_type.c.id == store_type_id)
    return conn.execute(stmt.with_for_update(read=True)).first() is not None


def store_types_in(conn: Connection, *, container_id: int) -> list[int]:
    """The store types of the container's stores."""
    stmt = (
        select(certificate_store.c.store_type_id)
        .where(certificate_store.c.container_id == container_id)
        .distinct()
        .order_by(certificate_store.c.store_type_id)
    )
    return list(conn.execute(stmt).scalars())


def store_ids(conn: Connection, *, container_id: int) -> list[Any]:
    stmt = select(certificate_store.c.id).where(certificate_store.c.container_id == container_id)
    return list(conn.execute(stmt).scalars())


def count_stores(conn: Connection, *, container_id: int) -> int:
    stmt = select(func.count()).select_from(certificate_store).where(certificate_store.c.container_id == container_id)
    return int(conn.execute(stmt).scalar_one())


def insert_container(
    conn: Connection, *, name: str, store_type_id: int, overwrite_schedules: bool, schedule: str | None
) -> int:
    stmt = insert(certificate_store_container).values(
        name=name, store_type_id=store_type_id, overwrite_schedules=overwrite_schedules, schedule=schedule
    )
    return int(conn.execute(stmt.returning(certificate_store_container.c.id)).scalar_one())


def update_container(conn: Connection, *, container_id: int, values: dict[str, Any]) -> None:
    """Set the given columns (name, store_type_id, overwrite_schedules, schedule)."""
    stmt = update(certificate_store_container).where(certificate_store_container.c.id == container_id)
    conn.execute(stmt.values(values))


def delete_container(conn: Connection, *, container_id: int) -> None:
    conn.execute(delete(certificate_store_container).where(certificate_store_container.c.id == container_id))


def container_stores(conn: Connection, *, container_id: int) -> Sequence[Record]:
    """The container's stores in the columns GET /CertificateStoreContainers/{id} answers, by machine and path."""
    stmt = (
        select(
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
            certificate_store_type.c.properties.label("type_properties"),
        )
        .select_from(
            certificate_store.join(
                certificate_store_type, certificate_store_type.c.id == certificate_store.c.store_type_id
            )
        )
        .where(certificate_store.c.container_id == container_id)
        .order_by(certificate_store.c.client_machine, certificate_store.c.store_path, certificate_store.c.id)
    )
    return conn.execute(stmt).all()
