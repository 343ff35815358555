"""Certificate store containers (/KeyfactorAPI/CertificateStoreContainers): create, update and delete them; they list
through `service.listing` as the resource `CONTAINERS`.

A container groups stores of one store type. Names are unique whatever their case. A container that overwrites its
stores' schedules (OverwriteSchedules) gives every store of it its schedule as their inventory schedule each time it
is saved (none when it has none). A container cannot be deleted while stores are in it, nor take another store type
than its stores'. Each action is one transaction; a refusal changes nothing.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from orchjobs.domain.containers import checked_container_name, container_schedule
from orchjobs.errors import InvalidRequestError, NotFoundError
from orchjobs.store import containers as store
from orchjobs.store import listing
from orchjobs.store.containers import CONTAINERS
from orchjobs.store.engine import read_transaction, write_transaction
from orchjobs.store.rows import Record
from orchjobs.store.store_schedules import set_inventory_schedules

__all__ = [
    "CONTAINERS",
    "ContainerDetail",
    "ContainerRequest",
    "create_container",
    "delete_container",
    "get_container",
    "update_container",
]

_ABSENT = object()


@dataclass(frozen=True)
class ContainerRequest:
    """What a create or an update asks for; on an update, None leaves a value as it is, and so does a schedule left
    out. `schedule` is the KeyfactorSchedule as given: null or `Off` means no schedule."""

    name: str | None
    store_type_id: int | None = None
    overwrite_schedules: bool | None = None
    schedule: object = _ABSENT


@dataclass(frozen=True)
class ContainerDetail:
    """A container (a row of CONTAINERS) and its stores."""

    container: Record
    stores: list[Record]


def get_container(engine: Engine, *, container_id: int) -> ContainerDetail:
    with read_transaction(engine) as conn:
        return _detail(conn, container_id)


def create_container(engine: Engine, request: ContainerRequest, *, now: datetime) -> ContainerDetail:
    """A new container, with a new id, and no stores yet."""
    name = checked_container_name(request.name)
    if request.store_type_id is None:
        raise InvalidRequestError("CertStoreType is required: the integer id of the store type of the container.")
    schedule = _schedule_text(request.schedule)
    with write_transaction(engine) as conn:
        _refuse_taken_name(store.lock_containers(conn), name, container_id=None)
        _refuse_unknown_type(conn, request.store_type_id)
        container_id = store.insert_container(
            conn,
            name=name,
            store_type_id=request.store_type_id,
            overwrite_schedules=bool(request.overwrite_schedules),
            schedule=schedule,
        )
        return _detail(conn, container_id)


def update_container(engine: Engine, *, container_id: int, request: ContainerRequest, now: datetime) -> ContainerDetail:
    """Rename the container and set what else the request gives; when it then overwrites its stores' schedules,
    every store of it gets its schedule as inventory schedule (stores that have it already keep their next run)."""
    name = checked_container_name(request.name)
    values: dict[str, Any] = {"name": name}
    if request.schedule is not _ABSENT:
        values["schedule"] = _schedule_text(request.schedule)
    if request.overwrite_schedules is not None:
        values["overwrite_schedules"] = request.overwrite_schedules
    with write_transaction(engine) as conn:
        names = store.lock_containers(conn)
        current = store.lock_container(conn, container_id=container_id)
        if current is None:
            raise _not_found(container_id)
        _refuse_taken_name(names, name, container_id=container_id)
        if request.store_type_id is not None and request.store_type_id != current.store_type_id:
            _refuse_unknown_type(conn, request.store_type_id)
            others = store.store_types_in(conn, container_id=container_id)
            if any(type_id != request.store_type_id for type_id in others):
                raise InvalidRequestError(
                    f"Container {current.name} holds stores of store type {', '.join(map(str, others))}; its "
                    f"CertStoreType cannot become {request.store_type_id} while they are in it."
                )
            values["store_type_id"] = request.store_type_id
        store.update_container(conn, container_id=container_id, values=values)
        if values.get("overwrite_schedules", current.overwrite_schedules):
            text = values.get("schedule", current.schedule)
            set_inventory_schedules(
                conn,
                store_ids=store.store_ids(conn, container_id=container_id),
                schedule=json.loads(text) if text else None,
                now=now,
            )
        return _detail(conn, container_id)


def delete_container(engine: Engine, *, container_id: int) -> None:
    """Delete an empty container; refused while stores are in it."""
    with write_transaction(engine) as conn:
        store.lock_containers(conn)
        current = store.lock_container(conn, container_id=container_id)
        if current is None:
            raise _not_found(container_id)
        count = store.count_stores(conn, container_id=container_id)
        if count:
            raise InvalidRequestError(
                f"Container {current.name} holds {count} certificate store{'s' if count != 1 else ''}; move them "
                "to another container or delete them before deleting it."
            )
        store.delete_container(conn, container_id=container_id)


def _schedule_text(schedule: object) -> str | None:
    """The schedule as stored: canonical JSON text, None for none (absent, null or Off)."""
    if schedule is _ABSENT or schedule is None:
        return None
    canonical = container_schedule(schedule)
    return None if canonical is None else json.dumps(canonical)


def _refuse_taken_name(names: dict[int, str], name: str, *, container_id: int | None) -> None:
    for other_id, other in names.items():
        if other_id != container_id and other.casefold() == name.casefold():
            raise InvalidRequestError(
                f"A certificate store container named {other} already exists; container names ignore case."
            )


def _refuse_unknown_type(conn: Connection, store_type_id: int) -> None:
    if not store.store_type_exists(conn, store_type_id=store_type_id):
        raise InvalidRequestError(f"CertStoreType {store_type_id} is not a certificate store type.")


def _detail(conn: Connection, container_id: int) -> ContainerDetail:
    row = listing.get_row(conn, CONTAINERS, key=container_id)
    if row is None:
        raise _not_found(container_id)
    return ContainerDetail(row, list(store.container_stores(conn, container_id=container_id)))


def _not_found(container_id: int) -> NotFoundError:
    return NotFoundError(f"Certificate store container {container_id} was not found.")
