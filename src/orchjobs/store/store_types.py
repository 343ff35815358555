"""Reads and writes of certificate store types (/KeyfactorAPI/CertificateStoreTypes). Functions take a connection and
never commit.

The table is a small catalogue, so names are checked against all of it at once and new ids are taken from its
largest, under a lock on every row: two requests that create, rename or delete types take turns.
"""

import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, func, insert, literal, select, update
from sqlalchemy.sql import ColumnElement

from orchjobs.domain.store_types import (
    FIRST_CUSTOM_ID,
    OPERATIONS,
    JobTypeIds,
    KeyRule,
    PasswordOptions,
    PasswordStyle,
    StoreType,
    SupportedOperations,
    definitions_from_json,
    definitions_to_json,
    entry_parameters_from_json,
    entry_parameters_to_json,
)
from orchjobs.query.fields import STORE_TYPE_FIELDS
from orchjobs.store.listing import ListResource
from orchjobs.store.rows import Record, chunks
from orchjobs.store.tables import (
    certificate_store,
    certificate_store_container,
    certificate_store_type,
    scheduled_job,
)

STORE_TYPES = ListResource(
    table=certificate_store_type,
    fields=STORE_TYPE_FIELDS,
    columns=tuple(certificate_store_type.c),
    default_sort="Name",
)


def store_type_from_row(row: Record) -> StoreType:
    """A row of the table (or of STORE_TYPES) as the domain's StoreType."""
    return StoreType(
        id=row.id,
        name=row.name,
        short_name=row.short_name,
        capability=row.capability,
        built_in=bool(row.built_in),
        local_store=bool(row.local_store),
        supported=SupportedOperations(
            add=bool(row.supports_add),
            create=bool(row.supports_create),
            discovery=bool(row.supports_discovery),
            enrollment=bool(row.supports_enrollment),
            remove=bool(row.supports_remove),
        ),
        properties=definitions_from_json(row.properties),
        entry_parameters=entry_parameters_from_json(row.entry_parameters),
        password=PasswordOptions(
            entry_supported=bool(row.password_entry_supported),
            store_required=bool(row.password_store_required),
            style=PasswordStyle(row.password_style) if row.password_style in (0, 1) else PasswordStyle.DEFAULT,
        ),
        store_path_type=row.store_path_type,
        store_path_value=row.store_path_value,
        private_key_allowed=_rule(row.private_key_allowed),
        custom_alias_allowed=_rule(row.custom_alias_allowed),
        job_properties=tuple(_json_strings(row.job_properties)),
        server_required=bool(row.server_required),
        power_shell=bool(row.power_shell),
        blueprint_allowed=bool(row.blueprint_allowed),
        import_type=row.import_type,
        server_registration=row.server_registration,
        inventory_endpoint=row.inventory_endpoint,
        job_type_ids=JobTypeIds(
            inventory=row.inventory_job_type,
            management=row.management_job_type,
            discovery=row.discovery_job_type,
            enrollment=row.enrollment_job_type,
        ),
    )


def read_store_type(conn: Connection, store_type_id: int) -> StoreType | None:
    """The store type with this id, if there is one (for use inside other transactions)."""
    row = conn.execute(select(certificate_store_type).where(certificate_store_type.c.id == store_type_id)).first()
    return None if row is None else store_type_from_row(row)


def read_by_name(conn: Connection, name: str) -> list[StoreType]:
    """The types whose Name or ShortName is `name`, in any case, by id."""
    lowered = name.lower()
    stmt = (
        select(certificate_store_type)
        .where(
            (func.lower(certificate_store_type.c.name) == lowered)
            | (func.lower(certificate_store_type.c.short_name) == lowered)
        )
        .order_by(certificate_store_type.c.id)
    )
    return [store_type_from_row(row) for row in conn.execute(stmt)]


def lock_store_types(conn: Connection) -> list[Record]:
    """(id, name, short_name, capability, built_in) of every type, locked until the transaction ends.

    Read in a second statement: under READ COMMITTED, a locking statement that waited for another transaction still
    answers from its own snapshot, which lacks the type that transaction created; the next statement sees it."""
    conn.execute(select(certificate_store_type.c.id).with_for_update()).all()
    table = certificate_store_type.c
    stmt = select(table.id, table.name, table.short_name, table.capability, table.built_in).order_by(table.id)
    return list(conn.execute(stmt).all())


def next_id(types: Sequence[Record]) -> int:
    """The id a new custom type gets: one more than the largest, and at least FIRST_CUSTOM_ID."""
    return max([FIRST_CUSTOM_ID - 1, *(int(row.id) for row in types)]) + 1


def insert_store_type(conn: Connection, store_type: StoreType) -> None:
    conn.execute(insert(certificate_store_type).values(id=store_type.id, built_in=False, **_values(store_type)))


def update_store_type(conn: Connection, store_type: StoreType) -> None:
    stmt = update(certificate_store_type).where(certificate_store_type.c.id == store_type.id)
    conn.execute(stmt.values(**_values(store_type)))


