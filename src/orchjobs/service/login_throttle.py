"""Failed logins, counted per source address and per user name, so that guessing passwords is slow everywhere while
the real user still gets in (docs/security.md, "Brute-force defence").

- Each failed login takes a token from its address's bucket and from its user name's bucket. A bucket holds `limit`
  tokens and refills at `limit` per window: a burst of `limit` failures, then one per window/limit.
- An address whose bucket is empty is refused (429) until a token is back, whatever names it tries.
- A user name whose bucket is empty refuses only addresses that failed (as anyone) within the window. An attacker's
  address has failed; the real user's has not, so the user still gets in, while guessing that user's password takes
  a fresh address per guess and window.
- An address that logged in as a user is trusted for that user for `trust_seconds`, past both limits, until it fails
  as that user `per_user` times: a user who mistypes during an attack, or sits behind the attacker's NAT, gets in.
- A credential the Authenticator remembers (verified within ORCHJOBS_AUTH_CACHE_SECONDS) never reaches this.

Refused attempts are not counted, so a Retry-After is the truth. The state is in memory, per server process (with N
processes an attacker gets N times the budget), and bounded: each table keeps its `max_entries` most recently used
entries, so a flood of addresses or names costs a fixed amount of memory and forgets the oldest first.
"""

import ipaddress
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from orchjobs.errors import LoginThrottledError

log = logging.getLogger(__name__)

MAX_ENTRIES = 50_000
# IPv6 users get a /64 each: counting single IPv6 addresses would hand an attacker 2**64 budgets.
_IPV6_PREFIX = 64


@dataclass(frozen=True)
class LoginLimits:
    per_address: int
    per_user: int
    window_seconds: float
    trust_seconds: float


class _Bucket:
    """A token bucket (`tokens` as of `at`) and when its key last failed."""

    __slots__ = ("at", "last_failure", "tokens")

    def __init__(self, capacity: int, now: float) -> None:
        self.tokens = float(capacity)
        self.at = now
        self.last_failure = -math.inf

    def refill(self, now: float, *, capacity: int, rate: float) -> None:
        self.tokens = min(float(capacity), self.tokens + max(0.0, now - self.at) * rate)
        self.at = now

    def seconds_to_token(self, rate: float) -> float:
        return max(0.0, (1.0 - self.tokens) / rate)


@dataclass
class _Trust:
    """An address logged in as a user `at`, and has failed as that user `failures` times since."""

    at: float
    failures: int = 0


K = TypeVar("K")
V = TypeVar("V")


class _Table(Generic[K, V]):
    """A dict that keeps only its `size` most recently used entries."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def pop(self, key: K) -> None:
        self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)


class LoginThrottle:
    """The two limits and the trust of addresses that logged in; `clock` gives seconds (the app's clock in tests)."""

    def __init__(
        self, limits: LoginLimits, *, clock: Callable[[], float] = time.monotonic, max_entries: int = MAX_ENTRIES
    ) -> None:
        self._limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._addresses: _Table[str, _Bucket] = _Table(max_entries)
        self._users: _Table[str, _Bucket] = _Table(max_entries)
        self._trust: _Table[tuple[str, str], _Trust] = _Table(max_entries)

    def admit(self, *, address: str, user: str) -> bool:
        """Whether `address` may have a password for `user` checked: True when the address is trusted for the user,
        False when it is merely allowed; LoginThrottledError (with the seconds to wait) when it is refused."""
        address = address_key(address)
        now = self._clock()
        limits = self._limits
        with self._lock:
            if self._trusted(address, user, now):
                return True
            by_address = self._bucket(self._addresses, address, limits.per_address, now)
            if by_address is not None and by_address.tokens < 1:
                wait = _whole(by_address.seconds_to_token(self._rate(limits.per_address)))
                raise LoginThrottledError(
                    f"Too many failed logins from this address; try again in {wait} seconds.",
                    retry_after_seconds=wait,
                )
            by_user = self._bucket(self._users, user, limits.per_user, now)
            clean_at = by_address.last_failure + limits.window_seconds if by_address is not None else -math.inf
            if by_user is not None and by_user.tokens < 1 and clean_at > now:
                wait = _whole(min(by_user.seconds_to_token(self._rate(limits.per_user)), clean_at - now))
                raise LoginThrottledError(
                    f"Too many failed logins for this user name; try again in {wait} seconds.",
                    retry_after_seconds=wait,
                )
            return False

    def failed(self, *, address: str, user: str) -> None:
        """A password was checked and was wrong (or the user does not exist)."""
        address = address_key(address)
        now = self._clock()
        limits = self._limits
        with self._lock:
            for table, key, limit, what in (
                (self._addresses, address, limits.per_address, "from %s"),
                (self._users, user, limits.per_user, "for user name %r"),
            ):
                bucket = self._bucket(table, key, limit, now) or _Bucket(limit, now)
                had_token = bucket.tokens >= 1
                bucket.tokens = max(0.0, bucket.tokens - 1)
                bucket.last_failure = now
                table.put(key, bucket)
                if had_token and bucket.tokens < 1:
                    log.warning("too many failed logins " + what + "; refusing more for a while", key)
            trust = self._trust.get((address, user))
            if trust is not None:
                trust.failures += 1
                if trust.failures >= limits.per_user:
                    self._trust.pop((address, user))

    def succeeded(self, *, address: str, user: str) -> None:
        """A password was checked and was right: the address is trusted for the user from now on. The failures
        counted stay, so that an attacker with an account of its own cannot wipe its address's record."""
        with self._lock:
            self._trust.put((address_key(address), user), _Trust(at=self._clock()))

    def _trusted(self, address: str, user: str, now: float) -> bool:
        trust = self._trust.get((address, user))
        return trust is not None and now - trust.at < self._limits.trust_seconds

    def _bucket(self, table: _Table[str, _Bucket], key: str, limit: int, now: float) -> _Bucket | None:
        bucket = table.get(key)
        if bucket is not None:
            bucket.refill(now, capacity=limit, rate=self._rate(limit))
        return bucket

    def _rate(self, limit: int) -> float:
        return limit / self._limits.window_seconds


def address_key(address: str) -> str:
    """What one address counts as: an IPv4 address as itself (also when written IPv4-mapped), an IPv6 address as its
    /64 network, anything else (a test client's name) as given."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, _IPV6_PREFIX), strict=False))
    return str(parsed)


def _whole(seconds: float) -> int:
    """Retry-After is in whole seconds; round up, and never say 0 (that invites a retry that is refused again)."""
    return max(1, math.ceil(seconds))
