"""Certificate stores (/KeyfactorAPI/CertificateStores): create, update, delete, approve, passwords, containers and
servers. Stores list and read through `service.listing` as the resource `CERTIFICATE_STORES`; the jobs scheduled on
stores live in `service.store_jobs`.

A store belongs to one orchestrator and one store type; its Properties are checked against the type's property
definitions and kept with every property present (defaults filled in). One orchestrator has at most one store of a
type at a path. Each action is one transaction; a refusal changes nothing.
"""

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from orchjobs.domain.jobs import AgentStatus, JobResult, JobStatus
from orchjobs.domain.schedules import ScheduleError, canonical_schedule, first_run_at, next_run_after
from orchjobs.domain.store_types import checked_properties, definitions_from_json, parse_properties
from orchjobs.errors import BulkOperationError, FailedOperation, InvalidRequestError, NotFoundError
from orchjobs.service.listing import get_row
from orchjobs.service.webhook_events import record_runs_closed
from orchjobs.store import listing
from orchjobs.store import runs as store_runs
from orchjobs.store import stores as store
from orchjobs.store.engine import write_transaction
from orchjobs.store.rows import Record
from orchjobs.store.store_schedules import set_inventory_schedules
from orchjobs.store.stores import CERTIFICATE_STORES, SERVERS, StoreValues

__all__ = [
    "CERTIFICATE_STORES",
    "SERVERS",
    "ApprovalRequest",
    "StoreRequest",
    "approve_stores",
    "assign_container",
    "bounded",
    "checked_schedule",
    "create_server",
    "create_store",
    "delete_stores",
    "get_store",
    "set_password",
    "update_server",
    "update_store",
]

MAX_PATH_LENGTH = 1024
MAX_NAME_LENGTH = 255
MAX_STORES_PER_REQUEST = 10_000
DELETE_MESSAGE = "The certificate store was deleted while this job was running."


@dataclass(frozen=True)
class StoreRequest:
    """A create (store_id None) or an update. On an update, values left None stay as they are."""

    store_id: uuid.UUID | None = None
    agent_id: uuid.UUID | None = None
    store_type_id: int | None = None
    client_machine: str | None = None
    store_path: str | None = None
    display_name: str | None = None
    properties: Mapping[str, Any] | None = None
    container_id: int | None = None
    create_if_missing: bool | None = None
    password: str | None = None
    inventory_schedule: dict[str, Any] | None = None
    # Whether the request named a schedule at all (an update without one leaves the schedule alone).
    schedules: bool = False


@dataclass(frozen=True)
class ApprovalRequest:
    store_id: uuid.UUID
    container_id: int | None = None
    store_type_id: int | None = None
    properties: Mapping[str, Any] | None = None
    password: str | None = None
    fields: tuple[str, ...] = field(default=())


def get_store(engine: Engine, *, store_id: uuid.UUID) -> Record:
    row = get_row(engine, CERTIFICATE_STORES, key=store_id)
    if row is None:
        raise _not_found(store_id)
    return row


def create_store(engine: Engine, request: StoreRequest, *, now: datetime) -> Record:
    """A new store, with its inventory schedule when one is given; its row as GET answers it."""
    if request.agent_id is None:
        raise InvalidRequestError("AgentId is required: the orchestrator that manages the store.")
    if request.store_type_id is None:
        raise InvalidRequestError("CertStoreType is required.")
    path = _checked_text(request.store_path, "Storepath", MAX_PATH_LENGTH, required=True)
    if request.inventory_schedule is not None:
        checked_schedule(request.inventory_schedule, now=now, allow_off=True)
    store_id = uuid.uuid4()
    with write_transaction(engine) as conn:
        agent = _approved_agent(conn, request.agent_id)
        store_type = _store_type(conn, request.store_type_id)
        _check_container(conn, request.container_id, store_type_id=store_type.id)
        values = StoreValues(
            agent_id=agent.id,
            store_type_id=store_type.id,
            client_machine=_checked_text(request.client_machine, "ClientMachine", MAX_NAME_LENGTH)
            or agent.client_machine,
            store_path=path,
            display_name=_checked_text(request.display_name, "DisplayName", MAX_NAME_LENGTH) or None,
            properties=_properties(store_type, request.properties or {}),
            container_id=request.container_id,
            approved=True,
            create_if_missing=bool(request.create_if_missing),
        )
        if not store.insert_store(conn, store_id=store_id, values=values, password=request.password):
            raise InvalidRequestError(
                f"Orchestrator {agent.id} already has a {store_type.short_name} store at {json.dumps(path)}."
            )
        if request.inventory_schedule is not None:
            schedule = checked_schedule(request.inventory_schedule, now=now, allow_off=True)
            set_inventory_schedules(conn, store_ids=[store_id], schedule=schedule or None, now=now)
        _adopt_container_schedule(conn, [store_id], request.container_id, now=now)
        return _row(conn, store_id)


