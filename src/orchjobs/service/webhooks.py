"""Webhook administration: create, change, delete and read webhooks, and read a webhook's delivery log. Webhooks list
through `service.listing` as the resource `WEBHOOKS`.

A webhook's Query is a job-history filter; it is checked with the query language's parser and compiler when it is
written, so a bad one is a 400 naming its position and nothing is stored. Every change re-reads this process's
subscription snapshot at once (`webhook_events.refresh_subscriptions`).
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_

from orchjobs.domain.webhooks import (
    checked_description,
    checked_secret,
    checked_url,
    encode_events,
    new_secret,
    parse_events,
)
from orchjobs.errors import InvalidRequestError, NotFoundError
from orchjobs.service.listing import PageRequest, condition, get_row
from orchjobs.service.webhook_events import refresh_subscriptions
from orchjobs.store import listing
from orchjobs.store import webhooks as store
from orchjobs.store.engine import read_transaction, write_transaction
from orchjobs.store.history import JOB_HISTORY
from orchjobs.store.rows import Record
from orchjobs.store.tables import webhook_delivery
from orchjobs.store.webhooks import DELIVERIES, WEBHOOKS

__all__ = [
    "DELIVERIES",
    "WEBHOOKS",
    "CreatedWebhook",
    "WebhookChange",
    "create_webhook",
    "delete_webhook",
    "get_webhook",
    "list_deliveries",
    "update_webhook",
]


@dataclass(frozen=True)
class WebhookChange:
    """What a POST or PUT carries; None is "not given" (a PUT keeps the current value). `events` are the names as
    sent; `description` "" clears it."""

    url: str | None = None
    secret: str | None = None
    query: str | None = None
    events: list[Any] | None = None
    enabled: bool | None = None
    description: str | None = None


@dataclass(frozen=True)
class CreatedWebhook:
    """A new webhook, and its secret when orchjobs generated it (the only time a secret is ever answered)."""

    row: Record
    generated_secret: str | None


def create_webhook(engine: Engine, change: WebhookChange, *, now: datetime, max_query_length: int) -> CreatedWebhook:
    """A new webhook; Url and Events are required, a Secret is generated when none is given."""
    if change.url is None:
        raise InvalidRequestError("Url is required: an http:// or https:// address.")
    if change.events is None:
        raise InvalidRequestError("Events is required: a list of RunCompleted, RunFailed, FailuresAcknowledged.")
    generated = new_secret() if change.secret is None else None
    webhook_id = uuid.uuid4()
    values = _checked(change, now=now, max_query_length=max_query_length)
    values.update(id=webhook_id, secret=generated or values["secret"], created_at=now)
    values.setdefault("query", "")
    values.setdefault("enabled", True)
    with write_transaction(engine) as conn:
        store.insert_webhook(conn, values=values)
    refresh_subscriptions(engine)
    return CreatedWebhook(row=get_webhook(engine, webhook_id=webhook_id), generated_secret=generated)


def update_webhook(
    engine: Engine, *, webhook_id: uuid.UUID, change: WebhookChange, now: datetime, max_query_length: int
) -> Record:
    """Change the fields the request carries; the others keep their values. NotFoundError for an unknown id."""
    values = _checked(change, now=now, max_query_length=max_query_length)
    with write_transaction(engine) as conn:
        found = (
            store.update_webhook(conn, webhook_id=webhook_id, values=values)
            if values
            else store.webhook_exists(conn, webhook_id=webhook_id)
        )
        if not found:
            raise _not_found(webhook_id)
    refresh_subscriptions(engine)
    return get_webhook(engine, webhook_id=webhook_id)


def delete_webhook(engine: Engine, *, webhook_id: uuid.UUID) -> None:
    """Delete a webhook and its delivery log; deliveries not yet sent are not sent."""
    with write_transaction(engine) as conn:
        if not store.delete_webhook(conn, webhook_id=webhook_id):
            raise _not_found(webhook_id)
    refresh_subscriptions(engine)


def get_webhook(engine: Engine, *, webhook_id: uuid.UUID) -> Record:
    """One webhook (a row of WEBHOOKS: never its secret); NotFoundError when there is none with this id."""
    row = get_row(engine, WEBHOOKS, key=webhook_id)
    if row is None:
        raise _not_found(webhook_id)
    return row


def list_deliveries(
    engine: Engine, *, webhook_id: uuid.UUID, request: PageRequest, now: datetime, max_query_length: int
) -> Sequence[Record]:
    """One page of a webhook's delivery log (newest first unless sorted), filtered by the request's query over
    DELIVERIES' fields; NotFoundError for an unknown webhook."""
    where = condition(DELIVERIES, request.query, now=now, max_length=max_query_length)
    scope = webhook_delivery.c.webhook_id == webhook_id
    order = DELIVERIES.order_by(request.sort_field, descending=request.descending)
    with read_transaction(engine) as conn:
        if not store.webhook_exists(conn, webhook_id=webhook_id):
            raise _not_found(webhook_id)
        return listing.list_page(
            conn,
            DELIVERIES,
            where=scope if where is None else and_(scope, where),
            order_by=order,
            limit=request.limit,
            offset=(request.page - 1) * request.limit,
        )


def _checked(change: WebhookChange, *, now: datetime, max_query_length: int) -> dict[str, Any]:
    """The columns a change sets, each value checked; InvalidRequestError (QuerySyntaxError for the Query) names
    the first one that is wrong, before anything is written."""
    values: dict[str, Any] = {}
    if change.url is not None:
        values["url"] = checked_url(change.url)
    if change.secret is not None:
        values["secret"] = checked_secret(change.secret)
    if change.query is not None:
        values["query"] = change.query.strip()
        # Compiled once here only to refuse a bad filter; the worker compiles it again where it is used.
        condition(JOB_HISTORY, values["query"], now=now, max_length=max_query_length)
    if change.events is not None:
        values["events"] = encode_events(parse_events(change.events))
    if change.enabled is not None:
        values["enabled"] = change.enabled
    if change.description is not None:
        values["description"] = checked_description(change.description) or None
    return values


def _not_found(webhook_id: uuid.UUID) -> NotFoundError:
    return NotFoundError(f"Webhook {webhook_id} was not found.")
