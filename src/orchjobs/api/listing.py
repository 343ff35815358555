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
from orchjobs.service.continuation import list_continued
from orchjobs.service.listing import ListResource, PageRequest

# The prefix Command's v10 list parameters carry (`pq.queryString`); some resources name their own.
DEFAULT_PREFIXES = ("pq.",)
_NAMES = {"querystring", "pagereturned", "returnlimit", "sortfield", "sortascending"}
# int32 in Command's schema; also keeps the offset far from any database's integer limit.
MAX_PAGE = 2**31 - 1
# The list parameters as the OpenAPI document spells them (v11, unprefixed), and each prefix's v10 spelling.
QUERY_STRING, PAGE_RETURNED, RETURN_LIMIT, SORT_FIELD, SORT_ASCENDING = (
    "QueryString",
    "PageReturned",
    "ReturnLimit",
    "SortField",
    "SortAscending",
)
EVERY_PARAMETER = (QUERY_STRING, PAGE_RETURNED, RETURN_LIMIT, SORT_FIELD, SORT_ASCENDING)
_V10_PREFIXES = {"pq.": "pq.", "cstquery.": "cstQuery.", "certificatestorequery.": "certificateStoreQuery."}
# The answer's header that carries the token of the next page (an extension: docs/query-language.md, "Deep pages").
CONTINUATION_HEADER = "X-Continuation"
# A route's openapi_extra key that api.openapi replaces with the parameters (their limits come from the settings).
DOC_MARK = "x-orchjobs-list-parameters"


def list_response(
    request: Request,
    context: AppContext,
    resource: ListResource,
    item: Callable[[Any], dict[str, Any]],
    *,
    prefixes: tuple[str, ...] = DEFAULT_PREFIXES,
    continued: bool = False,
) -> Response:
    """A page of `resource` as a JSON array, each row rendered by `item`; the list parameters may carry any of
    `prefixes` (as well as none). %ME% in the query is the caller that `UserDep` admitted. A `continued` resource
    also reads pages by keyset when the request carries `Continuation` (service.continuation): the answer then
    carries the token of the next page in the X-Continuation header, absent after the last page."""
    page = page_request(request, max_limit=context.settings.max_return_limit, prefixes=prefixes)
    token = continuation_token(request, prefixes=prefixes) if continued else None
    if token is not None:
        continued_page = list_continued(
            context.engine,
            resource,
            page,
            continuation=token,
            now=context.clock(),
            max_query_length=context.settings.max_query_length,
            user=caller_name(request),
        )
        response = wire.json_response([item(row) for row in continued_page.rows])
        if continued_page.continuation is not None:
            response.headers[CONTINUATION_HEADER] = continued_page.continuation
        return response
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
    """How many rows of `resource` the request's query matches, as `{"Count": n}` (paging parameters are ignored)."""
    query = query_string(request)
    count = listing.count_rows(
        context.engine,
        resource,
        query=query,
        now=context.clock(),
        max_query_length=context.settings.max_query_length,
        user=caller_name(request),
    )
    return wire.json_response({"Count": count})


def continuation_token(request: Request, *, prefixes: tuple[str, ...] = DEFAULT_PREFIXES) -> str | None:
    """The `Continuation` parameter (any case, unprefixed or with one of `prefixes`): None when absent, "" for the
    first page of a continued listing."""
    found = None
    for key, value in request.query_params.multi_items():
        name = key.lower()
        name = next((name.removeprefix(prefix) for prefix in prefixes if name.startswith(prefix)), name)
        if name == "continuation":
            found = value
    return found


def query_string(request: Request, *, prefixes: tuple[str, ...] = DEFAULT_PREFIXES) -> str | None:
    """The query string parameter alone (unprefixed or with one of `prefixes`), None when absent or empty."""
    found = None
    for key, value in request.query_params.multi_items():
        name = key.lower()
        name = next((name.removeprefix(prefix) for prefix in prefixes if name.startswith(prefix)), name)
        if name == "querystring":
            found = value
    return found or None


def documented(
    *, prefixes: tuple[str, ...] = DEFAULT_PREFIXES, names: tuple[str, ...] = EVERY_PARAMETER
) -> dict[str, Any]:
    """openapi_extra for a route that reads the list parameters `names` with `prefixes` (api.openapi expands it)."""
    return {DOC_MARK: {"prefixes": list(prefixes), "names": list(names)}}


def parameters(declared: dict[str, Any], *, max_limit: int) -> list[dict[str, Any]]:
    """The OpenAPI query parameters a `documented` route reads: each name unprefixed (v11) and with each prefix."""
    schemas: dict[str, dict[str, Any]] = {
        QUERY_STRING: {"type": "string", "description": "A query (docs/query-language.md); empty: every row."},
        PAGE_RETURNED: {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
        RETURN_LIMIT: {"type": "integer", "minimum": 1, "maximum": max_limit, "default": 50},
        SORT_FIELD: {"type": "string", "description": "A field of the resource; its default order when absent."},
        SORT_ASCENDING: {"type": "integer", "enum": [0, 1], "description": "0: ascending, 1: descending."},
    }
    found: list[dict[str, Any]] = []
    for name in declared["names"]:
        schema = dict(schemas[name])
        description = schema.pop("description", None)
        spellings = [name] + [
            _V10_PREFIXES.get(prefix, prefix) + name[0].lower() + name[1:] for prefix in declared["prefixes"]
        ]
        for spelling in spellings:
            parameter: dict[str, Any] = {"name": spelling, "in": "query", "required": False, "schema": schema}
            if description:
                parameter["description"] = description
            found.append(parameter)
    return found


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
