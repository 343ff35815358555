"""The password pool: a bounded queue in front of its own threads, with addresses trusted for their user served
first (the HTTP tests in tests/test_login_burst.py cover what a caller sees)."""

import threading
from collections.abc import Callable

import pytest

from orchjobs.errors import PasswordCheckBusyError
from orchjobs.service.password_pool import PasswordPool


def test_a_full_queue_refuses_at_once_and_trusted_checks_go_first() -> None:
    pool = PasswordPool(workers=1, queue=1)
    started, release = threading.Event(), threading.Event()
    order: list[str] = []

    def blocking() -> bool:
        started.set()
        release.wait(10)
        return True

    def check(name: str) -> Callable[[], bool]:
        def run() -> bool:
            order.append(name)
            return True

        return run

    try:
        running = pool.submit(blocking, trusted=False)
        assert started.wait(10)
        waiting = pool.submit(check("other"), trusted=False)
        with pytest.raises(PasswordCheckBusyError) as refused:
            pool.submit(check("refused"), trusted=False)
        assert refused.value.retry_after_seconds >= 1
        # A check for an address trusted for its user has a queue of its own, served first.
        trusted = pool.submit(check("trusted"), trusted=True)
        release.set()
        assert running.result(10) and trusted.result(10) and waiting.result(10)
        assert order == ["trusted", "other"]
    finally:
        release.set()
        pool.close()


def test_closing_cancels_the_checks_still_waiting() -> None:
    pool = PasswordPool(workers=1, queue=4)
    started, release = threading.Event(), threading.Event()

    def blocking() -> bool:
        started.set()
        release.wait(10)
        return False

    running = pool.submit(blocking, trusted=False)
    assert started.wait(10)
    waiting = pool.submit(lambda: True, trusted=False)
    pool.close()
    release.set()
    assert waiting.cancelled()
    assert running.result(10) is False
    with pytest.raises(PasswordCheckBusyError):
        pool.submit(lambda: True, trusted=True)
