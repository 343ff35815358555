"""Webhooks, their events and their deliveries (docs/webhooks.md). Functions take a connection and never commit.

Two things here stand between N server processes: the events a worker fans out are locked, and the deliveries it
sends are claimed, both with `FOR UPDATE SKIP LOCKED` on PostgreSQL (a worker passes over what another holds) and
inside BEGIN IMMEDIATE on SQLite (one writer at a time).
"""

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, delete, exists, func, insert, select, update

from orchjobs.domain.jobs import JobStatus
from orchjobs.query.webhook_fields import WEBHOOK_DELIVERY_FIELDS, WEBHOOK_FIELDS
from orchjobs.store.listing import ListResource
from orchjobs.store.rows import Record, chunks
from orchjobs.store.tables import job_history, webhook, webhook_delivery, webhook_event

# What a webhook is answered with: everything but its secret.
WEBHOOKS = ListResource(
    table=webhook,
    fields=WEBHOOK_FIELDS,
    columns=(
        webhook.c.id,
        webhook.c.url,
        webhook.c.query,
        webhook.c.events,
        webhook.c.enabled,
        webhook.c.description,
        webhook.c.created_at,
    ),
    default_sort="CreatedAt",
)
# A webhook's delivery log, newest first; listed within one webhook.
DELIVERIES = ListResource(
    table=webhook_delivery,
    fields=WEBHOOK_DELIVERY_FIELDS,
    columns=(
        webhook_delivery.c.id,
        webhook_delivery.c.webhook_id,
        webhook_delivery.c.event_id,
        webhook_delivery.c.kind,
        webhook_delivery.c.attempts,
        webhook_delivery.c.created_at,
        webhook_delivery.c.next_attempt_at,
        webhook_delivery.c.last_attempt_at,
        webhook_delivery.c.last_status,
        webhook_delivery.c.last_error,
        webhook_delivery.c.delivered_at,
    ),
    default_sort="CreatedAt",
    default_descending=True,
)


# -- webhooks --------------------------------------------------------------------------------


def insert_webhook(conn: Connection, *, values: Mapping[str, Any]) -> None:
    conn.execute(insert(webhook).values(**values))


def update_webhook(conn: Connection, *, webhook_id: uuid.UUID, values: Mapping[str, Any]) -> bool:
    """Change a webhook's columns; False when there is no such webhook."""
    return bool(conn.execute(update(webhook).where(webhook.c.id == webhook_id).values(**values)).rowcount)


def delete_webhook(conn: Connection, *, webhook_id: uuid.UUID) -> bool:
    """Delete a webhook and (cascading) its deliveries; False when there is no such webhook."""
    return bool(conn.execute(delete(webhook).where(webhook.c.id == webhook_id)).rowcount)


def webhook_exists(conn: Connection, *, webhook_id: uuid.UUID) -> bool:
    return conn.execute(select(webhook.c.id).where(webhook.c.id == webhook_id)).first() is not None


def subscribed_events(conn: Connection) -> list[str]:
    """The distinct event lists of the enabled webhooks (a handful of short strings)."""
    return list(conn.execute(select(webhook.c.events).where(webhook.c.enabled).distinct()).scalars())


def enabled_webhooks(conn: Connection) -> Sequence[Record]:
    """(id, events, query) of every enabled webhook."""
    stmt = select(webhook.c.id, webhook.c.events, webhook.c.query).where(webhook.c.enabled).order_by(webhook.c.id)
    return conn.execute(stmt).all()


# -- events ----------------------------------------------------------------------------------


def insert_events(conn: Connection, *, rows: Sequence[Mapping[str, Any]]) -> None:
    """Events as (kind, at, job_history_id, payload), one INSERT."""
    conn.execute(insert(webhook_event), list(rows))


def has_pending_events(conn: Connection) -> bool:
    """Whether some event waits to be fanned out: a read, so that an idle worker takes no write lock."""
    stmt = select(webhook_event.c.id).where(webhook_event.c.fanned_out_at.is_(None)).limit(1)
    return conn.execute(stmt).first() is not None


