"""/KeyfactorAPI/Status: the endpoint list clients probe at login."""

from fastapi import APIRouter
from starlette.responses import Response

from orchjobs.api import paths, wire
from orchjobs.api.auth import ContextDep, UserDep

router = APIRouter(prefix=paths.STATUS, tags=["Status"])


@router.get("/Endpoints", response_model=list[str])
def get_endpoints(context: ContextDep, _user: UserDep) -> Response:
    """Every endpoint of the API, as `METHOD /path` strings (kfutil only checks it is a string array)."""
    return wire.json_response(context.endpoints)