def update_store(engine: Engine, request: StoreRequest, *, now: datetime) -> Record:
    """PUT: change a store's orchestrator, container, properties, CreateIfMissing, password or inventory schedule.
    Its type, machine and path are what identify it and stay as they are."""
    assert request.store_id is not None
    store_id = request.store_id
    with write_transaction(engine) as conn:
        current = store.lock_stores(conn, [store_id]).get(store_id)
        if current is None:
            raise _not_found(store_id)
        changes: dict[str, Any] = {}
        if request.agent_id is not None and request.agent_id != current.agent_id:
            _approved_agent(conn, request.agent_id)
            if store.running_jobs(conn, store_id=store_id):
                raise InvalidRequestError(
                    f"A job of store {store_id} is running; move the store to another orchestrator once it is done."
                )
            changes["agent_id"] = request.agent_id
            store.move_jobs(conn, store_id=store_id, agent_id=request.agent_id)
        if request.container_id is not None:
            _check_container(conn, request.container_id, store_type_id=current.store_type_id)
            changes["container_id"] = request.container_id
        if request.properties is not None:
            changes["properties"] = _properties(current, request.properties)
        if request.create_if_missing is not None:
            changes["create_if_missing"] = request.create_if_missing
        if request.password is not None:
            changes["password"] = request.password
        if changes:
            store.update_store(conn, store_id=store_id, values=changes)
        if request.schedules:
            schedule = checked_schedule(request.inventory_schedule, now=now, allow_off=True)
            set_inventory_schedules(conn, store_ids=[store_id], schedule=schedule or None, now=now)
        if request.container_id is not None and request.container_id != current.container_id:
            _adopt_container_schedule(conn, [store_id], request.container_id, now=now)
        return _row(conn, store_id)


def delete_stores(engine: Engine, *, store_ids: Sequence[uuid.UUID], now: datetime, by_path: bool = False) -> None:
    """Delete stores, all or none (404 naming an unknown one for a single id, 400 with FailedOperations for a bulk
    delete); their scheduled jobs go with them, and a run still in flight is closed as failed."""
    ids = list(dict.fromkeys(store_ids))
    bounded(ids)
    with write_transaction(engine) as conn:
        found = store.lock_stores(conn, ids)
        _refuse_unknown(ids, found, by_path=by_path)
        store.delete_stores(conn, ids)
        closed = store_runs.close_orphaned_runs(conn, message=DELETE_MESSAGE, end=now)
        record_runs_closed(conn, runs=closed, status=int(JobStatus.COMPLETED), result=int(JobResult.FAILURE), at=now)


