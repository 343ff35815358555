"""Authentication (Basic credentials, an OAuth 2.0 bearer token of a configured identity provider, or the console's
session cookie with its CSRF header) and the route's permissions, as FastAPI dependencies."""

import base64
import binascii
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from orchjobs.api import permissions
from orchjobs.api.client_address import client_address
from orchjobs.api.console_session import SESSION_COOKIE, cookie_principal
from orchjobs.api.context import AppContext, context_of
from orchjobs.domain.permissions import Principal
from orchjobs.errors import AuthenticationError, PermissionDeniedError
from orchjobs.service import events
from orchjobs.service.bearer import NOT_ENABLED
from orchjobs.service.security import principal_of

_BAD_BASIC = "The Basic credentials are not valid base64 of user:password."
# Longer Basic credentials are refused before they are decoded, looked up or hashed (about 6 KB of user:password).
_LONGEST_BASIC = 8192


# Both dependencies are async: FastAPI runs a sync dependency in the threadpool, a hop of its own per request.
async def get_context(request: Request) -> AppContext:
    return context_of(request)


async def current_principal(request: Request) -> Principal:
    """Who is calling, from its credentials; AuthenticationError (401) without valid ones. Noted for the request's
    log line."""
    principal = await _principal(request)
    events.note_user(principal.name)
    return principal


async def _principal(request: Request) -> Principal:
    header = request.headers.get("authorization")
    if not header:
        session = request.cookies.get(SESSION_COOKIE)
        if session is not None:
            return await cookie_principal(request, session)
        raise AuthenticationError("Authentication is required: send Basic credentials or a bearer token.")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() == "bearer":
        return await bearer_principal(context_of(request), encoded.strip())
    if scheme.lower() != "basic":
        raise AuthenticationError("Only Basic authentication and bearer tokens are supported.")
    username, password = _basic_credentials(encoded)
    context = context_of(request)
    address = client_address(request, trusted_proxies=context.settings.trusted_proxies)
    return await context.authenticator.authenticate(username, password, address=address)


async def bearer_principal(context: AppContext, token: str) -> Principal:
    """The identity an OAuth 2.0 bearer token speaks for (service.bearer verifies the token) with the roles it holds
    here and the roles its issuer's roles claim names. An identity nobody created, whose token names no role, is
    signed in and permitted nothing."""
    verifier = context.token_verifier
    if verifier is None or not verifier.enabled:
        raise AuthenticationError(NOT_ENABLED)
    subject = await verifier.verify(token, now=context.clock())
    return await run_in_threadpool(
        principal_of, context.engine, subject.account_name, extra_role_names=subject.role_names
    )


def _basic_credentials(encoded: str) -> tuple[str, str]:
    if len(encoded) > _LONGEST_BASIC:
        raise AuthenticationError(f"The Basic credentials are longer than {_LONGEST_BASIC} characters.")
    try:
        username, sep, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise AuthenticationError(_BAD_BASIC) from exc
    if not sep or "\0" in username or "\0" in password:
        raise AuthenticationError(_BAD_BASIC)
    return username, password


async def permitted_principal(request: Request) -> Principal:
    """The caller, if it holds the permissions its route needs (api.permissions); PermissionDeniedError else."""
    principal = await current_principal(request)
    route = request.scope["route"]
    reason = permissions.refusal(principal, permissions.required(request.method, route.path))
    if reason is not None:
        raise PermissionDeniedError(reason)
    # For what the request does with the caller's name beyond this dependency: %ME% in a list's query.
    request.state.user_name = principal.name
    return principal


def caller_name(request: Request) -> str | None:
    """The name of the caller `UserDep` admitted for this request, or None before (or without) it."""
    name = getattr(request.state, "user_name", None)
    return name if isinstance(name, str) else None


ContextDep = Annotated[AppContext, Depends(get_context)]
# Every admin-API route takes it: authentication and the route's permissions, in one place.
UserDep = Annotated[Principal, Depends(permitted_principal)]
