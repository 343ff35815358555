"""Certificate store types (/KeyfactorAPI/CertificateStoreTypes): read, create, update and delete them; they list
through `service.listing` as the resource `STORE_TYPES`.

Name, ShortName and Capability are each unique whatever their case. New types are numbered from the largest id + 1
(at least FIRST_CUSTOM_ID), under a lock on the table. The built-in types (JKS, PEM) cannot be changed or deleted,
nor can a type that stores or containers use be deleted. A change of a type's Capability or job-type GUIDs carries
the scheduled jobs of its stores along, in the same transaction. Each action is one transaction; a refusal changes
nothing.

`get_store_type` (and `store.store_types.read_store_type` inside another transaction) is what the stores API checks
stores and their entries against.
"""

from collections.abc import Sequence

from sqlalchemy import Connection, Engine

from orchjobs.domain.store_types import StoreType, StoreTypeRequest, checked_store_type
from orchjobs.errors import BulkOperationError, FailedOperation, InvalidRequestError, NotFoundError
from orchjobs.store import store_types as store
from orchjobs.store.engine import single_read, write_transaction
from orchjobs.store.rows import Record
from orchjobs.store.store_types import STORE_TYPES, store_type_from_row

__all__ = [
    "STORE_TYPES",
    "StoreType",
    "create_store_type",
    "delete_store_type",
    "delete_store_types",
    "get_store_type",
    "get_store_types_by_name",
    "store_type_from_row",
    "update_store_type",
]

# How many of the stores or containers that hold a type back a refusal names.
USERS_NAMED = 5


def get_store_type(engine: Engine, store_type_id: int) -> StoreType:
    """The store type with this id; NotFoundError when there is none."""
    with single_read(engine) as conn:
        found = store.read_store_type(conn, store_type_id)
    if found is None:
        raise _not_found(store_type_id)
    return found


def get_store_types_by_name(engine: Engine, name: str) -> list[StoreType]:
    """The types whose Name or ShortName is `name` (any case); NotFoundError when there is none."""
    with single_read(engine) as conn:
        found = store.read_by_name(conn, name)
    if not found:
        raise NotFoundError(f"There is no certificate store type named {name!r} (by Name or ShortName).")
    return found


def create_store_type(engine: Engine, request: StoreTypeRequest) -> StoreType:
    """A new custom store type, with the next id."""
    with write_transaction(engine) as conn:
        types = store.lock_store_types(conn)
        created = checked_store_type(request, store_type_id=store.next_id(types), current=None)
        _refuse_taken(types, created)
        store.insert_store_type(conn, created)
        return created


def update_store_type(engine: Engine, store_type_id: int, request: StoreTypeRequest) -> StoreType:
    """Replace what a custom type declares (what the request leaves out takes its default, as Command binds it; the
    job-type GUIDs left out stay as they are)."""
    with write_transaction(engine) as conn:
        types = store.lock_store_types(conn)
        current = store.read_store_type(conn, store_type_id)
        if current is None:
            raise _not_found(store_type_id)
        if current.built_in:
            raise InvalidRequestError(f"{current.name} (StoreType {store_type_id}) is built in and cannot be changed.")
        updated = checked_store_type(request, store_type_id=store_type_id, current=current)
        _refuse_taken(types, updated)
        store.update_store_type(conn, updated)
        if (current.capability, current.job_type_ids) != (updated.capability, updated.job_type_ids):
            store.retarget_jobs(conn, before=current, after=updated)
        return updated


def delete_store_type(engine: Engine, store_type_id: int) -> None:
    """Delete one custom type: 404 when unknown, 400 when built in or in use."""
    with write_transaction(engine) as conn:
        types = {row.id: row for row in store.lock_store_types(conn)}
        if store_type_id not in types:
            raise _not_found(store_type_id)
        refusals = _refusals(conn, types, [store_type_id])
        if refusals:
            raise InvalidRequestError(refusals[0].reason)
        store.delete_store_types(conn, [store_type_id])


def delete_store_types(engine: Engine, store_type_ids: Sequence[int], *, max_ids: int) -> None:
    """Delete custom types, all or nothing: one FailedOperation per id that is unknown, built in or in use."""
    ids = list(dict.fromkeys(store_type_ids))
    if not ids:
        raise InvalidRequestError("The request body must name at least one store type id.")
    if len(ids) > max_ids:
        raise InvalidRequestError(f"At most {max_ids} store type ids may be deleted at once; got {len(ids)}.")
    with write_transaction(engine) as conn:
        types = {row.id: row for row in store.lock_store_types(conn)}
        failed = [
            FailedOperation(type_id, f"Certificate store type {type_id} was not found.")
            for type_id in ids
            if type_id not in types
        ]
        failed += _refusals(conn, types, [type_id for type_id in ids if type_id in types])
        if failed:
            failed.sort(key=lambda item: ids.index(int(item.id)))
            raise BulkOperationError(
                f"{len(failed)} of the {len(ids)} store types cannot be deleted, so none were.", failed
            )
        store.delete_store_types(conn, ids)


def _refusals(conn: Connection, types: dict[int, Record], store_type_ids: list[int]) -> list[FailedOperation]:
    """Why each of these (existing) types cannot be deleted: built in, or used by stores or containers."""
    failed = []
    built_in = [type_id for type_id in store_type_ids if types[type_id].built_in]
    for type_id in built_in:
        failed.append(
            FailedOperation(type_id, f"{types[type_id].name} (StoreType {type_id}) is built in and cannot be deleted.")
        )
    used = store.usage(conn, [type_id for type_id in store_type_ids if type_id not in built_in], named=USERS_NAMED)
    for type_id, (store_count, store_ids, container_count, container_ids) in sorted(used.items()):
        holders = []
        if store_count:
            holders.append(_named(store_count, "certificate store", store_ids))
        if container_count:
            holders.append(_named(container_count, "container", container_ids))
        failed.append(
            FailedOperation(
                type_id,
                f"{types[type_id].name} (StoreType {type_id}) is used by {' and '.join(holders)}; "
                "delete or move them before deleting it.",
            )
        )
    return failed


def _named(count: int, what: str, ids: Sequence[object]) -> str:
    listed = ", ".join(str(item) for item in ids) + (", …" if count > len(ids) else "")
    return f"{count} {what}{'s' if count != 1 else ''} ({listed})"


def _refuse_taken(types: Sequence[Record], store_type: StoreType) -> None:
    """A 400 when another type has the Name, ShortName or Capability, in any case."""
    for other in types:
        if other.id == store_type.id:
            continue
        for label, mine, theirs in (
            ("Name", store_type.name, other.name),
            ("ShortName", store_type.short_name, other.short_name),
            ("Capability", store_type.capability, other.capability),
        ):
            if mine.lower() == theirs.lower():
                raise InvalidRequestError(
                    f"The {label} {mine!r} is taken by StoreType {other.id} ({other.name}); "
                    f"store type {label}s ignore case."
                )


def _not_found(store_type_id: int) -> NotFoundError:
    return NotFoundError(f"Certificate store type {store_type_id} was not found.")
