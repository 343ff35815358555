"""Basic authentication and the route's permissions, as FastAPI dependencies."""

import base64
import binascii
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from orchjobs.api import permissions
from orchjobs.api.context import AppContext, context_of
from orchjobs.errors import AuthenticationError, PermissionDeniedError
from orchjobs.service.bearer import NOT_ENABLED
from orchjobs.service.users import User


# Both dependencies are async: FastAPI runs a sync dependency in the threadpool, a hop per request
# that costs more than the work itself. Only a credential not seen recently goes to a thread.
async def get_context(request: Request) -> AppContext:
    return context_of(request)


async def current_user(request: Request) -> User:
    header = request.headers.get("authorization")
    if not header:
        raise AuthenticationError("Authentication is required: send Basic credentials or a bearer token.")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() == "bearer":
        return await bearer_user(context_of(request), encoded.strip())
    if scheme.lower() != "basic":
        raise AuthenticationError("Only Basic authentication and bearer tokens are supported.")
    try:
        username, sep, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise AuthenticationError("The Basic credentials are not valid base64 of user:password.") from exc
    if not sep:
        raise AuthenticationError("The Basic credentials are not valid base64 of user:password.")
    authenticator = context_of(request).authenticator
    user = authenticator.remembered(username, password)
    if user is None:
        user = await run_in_threadpool(authenticator.authenticate, username, password)
    return user


async def bearer_user(context: AppContext, token: str) -> User:
    """The identity an OAuth 2.0 bearer token of a configured issuer speaks for (service.bearer verifies it)."""
    verifier = context.token_verifier
    if verifier is None or not verifier.enabled:
        raise AuthenticationError(NOT_ENABLED)
    subject = await verifier.verify(token, now=context.clock())
    # Until security roles exist, a token's identity is an ordinary (not administrator) user.
    return User(username=subject.account_name, is_admin=False)


async def permitted_user(request: Request) -> User:
    """The signed-in user, if it holds the permissions its route needs (api.permissions); PermissionDeniedError else."""
    user = await current_user(request)
    route = request.scope["route"]
    reason = permissions.refusal(permissions.required(request.method, route.path), is_admin=user.is_admin)
    if reason is not None:
        raise PermissionDeniedError(reason)
    return user


ContextDep = Annotated[AppContext, Depends(get_context)]
# Every admin-API route takes it: authentication and the route's permissions, in one place.
UserDep = Annotated[User, Depends(permitted_user)]
