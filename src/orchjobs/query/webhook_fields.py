"""Queryable fields of webhooks and of their delivery logs (docs/query-language.md). A webhook's own filter is not
written over these: it is a job-history query (`JOB_HISTORY_FIELDS`) over the run an event is about."""

from orchjobs.query.fields import FieldKind, FieldRegistry, QueryField

WEBHOOK_FIELDS = FieldRegistry(
    "Webhooks",
    [
        QueryField("Id", "id", FieldKind.UUID, aliases=("WebhookId",)),
        QueryField("Url", "url", FieldKind.STRING),
        # Comma-separated names: `Events -contains RunFailed`.
        QueryField("Events", "events", FieldKind.STRING),
        QueryField("Query", "query", FieldKind.STRING),
        QueryField("Description", "description", FieldKind.STRING),
        QueryField("CreatedAt", "created_at", FieldKind.DATE),
    ],
)

WEBHOOK_DELIVERY_FIELDS = FieldRegistry(
    "WebhookDeliveries",
    [
        QueryField("Id", "id", FieldKind.INTEGER, aliases=("DeliveryId",)),
        QueryField("EventId", "event_id", FieldKind.INTEGER),
        QueryField("Event", "kind", FieldKind.STRING),
        QueryField("Attempts", "attempts", FieldKind.INTEGER),
        QueryField("LastStatusCode", "last_status", FieldKind.INTEGER),
        QueryField("LastError", "last_error", FieldKind.STRING),
        QueryField("CreatedAt", "created_at", FieldKind.DATE),
        QueryField("LastAttemptAt", "last_attempt_at", FieldKind.DATE),
        QueryField("NextAttemptAt", "next_attempt_at", FieldKind.DATE),
        QueryField("DeliveredAt", "delivered_at", FieldKind.DATE),
    ],
)