def approve_stores(engine: Engine, *, approvals: Sequence[ApprovalRequest], now: datetime) -> None:
    """POST /CertificateStores/Approve: discovered stores become stores jobs can run on, each with the properties,
    container and password given (its type may be set too, before approval)."""
    ids = [approval.store_id for approval in approvals]
    bounded(ids)
    if len(set(ids)) != len(ids):
        raise InvalidRequestError("A store is named more than once.")
    with write_transaction(engine) as conn:
        found = store.lock_stores(conn, ids)
        _refuse_unknown(ids, found)
        for approval in approvals:
            current = found[approval.store_id]
            store_type = current
            changes: dict[str, Any] = {"approved": True}
            if approval.store_type_id is not None and approval.store_type_id != current.store_type_id:
                store_type = _store_type(conn, approval.store_type_id)
                changes["store_type_id"] = store_type.id
            if approval.properties is not None or "store_type_id" in changes:
                properties = approval.properties
                if properties is None:
                    properties = parse_properties(current.properties)
                changes["properties"] = _properties(store_type, properties)
            if approval.container_id is not None:
                _check_container(
                    conn, approval.container_id, store_type_id=changes.get("store_type_id", current.store_type_id)
                )
                changes["container_id"] = approval.container_id
            if approval.password is not None:
                changes["password"] = approval.password
            store.update_store(conn, store_id=approval.store_id, values=changes)
            _adopt_container_schedule(conn, [approval.store_id], approval.container_id, now=now)


def set_password(engine: Engine, *, store_id: uuid.UUID, password: str) -> None:
    with write_transaction(engine) as conn:
        if store_id not in store.lock_stores(conn, [store_id]):
            raise _not_found(store_id)
        store.update_store(conn, store_id=store_id, values={"password": password})


def assign_container(
    engine: Engine,
    *,
    store_ids: Sequence[uuid.UUID],
    container_id: int | None,
    new_name: str | None,
    new_type: int | None,
    now: datetime,
) -> list[Record]:
    """Put stores in a container, an existing one or one made by this request; the stores as GET answers them."""
    ids = list(dict.fromkeys(store_ids))
    if not ids:
        raise InvalidRequestError("KeystoreIds must name at least one store.")
    bounded(ids)
    with write_transaction(engine) as conn:
        found = store.lock_stores(conn, ids)
        _refuse_unknown(ids, found)
        if container_id is None:
            if not new_name or not new_name.strip():
                raise InvalidRequestError("Give CertStoreContainerId or NewContainerName.")
            type_id = new_type if new_type is not None else found[ids[0]].store_type_id
            _store_type(conn, type_id)
            container_id = store.insert_container(conn, name=new_name.strip(), store_type_id=type_id)
            if container_id is None:
                raise InvalidRequestError(f"A container named {json.dumps(new_name.strip())} already exists.")
        for store_id in ids:
            _check_container(conn, container_id, store_type_id=found[store_id].store_type_id)
        store.set_container(conn, store_ids=ids, container_id=container_id)
        _adopt_container_schedule(conn, ids, container_id, now=now)
        return [_row(conn, store_id) for store_id in ids]


def checked_schedule(schedule: object, *, now: datetime, allow_off: bool = False) -> dict[str, Any]:
    """The canonical schedule ({} for `Off`: none); a 400 for one that is missing, malformed or outside the
    calendar."""
    if schedule is None:
        raise InvalidRequestError('Schedule is required (for example {"Immediate": true}).')
    try:
        canonical = canonical_schedule(schedule, allow_off=allow_off)
        if "Off" in canonical:
            return {}
        first = first_run_at(canonical, now)
        if first is not None:
            next_run_after(canonical, first)
    except ScheduleError as exc:
        raise InvalidRequestError(f"Invalid Schedule: {exc}") from None
    except OverflowError:
        raise InvalidRequestError("Invalid Schedule: its runs fall outside the years 1 to 9999.") from None
    return canonical


def _adopt_container_schedule(
    conn: Connection, store_ids: Sequence[uuid.UUID], container_id: int | None, *, now: datetime
) -> None:
    """Stores that join a container whose schedule overwrites its stores' take that schedule as theirs."""
    container = None if container_id is None else store.container_row(conn, container_id=container_id)
    if container is not None and container.overwrite_schedules:
        schedule = json.loads(container.schedule) if container.schedule else None
        set_inventory_schedules(conn, store_ids=store_ids, schedule=schedule, now=now)


