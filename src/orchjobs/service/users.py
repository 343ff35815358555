"""Users and Basic authentication: Argon2 hashes, checked against the stored hash on every call."""

import asyncio
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime

from anyio import to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine

from orchjobs.domain.audit import SYSTEM_ACTOR, AuditAction, AuditResource
from orchjobs.domain.permissions import ADMINISTRATOR, Principal, identity_key
from orchjobs.errors import AuthenticationError, InvalidRequestError, NotFoundError
from orchjobs.service import audit
from orchjobs.service.login_throttle import LoginThrottle
from orchjobs.service.password_pool import PasswordPool
from orchjobs.service.security import check_a_security_administrator_remains, principal_from_grants
from orchjobs.store import console_sessions as console_store
from orchjobs.store import security as security_store
from orchjobs.store import users as store
from orchjobs.store.engine import read_transaction, single_read, write_transaction
from orchjobs.store.rows import Record

_hasher = PasswordHasher()
_USERS = AuditResource.USERS
# Verifies against this when the user does not exist, so timing does not reveal which names exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class CreatedUser:
    username: str
    roles: tuple[str, ...]


def create_user(
    engine: Engine,
    *,
    username: str,
    password: str,
    roles: Sequence[str],
    now: datetime,
    actor: str = SYSTEM_ACTOR,
) -> CreatedUser:
    """Add a user and its identity holding `roles`; refuses a blank name, a short password, a name that is taken
    and a role that does not exist, all before anything is written. `actor` is who the audit log names."""
    username = username.strip()
    if not username or ":" in username or len(username) > 255:
        raise InvalidRequestError("A username must be non-blank, at most 255 characters, and must not contain ':'.")
    _check_password(password)
    password_hash = _hasher.hash(password)
    with write_transaction(engine) as conn:
        found = security_store.role_ids(conn, names=roles)
        unknown = [name for name in roles if name.casefold() not in found]
        if unknown:
            raise InvalidRequestError(f"There is no security role named {unknown[0]!r}.")
        if not store.insert_user(conn, username=username, password_hash=password_hash, created_at=now):
            raise InvalidRequestError(f"A user named {username!r} already exists.")
        identity_id = security_store.ensure_identity(conn, account_name=username, identity_type="User", now=now)
        security_store.grant_roles(conn, identity_id=identity_id, role_ids=found.values())
        details = {"Username": username, "Roles": list(roles)}
        audit.note(conn, AuditAction.CREATE_USER, _USERS, actor=actor, at=now, ids=[username], details=details)
    return CreatedUser(username=username, roles=tuple(roles))


def set_password(engine: Engine, *, username: str, password: str, actor: str, now: datetime) -> None:
    """Give a user a new password; the old one stops working on the next call of every server process (each call
    compares the stored hash), and the user's console sessions end."""
    _check_password(password)
    password_hash = _hasher.hash(password)
    with write_transaction(engine) as conn:
        if not store.set_password_hash(conn, username=username, password_hash=password_hash):
            raise NotFoundError(f"There is no user named {username!r}.")
        # Whoever logged in to the console with the old password is logged out.
        console_store.delete_user_sessions(conn, username=username)
        audit.note(conn, AuditAction.SET_PASSWORD, _USERS, actor=actor, at=now, ids=[username])


def remove_user(engine: Engine, *, username: str, actor: str, now: datetime) -> None:
    """Remove a user and its identity (with its roles); refused when nobody could manage security after it."""
    with write_transaction(engine) as conn:
        security_store.lock_security(conn)
        if not store.delete_user(conn, username=username):
            raise NotFoundError(f"There is no user named {username!r}.")
        audit.note(conn, AuditAction.REMOVE_USER, _USERS, actor=actor, at=now, ids=[username])
        security_store.delete_identity_named(conn, account_name=username)
        check_a_security_administrator_remains(conn)


def parse_bootstrap_admin(spec: str) -> tuple[str, str]:
    """The user and password of ORCHJOBS_BOOTSTRAP_ADMIN, or InvalidRequestError saying what is wrong with it."""
    username, sep, password = spec.partition(":")
    if not sep or not username:
        raise InvalidRequestError("ORCHJOBS_BOOTSTRAP_ADMIN must look like user:password.")
    try:
        _check_password(password)
    except InvalidRequestError as exc:
        raise InvalidRequestError(f"ORCHJOBS_BOOTSTRAP_ADMIN: {exc.message}") from None
    return username, password


def ensure_bootstrap_admin(engine: Engine, spec: str, *, now: datetime) -> bool:
    """Create the `user:password` administrator unless that user exists; True when it was created."""
    username, password = parse_bootstrap_admin(spec)
    with read_transaction(engine) as conn:
        if store.get_user(conn, username=username) is not None:
            return False
    try:
        create_user(engine, username=username, password=password, roles=[ADMINISTRATOR], now=now)
    except InvalidRequestError:
        # Another server process created it first.
        with read_transaction(engine) as conn:
            if store.get_user(conn, username=username) is None:
                raise
        return False
    return True


