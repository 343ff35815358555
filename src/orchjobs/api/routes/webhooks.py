"""/KeyfactorAPI/Webhooks (extension): completion webhooks and their delivery logs (docs/webhooks.md).

Any authenticated user may read them; only administrators may create, change or delete one, since a webhook makes
the server call an address of its choosing. A webhook's Secret is never answered, except once by the POST that
generated it.
"""

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from orchjobs.api import body, listing, paths, wire
from orchjobs.api.auth import ContextDep, UserDep
from orchjobs.api.listing import list_response, page_request
from orchjobs.api.schemas import (
    WebhookCreatedResponse,
    WebhookDeliveryResponse,
    WebhookRequest,
    WebhookResponse,
)
from orchjobs.domain.webhooks import decode_events, delivery_status
from orchjobs.errors import InvalidRequestError
from orchjobs.service import webhooks
from orchjobs.service.webhooks import WEBHOOKS, WebhookChange

router = APIRouter(prefix=paths.WEBHOOKS, tags=["Webhooks"])
_BODY = {"requestBody": {"content": {"application/json": {"schema": WebhookRequest.model_json_schema()}}}}
_WEBHOOK_ID = "a webhook id"


@router.get("", response_model=list[WebhookResponse], openapi_extra=listing.documented())
def get_webhooks(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Webhooks, filtered by `pq.queryString`, sorted (CreatedAt ascending by default) and paged."""
    return list_response(request, context, WEBHOOKS, webhook_item)


@router.get("/{webhook_id}", response_model=WebhookResponse)
def get_webhook(webhook_id: str, context: ContextDep, _user: UserDep) -> Response:
    """One webhook; 404 when there is none with this id."""
    found = webhooks.get_webhook(context.engine, webhook_id=body.path_guid(webhook_id, what=_WEBHOOK_ID))
    return wire.json_response(webhook_item(found))


@router.post("", response_model=WebhookCreatedResponse, openapi_extra=_BODY)
async def create_webhook(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """A new webhook (administrators only). The answer carries the Secret only when it was generated."""
    change = _change(await body.read_object(request))
    created = await run_in_threadpool(
        webhooks.create_webhook,
        context.engine,
        change,
        now=context.clock(),
        max_query_length=context.settings.max_query_length,
    )
    item = webhook_item(created.row)
    if created.generated_secret is not None:
        item["Secret"] = created.generated_secret
    return wire.json_response(item)


@router.put("/{webhook_id}", response_model=WebhookResponse, openapi_extra=_BODY)
async def update_webhook(webhook_id: str, request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Change the fields the body carries (administrators only); the others keep their values."""
    key = body.path_guid(webhook_id, what=_WEBHOOK_ID)
    change = _change(await body.read_object(request))
    row = await run_in_threadpool(
        webhooks.update_webhook,
        context.engine,
        webhook_id=key,
        change=change,
        now=context.clock(),
        max_query_length=context.settings.max_query_length,
    )
    return wire.json_response(webhook_item(row))


@router.delete("/{webhook_id}", status_code=204, response_class=Response)
def delete_webhook(webhook_id: str, context: ContextDep, _user: UserDep) -> Response:
    """Delete a webhook and its delivery log (administrators only); deliveries still pending are not sent."""
    webhooks.delete_webhook(context.engine, webhook_id=body.path_guid(webhook_id, what=_WEBHOOK_ID))
    return Response(status_code=204)


@router.get(
    "/{webhook_id}/Deliveries", response_model=list[WebhookDeliveryResponse], openapi_extra=listing.documented()
)
def get_deliveries(webhook_id: str, request: Request, context: ContextDep, _user: UserDep) -> Response:
    """A webhook's delivery log, newest first, filtered by `pq.queryString` over the delivery fields and paged."""
    rows = webhooks.list_deliveries(
        context.engine,
        webhook_id=body.path_guid(webhook_id, what=_WEBHOOK_ID),
        request=page_request(request, max_limit=context.settings.max_return_limit),
        now=context.clock(),
        max_query_length=context.settings.max_query_length,
    )
    return wire.json_response([delivery_item(row) for row in rows])


# -- wire ------------------------------------------------------------------------------------


def webhook_item(row: Any) -> dict[str, Any]:
    """One WebhookResponse: never the secret."""
    item: dict[str, Any] = {
        "Id": str(row.id),
        "Url": row.url,
        "Events": [event.value for event in decode_events(row.events)],
    }
    if row.query:
        item["Query"] = row.query
    item["Enabled"] = bool(row.enabled)
    if row.description is not None:
        item["Description"] = row.description
    item["CreatedAt"] = row.created_at
    return item


def delivery_item(row: Any) -> dict[str, Any]:
    """One WebhookDeliveryResponse."""
    status = delivery_status(delivered_at=row.delivered_at, next_attempt_at=row.next_attempt_at)
    item: dict[str, Any] = {
        "Id": row.id,
        "WebhookId": str(row.webhook_id),
        "EventId": row.event_id,
        "Event": row.kind,
        "Status": int(status),
        "Attempts": row.attempts,
        "CreatedAt": row.created_at,
    }
    optional = {
        "LastAttemptAt": row.last_attempt_at,
        "NextAttemptAt": row.next_attempt_at,
        "LastStatusCode": row.last_status,
        "LastError": row.last_error,
        "DeliveredAt": row.delivered_at,
    }
    item.update({key: value for key, value in optional.items() if value is not None})
    return item


# -- request parsing -------------------------------------------------------------------------


def _change(payload: dict[str, Any]) -> WebhookChange:
    """What a POST or PUT body carries. A Description of null or "" clears it."""
    events = payload.get("events")
    if events is not None and not isinstance(events, list):
        raise InvalidRequestError('Events must be a list of event names, e.g. ["RunFailed"].')
    enabled = payload.get("enabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise InvalidRequestError("Enabled must be true or false.")
    description = body.optional_string(payload, "Description")
    if description is None and "description" in payload:
        description = ""
    return WebhookChange(
        url=body.optional_string(payload, "Url"),
        secret=body.optional_string(payload, "Secret"),
        query=body.optional_string(payload, "Query"),
        events=events,
        enabled=enabled,
        description=description,
    )
