"""Console sessions (docs/console.md): a browser logs in once with a user's password and then holds a random token
in a cookie. The table keeps only the token's SHA-256; the CSRF token is derived from the session token, so every
server process can check it without keeping it anywhere."""

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Engine

from orchjobs.domain.permissions import Principal
from orchjobs.service.security import principal_from_grants
from orchjobs.store import console_sessions as store
from orchjobs.store import users as user_store
from orchjobs.store.engine import single_read, write_transaction

# A token is 43 characters (32 random bytes, base64url); anything much longer is not one of ours.
LONGEST_TOKEN = 128
_CSRF_LABEL = b"orchjobs console CSRF token"


def token_sha256(token: str) -> str:
    """What a session is stored and found by. The token is 256 random bits: a fast hash is enough (nothing to guess),
    and it keeps a copy of the table (a backup, a dump) from opening sessions."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def csrf_token(token: str) -> str:
    """The CSRF token of a session: an HMAC of a fixed label keyed with the session token. Only who holds the session
    token (the page, which the server renders it into) can know it; a page of another origin cannot read the
    HttpOnly cookie, so it cannot compute it."""
    digest = hmac.new(token.encode("utf-8", "surrogatepass"), _CSRF_LABEL, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def csrf_matches(token: str, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(csrf_token(token).encode(), presented.encode())


def open_session(engine: Engine, *, username: str, now: datetime, lifetime: timedelta) -> str:
    """A new session of `username` (already authenticated) until `now + lifetime`; its token, for the cookie. Expired
    sessions of anyone are deleted on the way, so the table holds live sessions and a few stragglers."""
    token = secrets.token_urlsafe(32)
    with write_transaction(engine) as conn:
        store.delete_expired(conn, now=now)
        store.insert_session(
            conn, token_sha256=token_sha256(token), username=username, created_at=now, expires_at=now + lifetime
        )
    return token


def session_principal(engine: Engine, token: str, *, now: datetime) -> Principal | None:
    """Who a live session is, with the roles it holds now (a changed role counts at once); None for a token that is
    unknown, expired, too long, or of a user that no longer exists."""
    if not token or len(token) > LONGEST_TOKEN:
        return None
    with single_read(engine) as conn:
        username = store.session_username(conn, token_sha256=token_sha256(token), now=now)
    if username is None:
        return None
    with single_read(engine) as conn:
        grants = user_store.user_grants(conn, username=username)
    if not grants:
        return None
    return principal_from_grants(grants[0].username, grants)


def close_session(engine: Engine, token: str) -> None:
    """Logout: the session stops working in every server process at once."""
    if not token or len(token) > LONGEST_TOKEN:
        return
    with write_transaction(engine) as conn:
        store.delete_session(conn, token_sha256=token_sha256(token))
