"""Routes under /KeyfactorAgents/Jobs: the job calls an orchestrator makes for a run it was handed.

Every call is authenticated by its `SessionToken`; an unknown or expired one is refused with `A0100001`, which
makes the orchestrator register again. Refusals are 200 with `Result.Status` 3 (docs/orchestrator-protocol.md).
"""

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from orchjobs.api import paths, protocol_answers, protocol_requests
from orchjobs.api import request_docs as docs
from orchjobs.api.body import lenient_guid, read_object
from orchjobs.api.context import AppContext, context_of
from orchjobs.api.protocol import answer, warning
from orchjobs.domain.discovery import refusal_note
from orchjobs.errors import ProtocolRefusalError, UploadRefusedError
from orchjobs.service import job_calls
from orchjobs.service.job_calls import JobCall

router = APIRouter(prefix=paths.JOBS, tags=["AgentProtocol"])

T = TypeVar("T")


@router.post(paths.route(paths.CONFIGURATION_ENDPOINT), openapi_extra=docs.json_body(docs.CONFIGURATION))
async def configuration(request: Request) -> Response:
    """What the orchestrator must do for its run; the run becomes InProcess."""
    context = context_of(request)
    call, _ = await _read(context, "Configuration", await read_object(request), lambda _body: None)
    run = await run_in_threadpool(job_calls.start_run, context.engine, call, now=context.clock())
    return answer(protocol_answers.configuration(run, max_characters=context.settings.max_job_data_bytes))


@router.post(paths.route(paths.INVENTORY_ENDPOINT), openapi_extra=docs.json_body(docs.INVENTORY))
async def inventory(request: Request) -> Response:
    """The inventory delta of a store, applied all or nothing."""
    context = context_of(request)
    max_items = context.settings.max_inventory_items
    call, delta = await _read(
        context, "Inventory", await read_object(request), partial(protocol_requests.inventory, max_items=max_items)
    )
    await run_in_threadpool(job_calls.apply_inventory, context.engine, call, delta, now=context.clock())
    return answer()


@router.post(paths.route(paths.ENROLL_ENDPOINT), openapi_extra=docs.json_body(docs.ENROLL))
async def enroll(request: Request) -> Response:
    """A Reenrollment's CSR, answered with the certificate the orchestrator CA issues."""
    context = context_of(request)
    call, csr = await _read(context, "Enroll", await read_object(request), protocol_requests.csr_text)
    certificate = await run_in_threadpool(
        job_calls.enroll, context.engine, call, csr, now=context.clock(), settings=context.settings
    )
    return answer({"Certificate": certificate})


@router.post(paths.route(paths.DISCOVERY_ENDPOINT), openapi_extra=docs.json_body(docs.DISCOVERY_REPORT))
async def discovery(request: Request) -> Response:
    """The paths a Discovery run found: each new one becomes an unapproved certificate store."""
    context = context_of(request)
    body = await read_object(request, keep_nul=True)
    call, locations = await _read(context, "Discovery", body, protocol_requests.locations)
    await run_in_threadpool(job_calls.record_discovery, context.engine, call, locations, now=context.clock())
    if locations.refused:
        # The paths that could be were recorded; the run's message will name the others.
        return warning(UploadRefusedError(refusal_note(locations)))
    return answer()


@router.post(paths.route(paths.COMPLETION_ENDPOINT), openapi_extra=docs.json_body(docs.COMPLETE))
async def complete(request: Request) -> Response:
    """The outcome of a run: Status 2 Success, 3 Warning or 4 Error, a Message, and Log or Data."""
    context = context_of(request)
    max_bytes = context.settings.max_job_data_bytes
    body = await read_object(request, keep_nul=True)
    call, completion = await _read(
        context, "Complete", body, partial(protocol_requests.completion, max_data_bytes=max_bytes)
    )
    await run_in_threadpool(job_calls.complete_run, context.engine, call, completion, now=context.clock())
    return answer()


async def _read(
    context: AppContext, name: str, body: dict[str, Any], read: Callable[[dict[str, Any]], T]
) -> tuple[JobCall, T]:
    """The call's session and job, and what `read` makes of the rest. A call refused for what it carries is refused
    like any other: as an unknown session when its session is one, else recorded against its orchestrator."""
    token = protocol_requests.session_token(body)
    try:
        return protocol_requests.job_call(name, body), read(body)
    except ProtocolRefusalError as refusal:
        job_id = lenient_guid(body.get("jobid"))
        await run_in_threadpool(
            partial(
                job_calls.record_refusal,
                context.engine,
                name=name,
                token=token,
                job_id=job_id,
                refusal=refusal,
                now=context.clock(),
            )
        )
        raise
