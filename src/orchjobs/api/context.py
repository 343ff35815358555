"""What every request handler needs, built once by create_app and kept on app.state."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from starlette.requests import Request

from orchjobs.service.bearer import TokenVerifier
from orchjobs.service.database import Engine
from orchjobs.service.users import Authenticator
from orchjobs.settings import Settings


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    authenticator: Authenticator
    clock: Callable[[], datetime] = utc_now
    # Verifies `Authorization: Bearer` tokens of the configured identity providers (none configured: refuses them).
    token_verifier: TokenVerifier | None = None
    # (method, path template) of every route, filled in once the routers are mounted.
    endpoints: list[tuple[str, str]] = field(default_factory=list)


def context_of(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context
