"""Keyset continuation of a list (an extension beside Command's PageReturned; docs/query-language.md, "Deep pages"):
a page answers, when asked, a token that names where it ended (its last row's sort value and key), and the next
request hands it back to read the rows after that row, `WHERE (sort, key) < (value, key)`, instead of skipping
PageReturned pages with OFFSET. A deep page then costs what the first page costs.

The token is signed (HMAC-SHA256 with a key the service keeps in its database, shared by its processes) and bound to
its request: the query text, the sort field and the direction. Anything else is a 400 that says why."""

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, and_

from orchjobs.domain import signed_text
from orchjobs.errors import InvalidRequestError
from orchjobs.query.fields import FieldKind
from orchjobs.service.listing import PageRequest, condition
from orchjobs.service.signing import signing_key
from orchjobs.store import listing as store
from orchjobs.store.engine import single_read
from orchjobs.store.listing import Keyset, ListResource

__all__ = ["ContinuedPage", "list_continued"]

MAX_TOKEN_LENGTH = 2048
_KEY_PURPOSE = "list-continuation"


@dataclass(frozen=True)
class ContinuedPage:
    """A page's rows, and the token of the page after it (None: this page was not full, nothing follows)."""

    rows: Sequence[tuple[Any, ...]]
    continuation: str | None


def list_continued(
    engine: Engine,
    resource: ListResource,
    request: PageRequest,
    *,
    continuation: str,
    now: datetime,
    max_query_length: int,
    user: str | None = None,
) -> ContinuedPage:
    """The page after `continuation`, `request.limit` rows long, with the token that continues it. An empty
    `continuation` starts at page `request.page` (by OFFSET, as PageReturned pages); a token ignores PageReturned.
    InvalidRequestError for a token that is not this request's."""
    column = resource.sort_column(request.sort_field)
    descending = resource.is_descending(request.sort_field, request.descending)
    kind = resource.fields.find(request.sort_field or resource.default_sort)
    assert kind is not None
    binding = _binding(resource, request, descending)
    key = signing_key(engine, purpose=_KEY_PURPOSE, now=now)
    where = condition(resource, request.query, now=now, max_length=max_query_length, user=user)
    if continuation.strip():
        value, last_key = _read(continuation.strip(), key, binding)
        keyset = Keyset(column=column, value=_from_json(value, kind.kind), key=last_key, descending=descending)
    else:
        keyset = None
    offset = 0 if keyset is not None else (request.page - 1) * request.limit
    order = resource.order_by(request.sort_field, descending=request.descending)
    with single_read(engine) as conn:
        if keyset is not None:
            rest = store.after(conn, resource, keyset)
            where = rest if where is None else and_(where, rest)
        extra = (column.label("_sort_value"), resource.key.label("_sort_key"))
        rows = store.list_page(
            conn, resource, where=where, order_by=order, limit=request.limit, offset=offset, extra=extra
        )
    page = [row[:-2] for row in rows]
    if len(rows) < request.limit:
        return ContinuedPage(rows=page, continuation=None)
    *_, value, last_key = rows[-1]
    return ContinuedPage(rows=page, continuation=signed_text.sign([_to_json(value), last_key, binding], key))


def _binding(resource: ListResource, request: PageRequest, descending: bool) -> str:
    """What a token is good for: this resource, query text, sort field (canonical) and direction."""
    field = resource.fields.find(request.sort_field or resource.default_sort)
    text = json.dumps([resource.table.name, request.query or "", field.name if field else "", descending])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _to_json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.replace(tzinfo=UTC).isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _from_json(value: Any, kind: FieldKind) -> Any:
    if value is None:
        return None
    try:
        if kind is FieldKind.DATE:
            return datetime.fromisoformat(str(value))
        if kind is FieldKind.UUID:
            return uuid.UUID(str(value))
        if kind in (FieldKind.INTEGER, FieldKind.ENUM):
            return int(value)
    except (ValueError, TypeError):
        raise _refused("it is of a form this service does not read") from None
    return str(value)


def _read(text: str, key: bytes, binding: str) -> tuple[Any, Any]:
    if not signed_text.well_formed(text, max_length=MAX_TOKEN_LENGTH):
        raise _refused("it is not a continuation token; take it from the X-Continuation header as it is")
    if not signed_text.genuine(text, key):
        raise _refused("it was not issued by this service, or it was altered")
    try:
        value, last_key, bound_to = signed_text.payload(text)
    except (ValueError, TypeError):
        raise _refused("it is of a form this service does not read") from None
    if bound_to != binding:
        raise _refused(
            "it continues another request: QueryString, SortField and SortAscending must be those of the first page"
        )
    if isinstance(last_key, bool) or not isinstance(last_key, int | str):
        raise _refused("it is of a form this service does not read")
    return value, last_key


def _refused(reason: str) -> InvalidRequestError:
    return InvalidRequestError(f"The Continuation token cannot be used: {reason}.")
