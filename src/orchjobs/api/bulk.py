"""The bulk actions over job history and scheduled jobs (Acknowledge, Unacknowledge, Reschedule, Unschedule): their
bodies read one way, and run one way, with the request's bounds and off the event loop; their previews too."""

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from orchjobs.api import body, wire
from orchjobs.api.context import AppContext
from orchjobs.service.previews import Preview
from orchjobs.service.selection import Selection

Id = TypeVar("Id")


async def read_selection(
    request: Request, *, ids_name: str, read_ids: Callable[[dict[str, Any], str], list[Id] | None]
) -> tuple[Selection[Id], dict[str, Any]]:
    """The selection a body makes (`ids_name` ids, or a `Query`), and the whole body for what else it carries."""
    payload = await body.read_object(request)
    ids = read_ids(payload, ids_name)
    return Selection(ids=ids, query=body.optional_string(payload, "Query"), ids_name=ids_name), payload


async def run_bulk(
    context: AppContext, action: Callable[..., object], selection: Selection[Id], **extra: Any
) -> Response:
    """Run a bulk service function over the selection, bounded by the settings; 204 as Command answers."""
    settings = context.settings
    await run_in_threadpool(
        partial(
            action,
            context.engine,
            selection,
            now=context.clock(),
            max_ids=settings.max_bulk_ids,
            max_query_length=settings.max_query_length,
            **extra,
        )
    )
    return Response(status_code=204)


async def run_preview(
    context: AppContext, preview: Callable[..., Preview], selection: Selection[Id], *, actor: str
) -> Response:
    """Run a bulk action's preview over the selection, bounded as the action is (`actor` is who %ME% is); its answer
    as PreviewResponse."""
    settings = context.settings
    result = await run_in_threadpool(
        partial(
            preview,
            context.engine,
            selection,
            actor=actor,
            now=context.clock(),
            max_ids=settings.max_bulk_ids,
            max_query_length=settings.max_query_length,
        )
    )
    answer: dict[str, Any] = {
        "Selected": result.selected,
        "Eligible": result.eligible,
        "Ids": [value if isinstance(value, int) else str(value) for value in result.ids],
    }
    if result.query is not None:
        answer["Query"] = result.query
    answer["PreviewToken"] = result.token
    answer["ExpiresAt"] = result.expires_at
    return wire.json_response(answer)
