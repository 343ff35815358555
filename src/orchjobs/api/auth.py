"""Basic authentication as a FastAPI dependency."""

import base64
import binascii
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from orchjobs.api.context import AppContext, context_of
from orchjobs.errors import AuthenticationError
from orchjobs.service.users import User


# Both dependencies are async: FastAPI runs a sync dependency in the threadpool, a hop per request
# that costs more than the work itself. Only a credential not seen recently goes to a thread.
async def get_context(request: Request) -> AppContext:
    return context_of(request)


async def current_user(request: Request) -> User:
    header = request.headers.get("authorization")
    if not header:
        raise AuthenticationError("Authentication is required: send Basic credentials.")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        raise AuthenticationError("Only Basic authentication is supported.")
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


ContextDep = Annotated[AppContext, Depends(get_context)]
UserDep = Annotated[User, Depends(current_user)]
