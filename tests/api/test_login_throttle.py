"""Brute-force defence through HTTP: failed logins are limited per address and per user name with 429 and
Retry-After, the real user still gets in, and malformed Basic credentials are 401s that count for nothing.

The app's clock is a SteppingClock, which the login limits count in: time moves only when a test moves it."""

import base64
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from orchjobs.api import paths
from orchjobs.service.users import create_user
from orchjobs.settings import Settings
from tests.conftest import SteppingClock, api_client
from tests.live import ADMIN

FAILURE_COUNT = f"{paths.ORCHESTRATOR_JOBS}/JobHistory/FailureCount"
REGISTER = "/KeyfactorAgents/Session/Register"
ALICE = ("alice", "alice-password")
ATTACKER = "203.0.113.66"


def _limited(settings: Settings, **limits: object) -> Settings:
    """`settings` with the login limits given; credentials are never remembered unless a test says so, so that
    every login below reaches the throttle."""
    return settings.model_copy(update={"auth_cache_seconds": 0, **limits})


def _from(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


class _Answer(Protocol):
    """A response of either HTTP client (the TestClient's, httpx's)."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    def json(self) -> Any: ...


def _is_throttled(response: _Answer, *, retry_after: int | None = None) -> None:
    assert response.status_code == 429
    headers = response.headers
    body = response.json()
    assert set(body) == {"ErrorCode", "Message"} and body["ErrorCode"] == "0xA0110015"
    assert int(headers["retry-after"]) >= 1
    assert f"try again in {headers['retry-after']} seconds" in body["Message"]
    if retry_after is not None:
        assert int(headers["retry-after"]) == retry_after


def test_wrong_passwords_from_one_address_get_429_with_retry_after(settings: Settings) -> None:
    clock = SteppingClock(datetime(2030, 1, 1, tzinfo=UTC))
    limited = _limited(settings, login_failures_per_address=5, login_failures_per_user=100)
    with api_client(limited, auth=None, clock=clock) as client:
        # Spread over many names, so only the address limit applies; the names do not exist.
        for attempt in range(5):
            assert client.get(FAILURE_COUNT, auth=(f"user{attempt}", "guess-1234")).status_code == 401
        # 5 failures per 300 s: a token every 60 s. The address is refused whatever it sends, right passwords too.
        _is_throttled(client.get(FAILURE_COUNT, auth=("user9", "guess-1234")), retry_after=60)
        _is_throttled(client.get(FAILURE_COUNT, auth=ADMIN), retry_after=60)
        assert "from this address" in client.get(FAILURE_COUNT, auth=ADMIN).json()["Message"]
        # Refused attempts are not counted: after the wait, one more attempt is checked.
        clock.advance(seconds=30)
        _is_throttled(client.get(FAILURE_COUNT, auth=ADMIN), retry_after=30)
        clock.advance(seconds=30)
        assert client.get(FAILURE_COUNT, auth=ADMIN).status_code == 200
        # A success takes no token, and the orchestrator protocol's Basic login is the same login, refused alike.
        assert client.post(REGISTER, auth=("orch", "guess-1234"), json={}).status_code == 401
        throttled = client.post(REGISTER, auth=("orch", "guess-5678"), json={})
        assert throttled.status_code == 429 and throttled.headers["retry-after"] == "60"
        # The address logged in as admin: it is trusted for admin, past its own limit.
        assert client.get(FAILURE_COUNT, auth=ADMIN).status_code == 200


def test_a_remembered_credential_passes_an_address_that_is_throttled(settings: Settings) -> None:
    # No address is trusted for a user here: only the remembered credential gets past the limit.
    limited = settings.model_copy(update={"login_failures_per_address": 3, "login_trust_hours": 0})
    with api_client(limited, auth=None, clock=SteppingClock()) as client:
        assert client.get(FAILURE_COUNT, auth=ADMIN).status_code == 200
        for attempt in range(3):
            assert client.get(FAILURE_COUNT, auth=("admin", f"guess-{attempt:04}")).status_code == 401
        _is_throttled(client.get(FAILURE_COUNT, auth=("admin", "guess-5678")))
        # Verified a moment ago: no hash to compute, nothing to guess.
        assert client.get(FAILURE_COUNT, auth=ADMIN).status_code == 200


def test_the_real_user_gets_in_from_another_address_while_an_attacker_guesses(
    settings: Settings, engine: Engine
) -> None:
    create_user(engine, username=ALICE[0], password=ALICE[1], roles=["Operator"], now=datetime.now(UTC))
    limited = _limited(settings, login_failures_per_user=3, trusted_proxies="testclient")
    with api_client(limited, auth=None, clock=SteppingClock()) as client:
        # Alice logged in from her desk earlier.
        assert client.get(FAILURE_COUNT, auth=ALICE, headers=_from("198.51.100.7")).status_code == 200
        for attempt in range(3):
            guess = (ALICE[0], f"guess-{attempt:04}")
            assert client.get(FAILURE_COUNT, auth=guess, headers=_from(ATTACKER)).status_code == 401
        # Alice's name has had its 3 failures: the attacker's address, which failed, is refused for it...
        refused = client.get(FAILURE_COUNT, auth=(ALICE[0], "guess-9999"), headers=_from(ATTACKER))
        _is_throttled(refused)
        assert "for this user name" in refused.json()["Message"]
        _is_throttled(client.get(FAILURE_COUNT, auth=ALICE, headers=_from(ATTACKER)))
        # ...while Alice gets in from her desk, even after a typo, and from a laptop that has not failed.
        assert client.get(FAILURE_COUNT, auth=(ALICE[0], "typo"), headers=_from("198.51.100.7")).status_code == 401
        assert client.get(FAILURE_COUNT, auth=ALICE, headers=_from("198.51.100.7")).status_code == 200
        assert client.get(FAILURE_COUNT, auth=ALICE, headers=_from("198.51.100.8")).status_code == 200
        # Another address gets one guess: guessing Alice's password takes a fresh address per guess.
        other = _from("203.0.113.67")
        assert client.get(FAILURE_COUNT, auth=(ALICE[0], "guess-5555"), headers=other).status_code == 401
        _is_throttled(client.get(FAILURE_COUNT, auth=(ALICE[0], "guess-6666"), headers=other))
        # Other users are not affected by Alice's limit, even from the attacker's address.
        assert client.get(FAILURE_COUNT, auth=ADMIN, headers=_from(ATTACKER)).status_code == 200


def test_x_forwarded_for_counts_only_from_a_trusted_proxy(settings: Settings) -> None:
    limited = _limited(settings, login_failures_per_address=2)
    with api_client(limited, auth=None, clock=SteppingClock()) as client:
        # Not from a trusted proxy: a fresh X-Forwarded-For per guess is still the one peer address.
        for attempt in range(2):
            response = client.get(FAILURE_COUNT, auth=("admin", "guess-1234"), headers=_from(f"192.0.2.{attempt}"))
            assert response.status_code == 401
        _is_throttled(client.get(FAILURE_COUNT, auth=ADMIN, headers=_from("192.0.2.200")))
    behind_proxy = limited.model_copy(update={"trusted_proxies": "testclient, 10.0.0.0/8"})
    with api_client(behind_proxy, auth=None, clock=SteppingClock()) as client:
        # From the proxy, the address it forwarded counts, read past the trusted proxies from the right; what the
        # client wrote further left counts for nothing.
        for attempt in range(2):
            chain = _from(f"192.0.2.{attempt}, 192.0.2.50, 10.1.2.3")
            assert client.get(FAILURE_COUNT, auth=("admin", "guess-1234"), headers=chain).status_code == 401
        _is_throttled(client.get(FAILURE_COUNT, auth=ADMIN, headers=_from("192.0.2.99, 192.0.2.50")))
        assert client.get(FAILURE_COUNT, auth=ADMIN, headers=_from("192.0.2.51")).status_code == 200
        # IPv6 clients count by /64: the next address in the network is the same client.
        for attempt in range(2):
            v6 = _from(f"2001:db8:1:2::{attempt + 1}")
            assert client.get(FAILURE_COUNT, auth=("admin", "guess-1234"), headers=v6).status_code == 401
        _is_throttled(client.get(FAILURE_COUNT, auth=ADMIN, headers=_from("2001:db8:1:2:ffff::1")))
        assert client.get(FAILURE_COUNT, auth=ADMIN, headers=_from("2001:db8:1:3::1")).status_code == 200


def _basic(raw: bytes) -> bytes:
    return b"Basic " + base64.b64encode(raw)


# Each is 401 with Command's body and a Basic challenge, as a wrong password is: the credentials are not valid.
MALFORMED = {
    "NUL in the user name": _basic(b"ad\x00min:admin-password"),
    "NUL in the password": _basic(b"admin:admin-\x00password"),
    "no colon": _basic(b"admin admin-password"),
    "nothing encoded": b"Basic ",
    "no credentials at all": b"Basic",
    "bad base64": b"Basic !!!notbase64",
    "base64 without its padding": b"Basic " + base64.b64encode(b"admin:admin-password").rstrip(b"="),
    "not UTF-8": _basic(b"\xff\xfeadmin:\xc3\x28password"),
    "not ASCII": "Basic YWRtaW46é".encode("latin-1"),
    "10 KB of text": b"Basic " + b"x" * 10_240,
    "10 KB of base64": _basic(b"admin:" + b"p" * 10_240),
    "a raw NUL": b"Basic YWRtaW46\x00YWRtaW4=",
}


@pytest.mark.parametrize("header", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_basic_credentials_are_401_and_count_for_nothing(settings: Settings, header: bytes) -> None:
    limited = _limited(settings, login_failures_per_address=1)
    with api_client(limited, auth=None, clock=SteppingClock()) as client:
        for path in (FAILURE_COUNT, f"{paths.ORCHESTRATOR_JOBS}/JobHistory"):
            response = client.get(path, headers={b"Authorization": header})
            assert response.status_code == 401
            assert set(response.json()) == {"ErrorCode", "Message"}
            assert response.json()["ErrorCode"] == "0xA0110011"
            assert response.headers["www-authenticate"].startswith("Basic")
        registered = client.post(REGISTER, headers={b"Authorization": header}, json={})
        assert registered.status_code == 401
        # Nothing was checked, so nothing was counted: the one failure the address may make is still to come.
        assert client.get(FAILURE_COUNT, auth=ADMIN).status_code == 200


def test_the_default_limits_leave_ordinary_use_alone(client: TestClient) -> None:
    for _call in range(50):
        assert client.get(FAILURE_COUNT).status_code == 200
