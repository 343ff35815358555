"""Command's list parameters (`pq.queryString`… in v10, `QueryString`… in v11, any case) and the one way a list
route answers: parse the request, page the resource, render each row."""

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from orchjobs.api import wire
from orchjobs.api.auth import caller_name
from orchjobs.api.context import AppContext
from orchjobs.domain.numbers import lenient_int
from orchjobs.errors import InvalidRequestError
from orchjobs.service import listing
from orchjobs.service.listing import ListResource, PageRequest

# The prefix Command's v10 list parameters carry (`pq.queryString`); some resources name their own.
DEFAULT_PREFIXES = ("pq.",)
_NAMES = {"querystring", "pagereturned", "returnlimit", "sortfield", "sortascending"}
# int32 in Command's schema; also keeps the offset far from any database's integer limit.
MAX_PAGE = 2**31 - 1


def list_response(
    request: Request,
    context: AppContext,
    resource: ListResource,
    item: Callable[[Any], dict[str, Any]],
    *,
    prefixes: tuple[str, ...] = DEFAULT_PREFIXES,
) -> Response:
    """A page of `resource` as a JSON array, each row rendered by `item`; the list parameters may carry any of
    `prefixes` (as well as none). %ME% in the query is the caller that `UserDep` admitted."""
    page = page_request(request, max_limit=context.settings.max_return_limit, prefixes=prefixes)
    rows = listing.list_page(
        context.engine,
        resource,
        page,
        now=context.clock(),
        max_query_length=context.settings.max_query_length,
        user=caller_name(request),
    )
    return wire.json_response([item(row) for row in rows])


def count_response(request: Request, context: AppContext, resource: ListResource) -> Response:
    """How many rows of `resource` the request's query matches, as `{"Count": n}`."""
    query = page_request(request, max_limit=context.settings.max_return_limit).query
    count = listing.count_rows(
        context.engine,
        resource,
        query=query,
        now=context.clock(),
        max_query_length=context.settings.max_query_length,
        user=caller_name(request),
    )
    return wire.json_response({"Count": count})


def page_request(request: Request, *, max_limit: int, prefixes: tuple[str, ...] = DEFAULT_PREFIXES) -> PageRequest:
    """The PageRequest of a list call, its parameters unprefixed or with one of `prefixes` (lower case, with their
    dot: `pq.`, `cstquery.`); a malformed number is a 400 that names the parameter."""
    values: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        name = key.lower()
        for prefix in prefixes:
            if name.startswith(prefix):
                name = name.removeprefix(prefix)
                break
        if name in _NAMES:
            values[name] = value
    page = _integer(values, "pagereturned", "PageReturned", default=1, low=1, high=MAX_PAGE)
    limit = _integer(values, "returnlimit", "ReturnLimit", default=50, low=1, high=max_limit)
    descending: bool | None = None
    if values.get("sortascending", "").strip():
        descending = _integer(values, "sortascending", "SortAscending", default=0, low=0, high=1) == 1
    return PageRequest(
        query=values.get("querystring") or None,
        page=page,
        limit=limit,
        sort_field=(values.get("sortfield") or "").strip() or None,
        descending=descending,
    )


def _integer(values: dict[str, str], key: str, label: str, *, default: int, low: int, high: int) -> int:
    raw = values.get(key, "").strip()
    if not raw:
        return default
    number = lenient_int(raw)
    if number is None:
        raise InvalidRequestError(f"{label} must be an integer, not {raw!r}.")
    if not low <= number <= high:
        raise InvalidRequestError(f"{label} must be between {low} and {high}; got {number}.")
    return number
