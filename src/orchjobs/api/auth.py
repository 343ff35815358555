"""Basic authentication as a FastAPI dependency."""

import base64
import binascii
from typing import Annotated

from fastapi import Depends, Request

from orchjobs.api.context import AppContext
from orchjobs.errors import AuthenticationError
from orchjobs.service.users import User


def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


def current_user(request: Request) -> User:
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
    return get_context(request).authenticator.authenticate(username, password)


ContextDep = Annotated[AppContext, Depends(get_context)]
UserDep = Annotated[User, Depends(current_user)]