def retarget_jobs(conn: Connection, *, before: StoreType, after: StoreType) -> None:
    """Scheduled jobs on stores of the type follow a change of its capability or job-type GUIDs: one UPDATE per
    operation that changed, set-based."""
    stores = select(certificate_store.c.id).where(certificate_store.c.store_type_id == after.id).scalar_subquery()
    for operation in OPERATIONS:
        old = (f"CertStores.{before.capability}.{operation}", before.job_type_ids.for_operation(operation))
        new = (f"CertStores.{after.capability}.{operation}", after.job_type_ids.for_operation(operation))
        if old == new:
            continue
        stmt = (
            update(scheduled_job)
            .where(
                scheduled_job.c.certificate_store_id.in_(stores),
                func.lower(scheduled_job.c.capability) == old[0].lower(),
            )
            .values(capability=new[0], job_type_guid=new[1])
        )
        conn.execute(stmt)


def usage(
    conn: Connection, store_type_ids: Sequence[int], *, named: int
) -> dict[int, tuple[int, list[uuid.UUID], int, list[int]]]:
    """For each type in use: (how many stores, the first `named` store ids, how many containers, the first `named`
    container ids). Two grouped counts and two windowed reads per chunk of ids."""
    found: dict[int, tuple[int, list[uuid.UUID], int, list[int]]] = {}
    for chunk in chunks(list(store_type_ids)):
        stores = _counted(conn, certificate_store.c.store_type_id, certificate_store.c.id, chunk, named)
        containers = _counted(
            conn, certificate_store_container.c.store_type_id, certificate_store_container.c.id, chunk, named
        )
        for type_id in set(stores) | set(containers):
            store_count, store_ids = stores.get(type_id, (0, []))
            container_count, container_ids = containers.get(type_id, (0, []))
            found[type_id] = (store_count, store_ids, container_count, container_ids)
    return found


def delete_store_types(conn: Connection, store_type_ids: Sequence[int]) -> None:
    for chunk in chunks(list(store_type_ids)):
        conn.execute(delete(certificate_store_type).where(certificate_store_type.c.id.in_(chunk)))


def _counted(
    conn: Connection, type_column: ColumnElement[Any], key: ColumnElement[Any], type_ids: Sequence[int], named: int
) -> dict[int, tuple[int, list[Any]]]:
    """{type id: (rows of that type, the first `named` keys)} for the types among `type_ids` that have rows."""
    ranked = (
        select(
            type_column.label("type_id"),
            key.label("key"),
            func.count().over(partition_by=type_column).label("total"),
            func.row_number().over(partition_by=type_column, order_by=key).label("rank"),
        )
        .where(type_column.in_(type_ids))
        .subquery()
    )
    stmt = select(ranked.c.type_id, ranked.c.key, ranked.c.total).where(ranked.c.rank <= literal(named))
    found: dict[int, tuple[int, list[Any]]] = {}
    for row in conn.execute(stmt.order_by(ranked.c.type_id, ranked.c.key)):
        found.setdefault(row.type_id, (int(row.total), []))[1].append(row.key)
    return found


def _values(store_type: StoreType) -> dict[str, Any]:
    return {
        "name": store_type.name,
        "short_name": store_type.short_name,
        "capability": store_type.capability,
        "local_store": store_type.local_store,
        "supports_add": store_type.supported.add,
        "supports_create": store_type.supported.create,
        "supports_discovery": store_type.supported.discovery,
        "supports_enrollment": store_type.supported.enrollment,
        "supports_remove": store_type.supported.remove,
        "properties": definitions_to_json(store_type.properties),
        "entry_parameters": entry_parameters_to_json(store_type.entry_parameters),
        "job_properties": json.dumps(list(store_type.job_properties)),
        "password_entry_supported": store_type.password.entry_supported,
        "password_store_required": store_type.password.store_required,
        "password_style": int(store_type.password.style),
        "store_path_type": store_type.store_path_type,
        "store_path_value": store_type.store_path_value,
        "private_key_allowed": int(store_type.private_key_allowed),
        "custom_alias_allowed": int(store_type.custom_alias_allowed),
        "server_required": store_type.server_required,
        "power_shell": store_type.power_shell,
        "blueprint_allowed": store_type.blueprint_allowed,
        "import_type": store_type.import_type,
        "server_registration": store_type.server_registration,
        "inventory_endpoint": store_type.inventory_endpoint,
        "inventory_job_type": store_type.job_type_ids.inventory,
        "management_job_type": store_type.job_type_ids.management,
        "discovery_job_type": store_type.job_type_ids.discovery,
        "enrollment_job_type": store_type.job_type_ids.enrollment,
    }


def _rule(value: int) -> KeyRule:
    return KeyRule(value) if value in (0, 1, 2) else KeyRule.FORBIDDEN


def _json_strings(text: str | None) -> list[str]:
    if not text:
        return []
    value = json.loads(text)
    return [str(item) for item in value] if isinstance(value, list) else []