class Authenticator:
    """Checks Basic credentials. Argon2 takes tens of milliseconds on purpose, so a verified credential is
    remembered (as a keyed digest, never the password) with the hash it matched, for `cache_seconds`: a call
    still reads the user's row and roles, and a changed password (another hash) or role counts at once.

    A credential not remembered goes past the login throttle (per address and user name) to the password pool's
    own threads; the cheap part (one read of the user and its roles) stays in the request threadpool."""

    def __init__(self, engine: Engine, *, cache_seconds: float, throttle: LoginThrottle, pool: PasswordPool) -> None:
        self._engine = engine
        self._cache_seconds = cache_seconds
        self._throttle = throttle
        self._pool = pool
        self._key = secrets.token_bytes(32)
        self._verified: dict[bytes, tuple[float, str]] = {}
        self._lock = threading.Lock()
        self._pending: dict[tuple[bytes, str], Future[bool]] = {}

    async def authenticate(self, username: str, password: str, *, address: str) -> Principal:
        """The principal of these credentials, sent from `address`; AuthenticationError when they are wrong,
        LoginThrottledError or PasswordCheckBusyError when they could not be checked now."""
        grants = await to_thread.run_sync(self._grants, username)
        name = grants[0].username if grants else username
        # Unknown names are verified against a dummy hash, so timing does not reveal which names exist.
        password_hash = grants[0].password_hash if grants else _DUMMY_HASH
        digest = self._digest(name, password)
        if grants and self._remembered(digest, password_hash):
            return principal_from_grants(name, grants)
        user = identity_key(name)
        trusted = self._throttle.admit(address=address, user=user)
        # Shielded: a caller that hangs up must not cancel a check others are waiting for.
        verified = await asyncio.shield(asyncio.wrap_future(self._check(digest, password, password_hash, trusted)))
        if verified and grants:
            self._throttle.succeeded(address=address, user=user)
            return principal_from_grants(name, grants)
        self._throttle.failed(address=address, user=user)
        raise AuthenticationError("The user name or password is incorrect.")

    def _grants(self, username: str) -> Sequence[Record]:
        for candidate in _name_forms(username):
            # One statement: no BEGIN and ROLLBACK around it (two round trips fewer on PostgreSQL).
            with single_read(self._engine) as conn:
                grants = store.user_grants(conn, username=candidate)
            if grants:
                return grants
        return ()

    def _check(self, digest: bytes, password: str, password_hash: str, trusted: bool) -> Future[bool]:
        """The verification of this credential against this hash. Single flight: many orchestrators starting at
        once with one credential wait for one Argon2 verification instead of each running their own."""
        key = (digest, password_hash)
        with self._lock:
            pending = self._pending.get(key)
            if pending is not None:
                return pending
            future = self._pool.submit(lambda: self._verify(digest, password, password_hash), trusted=trusted)
            self._pending[key] = future
        future.add_done_callback(lambda _done: self._settled(key))
        return future

    def _settled(self, key: tuple[bytes, str]) -> None:
        with self._lock:
            self._pending.pop(key, None)

    def _verify(self, digest: bytes, password: str, password_hash: str) -> bool:
        """Runs on a password-pool thread."""
        try:
            _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        if password_hash is not _DUMMY_HASH:
            self._remember(digest, password_hash)
        return True

    def _remembered(self, digest: bytes, password_hash: str) -> bool:
        cached = self._verified.get(digest)
        return cached is not None and cached[0] > time.monotonic() and cached[1] == password_hash

    def _remember(self, digest: bytes, password_hash: str) -> None:
        if self._cache_seconds <= 0:
            return
        with self._lock:
            if len(self._verified) > 10_000:
                self._verified.clear()
            self._verified[digest] = (time.monotonic() + self._cache_seconds, password_hash)

    def _digest(self, username: str, password: str) -> bytes:
        return hmac.new(self._key, f"{username}\0{password}".encode(), hashlib.sha256).digest()


def _check_password(password: str) -> None:
    if len(password) < 8:
        raise InvalidRequestError("A password must be at least 8 characters long.")
    if len(password) > 1024:
        raise InvalidRequestError("A password must be at most 1024 characters long.")


def _name_forms(username: str) -> list[str]:
    """The name as given, then without a Windows domain: clients send `DOMAIN\\user` or `user@domain`."""
    forms = [username]
    if "\\" in username:
        forms.append(username.split("\\", 1)[1])
    if "@" in username:
        forms.append(username.rsplit("@", 1)[0])
    return forms