def lock_pending_events(conn: Connection, *, limit: int) -> Sequence[Record]:
    """The oldest events not yet fanned out, locked; events another worker holds are skipped."""
    stmt = (
        select(
            webhook_event.c.id,
            webhook_event.c.kind,
            webhook_event.c.at,
            webhook_event.c.job_history_id,
            webhook_event.c.payload,
        )
        .where(webhook_event.c.fanned_out_at.is_(None))
        .order_by(webhook_event.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return conn.execute(stmt).all()


def run_rows(conn: Connection, *, ids: Sequence[int]) -> dict[int, Record]:
    """The history rows of runs, by id, with what a delivery reads of them."""
    columns = (
        job_history.c.id,
        job_history.c.agent_id,
        job_history.c.client_machine,
        job_history.c.job_type,
        job_history.c.operation_start,
        job_history.c.operation_end,
        job_history.c.message,
        job_history.c.target_path,
    )
    found: dict[int, Record] = {}
    for chunk in chunks(ids):
        found.update((row.id, row) for row in conn.execute(select(*columns).where(job_history.c.id.in_(chunk))))
    return found


def matching_history_ids(conn: Connection, *, ids: Sequence[int], where: ColumnElement[bool]) -> set[int]:
    """Those of the history rows `ids` that a webhook's filter selects."""
    matched: set[int] = set()
    for chunk in chunks(ids):
        stmt = select(job_history.c.id).where(job_history.c.id.in_(chunk), where)
        matched.update(conn.execute(stmt).scalars())
    return matched


def acknowledgement_matches(
    conn: Connection, *, at: datetime, acknowledged_by: str, where: ColumnElement[bool]
) -> bool:
    """Whether a webhook's filter selects some run of one Acknowledge request (its instant and its user)."""
    stmt = (
        select(job_history.c.id)
        .where(
            job_history.c.status == int(JobStatus.ACKNOWLEDGED),
            job_history.c.acknowledged_at == at,
            job_history.c.acknowledged_by == acknowledged_by,
            where,
        )
        .limit(1)
    )
    return conn.execute(stmt).first() is not None


def mark_fanned_out(conn: Connection, *, event_ids: Sequence[int], at: datetime) -> None:
    for chunk in chunks(event_ids):
        conn.execute(update(webhook_event).where(webhook_event.c.id.in_(chunk)).values(fanned_out_at=at))


def prune_events(conn: Connection, *, before: datetime, limit: int) -> int:
    """Delete up to `limit` events fanned out before `before` whose deliveries are all over (delivered or given up),
    and with them (cascading) those deliveries. Returns how many events went."""
    unfinished = exists().where(
        webhook_delivery.c.event_id == webhook_event.c.id, webhook_delivery.c.next_attempt_at.is_not(None)
    )
    oldest = (
        select(webhook_event.c.id)
        .where(webhook_event.c.fanned_out_at < before, ~unfinished)
        .order_by(webhook_event.c.fanned_out_at)
        .limit(limit)
    )
    ids = list(conn.execute(oldest).scalars())
    if ids:
        conn.execute(delete(webhook_event).where(webhook_event.c.id.in_(ids)))
    return len(ids)


# -- deliveries ------------------------------------------------------------------------------


def insert_deliveries(conn: Connection, *, rows: Sequence[Mapping[str, Any]]) -> None:
    conn.execute(insert(webhook_delivery), list(rows))


def has_due_deliveries(conn: Connection, *, now: datetime) -> bool:
    """Whether some delivery of an enabled webhook is due: a read, so that an idle worker takes no write lock."""
    stmt = (
        select(webhook_delivery.c.id)
        .select_from(webhook_delivery.join(webhook, webhook.c.id == webhook_delivery.c.webhook_id))
        .where(webhook_delivery.c.next_attempt_at <= now, webhook.c.enabled)
        .limit(1)
    )
    return conn.execute(stmt).first() is not None


def give_up_spent(conn: Connection, *, now: datetime, max_attempts: int) -> int:
    """Give up deliveries that are due with no attempt left: a worker claimed their last attempt and never recorded
    its outcome (it stopped), or the number of attempts allowed was lowered."""
    stmt = (
        update(webhook_delivery)
        .where(webhook_delivery.c.next_attempt_at <= now, webhook_delivery.c.attempts >= max_attempts)
        .values(
            next_attempt_at=None,
            last_error=func.coalesce(webhook_delivery.c.last_error, "No outcome was recorded for the last attempt."),
        )
    )
    return conn.execute(stmt).rowcount


def lock_due_deliveries(conn: Connection, *, now: datetime, limit: int) -> Sequence[Record]:
    """Up to `limit` due deliveries of enabled webhooks, oldest due first, with their webhook's url and secret,
    locked; deliveries another worker holds are skipped."""
    stmt = (
        select(
            webhook_delivery.c.id,
            webhook_delivery.c.kind,
            webhook_delivery.c.payload,
            webhook_delivery.c.attempts,
            webhook.c.url,
            webhook.c.secret,
        )
        .select_from(webhook_delivery.join(webhook, webhook.c.id == webhook_delivery.c.webhook_id))
        .where(webhook_delivery.c.next_attempt_at <= now, webhook.c.enabled)
        .order_by(webhook_delivery.c.next_attempt_at, webhook_delivery.c.id)
        .limit(limit)
        .with_for_update(of=webhook_delivery, skip_locked=True)
    )
    return conn.execute(stmt).all()


def claim_deliveries(conn: Connection, *, ids: Sequence[int], now: datetime, until: datetime) -> None:
    """Start an attempt of each delivery: counted, and not due again before `until` (the claim's lease), so that no
    other worker sends it meanwhile."""
    for chunk in chunks(ids):
        conn.execute(
            update(webhook_delivery)
            .where(webhook_delivery.c.id.in_(chunk))
            .values(attempts=webhook_delivery.c.attempts + 1, last_attempt_at=now, next_attempt_at=until)
        )


def record_attempt(conn: Connection, *, delivery_id: int, attempts: int, values: Mapping[str, Any]) -> None:
    """The outcome of a delivery's `attempts`-th attempt. Nothing changes when another attempt was claimed since
    (this worker outlived its lease)."""
    conn.execute(
        update(webhook_delivery)
        .where(and_(webhook_delivery.c.id == delivery_id, webhook_delivery.c.attempts == attempts))
        .values(**values)
    )
