"""Users and Basic authentication: Argon2 hashes, with a short in-memory cache of verified credentials."""

import contextlib
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine

from orchjobs.errors import AuthenticationError, InvalidRequestError
from orchjobs.store import users as store
from orchjobs.store.engine import read_transaction, write_transaction

_hasher = PasswordHasher()
# Verifies against this when the user does not exist, so timing does not reveal which names exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class User:
    username: str
    is_admin: bool


def create_user(engine: Engine, *, username: str, password: str, is_admin: bool, now: datetime) -> User:
    """Add a user; refuses a blank name, a short password or a name that is taken."""
    username = username.strip()
    if not username or ":" in username:
        raise InvalidRequestError("A username must be non-blank and must not contain ':'.")
    if len(password) < 8:
        raise InvalidRequestError("A password must be at least 8 characters long.")
    with write_transaction(engine) as conn:
        created = store.insert_user(
            conn, username=username, password_hash=_hasher.hash(password), is_admin=is_admin, created_at=now
        )
    if not created:
        raise InvalidRequestError(f"A user named {username!r} already exists.")
    return User(username=username, is_admin=is_admin)


def ensure_bootstrap_admin(engine: Engine, spec: str, *, now: datetime) -> bool:
    """Create the `user:password` administrator unless that user exists; True when it was created."""
    username, sep, password = spec.partition(":")
    if not sep:
        raise InvalidRequestError("ORCHJOBS_BOOTSTRAP_ADMIN must look like user:password.")
    with read_transaction(engine) as conn:
        if store.get_user(conn, username=username) is not None:
            return False
    try:
        create_user(engine, username=username, password=password, is_admin=True, now=now)
    except InvalidRequestError:
        # Another server process created it first.
        with read_transaction(engine) as conn:
            if store.get_user(conn, username=username) is None:
                raise
        return False
    return True


class Authenticator:
    """Checks Basic credentials. Argon2 takes tens of milliseconds on purpose, so a verified
    credential is remembered (as a keyed digest, never the password) for `cache_seconds`."""

    def __init__(self, engine: Engine, *, cache_seconds: float) -> None:
        self._engine = engine
        self._cache_seconds = cache_seconds
        self._key = secrets.token_bytes(32)
        self._verified: dict[bytes, tuple[float, User]] = {}
        self._lock = threading.Lock()
        self._pending: dict[bytes, threading.Lock] = {}

    def remembered(self, username: str, password: str) -> User | None:
        """The user, when these credentials were verified less than `cache_seconds` ago."""
        cached = self._verified.get(self._digest(username, password))
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        return None

    def authenticate(self, username: str, password: str) -> User:
        user = self.remembered(username, password)
        if user is not None:
            return user
        digest = self._digest(username, password)
        # Single flight: many orchestrators starting at once with one credential wait for one Argon2
        # verification instead of each running their own.
        with self._lock:
            pending = self._pending.setdefault(digest, threading.Lock())
        try:
            with pending:
                user = self.remembered(username, password) or self._verify(username, password)
                self._remember(digest, user)
                return user
        finally:
            with self._lock:
                self._pending.pop(digest, None)

    def _remember(self, digest: bytes, user: User) -> None:
        if self._cache_seconds <= 0:
            return
        with self._lock:
            if len(self._verified) > 10_000:
                self._verified.clear()
            self._verified[digest] = (time.monotonic() + self._cache_seconds, user)

    def _digest(self, username: str, password: str) -> bytes:
        return hmac.new(self._key, f"{username}\0{password}".encode(), hashlib.sha256).digest()

    def _verify(self, username: str, password: str) -> User:
        for candidate in _name_forms(username):
            with read_transaction(self._engine) as conn:
                row = store.get_user(conn, username=candidate)
            if row is None:
                continue
            try:
                _hasher.verify(row.password_hash, password)
            except (VerificationError, InvalidHashError):
                break
            return User(username=row.username, is_admin=row.is_admin)
        else:
            _verify_dummy(password)
        raise AuthenticationError("The user name or password is incorrect.")


def _verify_dummy(password: str) -> None:
    with contextlib.suppress(VerificationError):
        _hasher.verify(_DUMMY_HASH, password)


def _name_forms(username: str) -> list[str]:
    """The name as given, then without a Windows domain: clients send `DOMAIN\\user` or `user@domain`."""
    forms = [username]
    if "\\" in username:
        forms.append(username.split("\\", 1)[1])
    if "@" in username:
        forms.append(username.rsplit("@", 1)[0])
    return forms