def _approved_agent(conn: Connection, agent_id: uuid.UUID) -> Record:
    agent = store.agent_row(conn, agent_id=agent_id)
    if agent is None:
        raise InvalidRequestError(f"Orchestrator {agent_id} was not found.")
    if agent.status != AgentStatus.APPROVED:
        raise InvalidRequestError(f"Orchestrator {agent_id} is not approved; approve it before giving it stores.")
    return agent


def _store_type(conn: Connection, store_type_id: int) -> Record:
    found = store.store_type_row(conn, store_type_id=store_type_id)
    if found is None:
        raise InvalidRequestError(f"CertStoreType {store_type_id} is not a certificate store type.")
    return found


def _check_container(conn: Connection, container_id: int | None, *, store_type_id: int) -> None:
    if container_id is None:
        return
    container = store.container_row(conn, container_id=container_id)
    if container is None:
        raise InvalidRequestError(f"Container {container_id} was not found.")
    if container.store_type_id != store_type_id:
        raise InvalidRequestError(
            f"Container {container_id} holds stores of type {container.store_type_id}, not {store_type_id}."
        )


def _properties(store_type: Record, given: Mapping[str, Any]) -> str:
    definitions_text = getattr(store_type, "type_properties", None) or getattr(store_type, "properties", None)
    return json.dumps(checked_properties(definitions_from_json(definitions_text), given))


def _checked_text(value: str | None, name: str, limit: int, *, required: bool = False) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InvalidRequestError(f"{name} is required.")
    if len(text) > limit:
        raise InvalidRequestError(f"{name} may be at most {limit} characters long.")
    if "\x00" in text:
        raise InvalidRequestError(f"{name} must not contain NUL characters.")
    return text


def bounded(ids: Sequence[uuid.UUID]) -> None:
    """A 400 for a request that names more stores than one request may."""
    if len(ids) > MAX_STORES_PER_REQUEST:
        raise InvalidRequestError(f"A request may name at most {MAX_STORES_PER_REQUEST} stores; got {len(ids)}.")


def _refuse_unknown(ids: Sequence[uuid.UUID], found: Mapping[uuid.UUID, Record], *, by_path: bool = False) -> None:
    """A 404 for the one store a path names, a 400 with FailedOperations for stores a body names."""
    missing = [store_id for store_id in ids if store_id not in found]
    if missing:
        if by_path:
            raise _not_found(missing[0])
        raise BulkOperationError(
            f"{len(missing)} of the {len(ids)} certificate stores were not found; nothing was changed.",
            [FailedOperation(str(store_id), f"Certificate store {store_id} was not found.") for store_id in missing],
        )


def _row(conn: Connection, store_id: uuid.UUID) -> Record:
    row = listing.get_row(conn, CERTIFICATE_STORES, key=store_id)
    assert row is not None, "the store was just written in this transaction"
    return row


def _not_found(store_id: uuid.UUID) -> NotFoundError:
    return NotFoundError(f"Certificate store {store_id} was not found.")


def create_server(engine: Engine, *, values: dict[str, Any]) -> Record:
    with write_transaction(engine) as conn:
        _store_type(conn, values["server_type"])
        _check_container(conn, values.get("container_id"), store_type_id=values["server_type"])
        server_id = store.insert_server(conn, values=values)
        if server_id is None:
            raise InvalidRequestError(f"A server named {json.dumps(values['name'])} of that type already exists.")
        return _server(conn, server_id)


def update_server(engine: Engine, *, server_id: int, values: dict[str, Any]) -> Record:
    with write_transaction(engine) as conn:
        if not store.update_server(conn, server_id=server_id, values=values):
            raise NotFoundError(f"Certificate store server {server_id} was not found.")
        return _server(conn, server_id)


def _server(conn: Connection, server_id: int) -> Record:
    row = listing.get_row(conn, SERVERS, key=server_id)
    assert row is not None, "the server was just written in this transaction"
    return row
