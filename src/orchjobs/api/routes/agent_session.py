"""Routes under /KeyfactorAgents/Session: Register (authenticated by client certificate or Basic credentials)
and the legacy Heartbeat (authenticated by its session token)."""

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from orchjobs.api import paths, protocol_answers, protocol_requests
from orchjobs.api import request_docs as docs
from orchjobs.api.auth import current_principal
from orchjobs.api.body import read_object
from orchjobs.api.client_certs import client_certificate
from orchjobs.api.context import AppContext, context_of
from orchjobs.api.protocol import answer
from orchjobs.domain.permissions import CONNECT_ORCHESTRATOR
from orchjobs.errors import PermissionDeniedError
from orchjobs.service import sessions

router = APIRouter(prefix=paths.SESSION, tags=["AgentProtocol"])


@router.post("/Register", openapi_extra=docs.json_body(docs.REGISTER))
async def register(request: Request) -> Response:
    """Open a session for the orchestrator, enrolling it for a client certificate when it sends a CSR; bad
    credentials are a 401 (retrying with them is the agent's problem to see), a refused registration a 200."""
    context = context_of(request)
    now = context.clock()
    identity = await _identity(request, context)
    registration = protocol_requests.registration(await read_object(request))
    opened = await run_in_threadpool(
        sessions.register, context.engine, registration, identity=identity, settings=context.settings, now=now
    )
    return answer({"Session": protocol_answers.session(opened)})


@router.post("/Heartbeat", openapi_extra=docs.json_body(docs.HEARTBEAT))
async def heartbeat(request: Request) -> Response:
    """Whether the session is still valid, and (an extension) the jobs now due."""
    context = context_of(request)
    token = (await read_object(request)).get("sessiontoken")
    beat = await run_in_threadpool(
        sessions.heartbeat, context.engine, token=token if isinstance(token, str) else "", now=context.clock()
    )
    return answer(protocol_answers.heartbeat(beat))


async def _identity(request: Request, context: AppContext) -> sessions.Identity:
    """A client certificate our CA issued, else Basic credentials of an identity that may connect orchestrators;
    AuthenticationError without either, PermissionDeniedError when the credentials may not connect."""
    certificate = client_certificate(request, trusted_proxies=context.settings.trusted_proxies)
    if certificate is not None:
        identity = await run_in_threadpool(
            sessions.certificate_identity,
            context.engine,
            certificate=certificate,
            settings=context.settings,
            now=context.clock(),
        )
        if identity is not None:
            return identity
    principal = await current_principal(request)
    if not principal.may((CONNECT_ORCHESTRATOR,)):
        # An operator's or administrator's login must not become an orchestrator's by accident, nor a stolen
        # reader's login a way to receive jobs: registering takes a role that holds this permission.
        raise PermissionDeniedError(
            f"{principal.name!r} may not register an orchestrator: that needs a role holding {CONNECT_ORCHESTRATOR}"
            " (such as Orchestrator)."
        )
    return sessions.Identity(username=principal.name)
