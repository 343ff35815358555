"""/KeyfactorAPI/OrchestratorJobs/JobHistory/Export (an extension): every history row a query selects, as CSV or
JSON Lines, streamed from one database cursor in constant memory.

The query and sort parameters are JobHistory's (`pq.queryString`, `pq.sortField`, `pq.sortAscending`, prefixed or
not); paging parameters are ignored. A bad format, query or sort field, and an error running the query, are answered
in Command's error shape before any byte of the export: the route runs the query and fetches the first batch before
it answers. A client that hangs up mid-stream closes the generator, which closes the cursor and gives the connection
back. Needs /agents/management/read/, as JobHistory.
"""

import csv
import io
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

import anyio
import orjson
from anyio import to_thread
from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from orchjobs.api import listing, paths, wire
from orchjobs.api import request_docs as docs
from orchjobs.api.auth import ContextDep, UserDep
from orchjobs.api.listing import MAX_PAGE, page_request
from orchjobs.api.routes.orchestrator_jobs import job_history_item
from orchjobs.errors import InvalidRequestError
from orchjobs.service import export
from orchjobs.service.history import JOB_HISTORY

router = APIRouter(prefix=paths.ORCHESTRATOR_JOBS, tags=["OrchestratorJobs"])

# The JobHistoryResponse fields, in the order GET JobHistory writes them: the CSV's columns.
COLUMNS = (
    "JobHistoryId",
    "AgentMachine",
    "JobId",
    "Schedule",
    "JobType",
    "OperationStart",
    "OperationEnd",
    "Message",
    "Result",
    "Status",
    "StorePath",
    "ClientMachine",
    "AgentId",
    "AcknowledgedAt",
    "AcknowledgedBy",
    "AcknowledgeNote",
)
_FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
_EXPORT_DOC = {
    "responses": {
        200: {
            "description": "Every matching row: CSV with a header row, or one JSON object per line.",
            "content": {media: {"schema": {"type": "string"}} for media in _FORMATS.values()},
        }
    }
}
Batch = Sequence[Any]


class _ClosingStreamingResponse(StreamingResponse):
    """A StreamingResponse that closes its body iterator however the answer ends: Starlette stops iterating when the
    client disconnects but leaves closing the (async generator) iterator to garbage collection."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            aclose = getattr(self.body_iterator, "aclose", None)
            if aclose is not None:
                with anyio.CancelScope(shield=True):
                    await aclose()


@router.get(
    "/JobHistory/Export",
    response_class=StreamingResponse,
    openapi_extra=docs.combined(
        _EXPORT_DOC,
        docs.query_parameters(("format", {"type": "string", "enum": list(_FORMATS)}, True, "csv or jsonl.")),
        listing.documented(),
    ),
)
def export_job_history(request: Request, context: ContextDep, user: UserDep) -> Response:
    """Every history row the query selects, as `format=csv` or `format=jsonl`, sorted as JobHistory sorts."""
    params = {key.lower(): value for key, value in request.query_params.items()}
    kind = params.get("format", "").strip().lower()
    if kind not in _FORMATS:
        raise InvalidRequestError(f"format must be one of: {', '.join(_FORMATS)}; got {params.get('format', '')!r}.")
    page = page_request(request, max_limit=MAX_PAGE)
    batches = export.export_rows(
        context.engine,
        JOB_HISTORY,
        page,
        now=context.clock(),
        max_query_length=context.settings.max_query_length,
        user=user.name,
    )
    # Run the query and fetch the first batch now: a failure is still an ordinary error answer.
    first: Batch = next(batches, [])
    render = _csv_chunk if kind == "csv" else _jsonl_chunk
    header = _csv_line(COLUMNS) if kind == "csv" else b""
    chunks = _chunks(header, first, batches, render)
    return _ClosingStreamingResponse(
        _streamed(chunks, batches),
        media_type=_FORMATS[kind],
        headers={"Content-Disposition": f'attachment; filename="JobHistory.{kind}"'},
    )


def _chunks(header: bytes, first: Batch, rest: Iterator[Batch], render: Callable[[Batch], bytes]) -> Iterator[bytes]:
    yield header + render(first)
    for batch in rest:
        yield render(batch)


async def _streamed(chunks: Iterator[bytes], batches: Iterator[Batch]) -> AsyncIterator[bytes]:
    """The chunks, each made in a worker thread (it fetches from the database); however the stream ends (done, the
    client gone, an error), the batches' generator is closed, which closes its cursor and transaction."""
    try:
        while True:
            chunk = await to_thread.run_sync(next, chunks, None)
            if chunk is None:
                return
            yield chunk
    finally:
        with anyio.CancelScope(shield=True):
            await to_thread.run_sync(_close, chunks, batches)


def _close(chunks: Iterator[bytes], batches: Iterator[Batch]) -> None:
    for generator in (chunks, batches):
        close = getattr(generator, "close", None)
        if close is not None:
            close()


def _jsonl_chunk(batch: Batch) -> bytes:
    return b"".join(wire.dumps(job_history_item(row)) + b"\n" for row in batch)


def _csv_chunk(batch: Batch) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in batch:
        # Through the JSON of the row, so that each cell is what GET JobHistory answers (times as …Z).
        item = orjson.loads(wire.dumps(job_history_item(row)))
        writer.writerow([_cell(item.get(column)) for column in COLUMNS])
    return buffer.getvalue().encode("utf-8")


def _csv_line(cells: Sequence[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue().encode("utf-8")


def _cell(value: Any) -> str:
    """An absent value is an empty cell; the Schedule object is its JSON; the rest as the JSON shows them."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)
