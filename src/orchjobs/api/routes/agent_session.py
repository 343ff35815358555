"""Routes under /KeyfactorAgents/Session: Register (authenticated by client certificate or Basic credentials)
and the legacy Heartbeat (authenticated by its session token)."""

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from orchjobs.api.auth import current_user
from orchjobs.api.client_certs import client_certificate
from orchjobs.api.context import AppContext
from orchjobs.api.protocol import answer, refusal, request_body
from orchjobs.errors import AuthenticationError, InvalidRequestError
from orchjobs.service import sessions
from orchjobs.service.dispatch import HandedOutJob

router = APIRouter(prefix="/KeyfactorAgents/Session", tags=["AgentProtocol"])

INVALID_REQUEST = InvalidRequestError.code.removeprefix("0x")
UNAUTHENTICATED = AuthenticationError.code.removeprefix("0x")


@router.post("/Register")
async def register(request: Request) -> Response:
    context: AppContext = request.app.state.context
    now = context.clock()
    try:
        identity = await _identity(request, context)
    except AuthenticationError as exc:
        # 401, not a 200 refusal: retrying with the same wrong credentials is the agent's problem to see.
        response = refusal(UNAUTHENTICATED, exc.message, status_code=401)
        response.headers["WWW-Authenticate"] = 'Basic realm="Keyfactor"'
        return response
    body = await request_body(request)
    try:
        registration = sessions.parse_registration(body)
        result = await run_in_threadpool(
            sessions.register, context.engine, registration, identity=identity, settings=context.settings, now=now
        )
    except InvalidRequestError as exc:
        return refusal(INVALID_REQUEST, exc.message)
    if result.refusal is not None:
        return refusal(result.refusal.code_string, result.refusal.message)
    session: dict[str, Any] = {
        "Token": result.token,
        "AgentId": str(result.agent_id),
        "ClientMachine": result.client_machine,
        "HeartbeatInterval": result.heartbeat_interval,
        "Jobs": [_job(job) for job in result.jobs],
    }
    if result.certificate:
        session["Certificate"] = result.certificate
    return answer({"Session": session})


@router.post("/Heartbeat")
async def heartbeat(request: Request) -> Response:
    context: AppContext = request.app.state.context
    body = await request_body(request)
    token = body.get("sessiontoken")
    result = await run_in_threadpool(
        sessions.heartbeat, context.engine, token=token if isinstance(token, str) else "", now=context.clock()
    )
    extra = {"HeartbeatInterval": result.heartbeat_interval, "SessionValid": result.valid}
    if result.refusal is not None:
        return refusal(result.refusal.code_string, result.refusal.message, extra=extra)
    return answer({**extra, "Jobs": [_job(job) for job in result.jobs]})


async def _identity(request: Request, context: AppContext) -> sessions.Identity:
    """A client certificate our CA issued, else Basic credentials; AuthenticationError without either."""
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
    user = await current_user(request)
    return sessions.Identity(username=user.username)


def _job(job: HandedOutJob) -> dict[str, Any]:
    return {
        "JobTypeId": str(job.job_type_id),
        "JobId": str(job.job_id),
        "ConfigurationEndpoint": "Jobs/Configuration",
        "CompletionEndpoint": "Jobs/Complete",
        "Schedule": job.schedule,
        "Priority": job.priority,
    }
