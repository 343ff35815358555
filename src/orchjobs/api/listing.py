"""Command's list parameters: `pq.queryString`… (v10) or `QueryString`… (v11), any case."""

from starlette.requests import Request

from orchjobs.errors import InvalidRequestError
from orchjobs.service.history import PageRequest

_NAMES = {"querystring", "pagereturned", "returnlimit", "sortfield", "sortascending"}


def page_request(request: Request, *, max_limit: int) -> PageRequest:
    """The PageRequest of a list call; a malformed number is a 400 that names the parameter."""
    values: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        name = key.lower().removeprefix("pq.")
        if name in _NAMES:
            values[name] = value
    # int32 in Command's schema; also keeps the offset far from any database's integer limit.
    page = _integer(values, "pagereturned", "PageReturned", default=1, low=1, high=2**31 - 1)
    limit = _integer(values, "returnlimit", "ReturnLimit", default=50, low=1, high=max_limit)
    sort_ascending = values.get("sortascending", "").strip()
    descending: bool | None = None
    if sort_ascending:
        order = _integer(values, "sortascending", "SortAscending", default=0, low=0, high=1)
        descending = order == 1
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
    try:
        number = int(raw)
    except ValueError:
        raise InvalidRequestError(f"{label} must be an integer, not {raw!r}.") from None
    if not low <= number <= high:
        raise InvalidRequestError(f"{label} must be between {low} and {high}; got {number}.")
    return number
