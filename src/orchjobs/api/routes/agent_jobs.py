"""Routes under /KeyfactorAgents/Jobs: the job calls an orchestrator makes for a run it was handed.

Every call is authenticated by its `SessionToken`; an unknown or expired one is refused with `A0100001`, which
makes the orchestrator register again. Refusals are 200 with `Result.Status` 3 (docs/orchestrator-protocol.md).
"""

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from orchjobs.api import paths, protocol_answers, protocol_requests
from orchjobs.api.body import lenient_guid, read_object
from orchjobs.api.context import AppContext, context_of
from orchjobs.api.protocol import answer
from orchjobs.errors import ProtocolRefusalError
from orchjobs.service import job_calls
from orchjobs.service.job_calls import JobCall

router = APIRouter(prefix=paths.JOBS, tags=["AgentProtocol"])

T = TypeVar("T")
# Reads what a job call carries besides its session and job, into the service's values.
Reader = Callable[[dict[str, Any], AppContext], T]
Action = Callable[[AppContext, JobCall, T], Response]


@router.post(paths.route(paths.CONFIGURATION_ENDPOINT))
async def configuration(request: Request) -> Response:
    """What the orchestrator must do for its run; the run becomes InProcess."""

    def start(context: AppContext, call: JobCall, _nothing: None) -> Response:
        run = job_calls.start_run(context.engine, call, now=context.clock())
        return answer(protocol_answers.configuration(run, max_characters=context.settings.max_job_data_bytes))

    return await _job_call(request, call_name="Configuration", read=lambda _body, _context: None, act=start)


@router.post(paths.route(paths.INVENTORY_ENDPOINT))
async def inventory(request: Request) -> Response:
    """The inventory delta of a store, applied all or nothing."""

    def read(body: dict[str, Any], context: AppContext) -> job_calls.InventoryDelta:
        return protocol_requests.inventory(body, max_items=context.settings.max_inventory_items)

    def apply(context: AppContext, call: JobCall, delta: job_calls.InventoryDelta) -> Response:
        job_calls.apply_inventory(context.engine, call, delta, now=context.clock())
        return answer()

    return await _job_call(request, call_name="Inventory", read=read, act=apply)


@router.post(paths.route(paths.ENROLL_ENDPOINT))
async def enroll(request: Request) -> Response:
    """A Reenrollment's CSR, answered with the certificate the orchestrator CA issues."""

    def sign(context: AppContext, call: JobCall, csr: str) -> Response:
        passphrase = context.settings.ca_passphrase
        certificate = job_calls.enroll(context.engine, call, csr, now=context.clock(), ca_passphrase=passphrase)
        return answer({"Certificate": certificate})

    return await _job_call(
        request, call_name="Enroll", read=lambda body, _context: protocol_requests.csr_text(body), act=sign
    )


@router.post(paths.route(paths.COMPLETION_ENDPOINT))
async def complete(request: Request) -> Response:
    """The outcome of a run: Status 2 Success, 3 Warning or 4 Error, a Message, and Log or Data."""

    def read(body: dict[str, Any], context: AppContext) -> job_calls.Completion:
        return protocol_requests.completion(body, max_data_bytes=context.settings.max_job_data_bytes)

    def close(context: AppContext, call: JobCall, completion: job_calls.Completion) -> Response:
        job_calls.complete_run(context.engine, call, completion, now=context.clock())
        return answer()

    return await _job_call(request, call_name="Complete", read=read, act=close)


async def _job_call(request: Request, *, call_name: str, read: Reader[T], act: Action[T]) -> Response:
    """Read the call, then run it in a worker thread: one hop, and one transaction for all its database work with
    the session check its first statement. A call refused for what it carries is refused like any other: as an
    unknown session when its session is one, else recorded against its orchestrator."""
    context = context_of(request)
    body = await read_object(request)
    token = protocol_requests.session_token(body)

    def run() -> Response:
        try:
            call = protocol_requests.job_call(call_name, body)
            carried = read(body, context)
        except ProtocolRefusalError as refusal:
            job_id = lenient_guid(body.get("jobid"))
            job_calls.refuse_call(
                context.engine, name=call_name, token=token, job_id=job_id, refusal=refusal, now=context.clock()
            )
        return act(context, call, carried)

    return await run_in_threadpool(run)
