"""The login throttle's memory is bounded: each table keeps its most recently used entries and forgets the oldest."""

import pytest

from orchjobs.errors import LoginThrottledError
from orchjobs.service.login_throttle import LoginLimits, LoginThrottle, address_key

LIMITS = LoginLimits(per_address=1, per_user=100, window_seconds=60, trust_seconds=3600)


def test_the_oldest_entries_are_forgotten_first() -> None:
    throttle = LoginThrottle(LIMITS, clock=lambda: 0.0, max_entries=2)
    for address in ("192.0.2.1", "192.0.2.2"):
        throttle.failed(address=address, user=f"user-{address}")
    with pytest.raises(LoginThrottledError):
        throttle.admit(address="192.0.2.1", user="anyone")  # used last now; 192.0.2.2 is the oldest
    throttle.failed(address="192.0.2.3", user="someone")
    assert throttle.admit(address="192.0.2.2", user="anyone") is False
    for address in ("192.0.2.1", "192.0.2.3"):
        with pytest.raises(LoginThrottledError):
            throttle.admit(address=address, user="anyone")


def test_addresses_count_as_one_client_each() -> None:
    assert address_key("192.0.2.1") == "192.0.2.1"
    assert address_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert address_key("2001:db8:0:1:aaaa::1") == address_key("2001:DB8:0:1::2") == "2001:db8:0:1::/64"
    assert address_key("testclient") == "testclient"
