"""/KeyfactorAPI/Status: the endpoint list clients probe at login."""

from fastapi import APIRouter
from starlette.responses import Response

from orchjobs.api import paths, permissions, wire
from orchjobs.api.auth import ContextDep, UserDep
from orchjobs.domain.permissions import CONNECT_ORCHESTRATOR

router = APIRouter(prefix=paths.STATUS, tags=["Status"])


@router.get("/Endpoints", response_model=list[str])
def get_endpoints(context: ContextDep, user: UserDep) -> Response:
    """The endpoints the caller may call, as `METHOD /path` strings, as Command answers (kfutil only checks it is a
    string array): an API route when the caller holds its permissions, a protocol route when it may connect."""
    return wire.json_response(
        [
            f"{method} {path}"
            for method, path in context.endpoints
            if (
                permissions.may_call(user, permissions.required(method, path))
                if path.startswith(paths.API)
                else user.may((CONNECT_ORCHESTRATOR,))
            )
        ]
    )
