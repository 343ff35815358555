"""The threads that verify passwords: a few of their own, with a bounded queue, apart from the threads that serve
requests.

An Argon2 verification takes a fifth of a second of CPU on purpose (and, at the hash's parallelism, several cores).
Run in the shared request threadpool, a burst of bad logins took every thread and every core, and other users'
requests waited behind it. Here a burst waits in this queue, at most `workers` verifications run at once, and when
the queue is full a check is refused at once (PasswordCheckBusyError, 503 with Retry-After) rather than piling up.
Checks for an address trusted for its user (it logged in as that user before) wait in a queue of their own, served
first, so that a flood from elsewhere does not keep the real user out. On Linux the workers, and the threads Argon2
starts for its lanes, run at a lower CPU priority (nice +10), so the requests that need no hash get the CPU first.
"""

import math
import os
import sys
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from time import perf_counter
from typing import TypeAlias

from orchjobs.errors import PasswordCheckBusyError

_NICE = 10
# What a verification is taken to cost until one has been measured (the service's parameters, on a small machine).
_FIRST_ESTIMATE_SECONDS = 0.2

_Job: TypeAlias = tuple[Future[bool], Callable[[], bool]]


class PasswordPool:
    """`workers` threads, started at the first check, and at most `queue` checks waiting for them (per queue)."""

    def __init__(self, *, workers: int, queue: int) -> None:
        self._workers = workers
        self._queue = queue
        self._cond = threading.Condition()
        self._trusted: deque[_Job] = deque()
        self._others: deque[_Job] = deque()
        self._threads: list[threading.Thread] = []
        self._running = 0
        self._closed = False
        self._seconds = _FIRST_ESTIMATE_SECONDS

    def submit(self, check: Callable[[], bool], *, trusted: bool) -> Future[bool]:
        """A future of `check()`, run on a worker; PasswordCheckBusyError when its queue is full."""
        future: Future[bool] = Future()
        with self._cond:
            waiting = len(self._trusted) + len(self._others)
            if trusted:
                full = len(self._trusted) >= self._queue + self._workers
            else:
                full = self._running + waiting >= self._workers + self._queue
            if full or self._closed:
                wait = max(1, math.ceil((waiting + 1) * self._seconds / self._workers))
                raise PasswordCheckBusyError(
                    f"Too many password checks are waiting; try again in {wait} seconds.", retry_after_seconds=wait
                )
            (self._trusted if trusted else self._others).append((future, check))
            if len(self._threads) < self._workers:
                thread = threading.Thread(target=self._work, name=f"password-check-{len(self._threads)}", daemon=True)
                self._threads.append(thread)
                thread.start()
            self._cond.notify()
        return future

    def close(self) -> None:
        """Stop the workers once they finish the check in hand; checks still waiting are cancelled."""
        with self._cond:
            self._closed = True
            waiting = [*self._trusted, *self._others]
            self._trusted.clear()
            self._others.clear()
            self._cond.notify_all()
        for future, _check in waiting:
            future.cancel()

    def _work(self) -> None:
        _lower_priority()
        while True:
            with self._cond:
                while not (self._trusted or self._others or self._closed):
                    self._cond.wait()
                if self._closed:
                    return
                future, check = (self._trusted or self._others).popleft()
                self._running += 1
            started = perf_counter()
            try:
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(check())
                    except BaseException as exc:  # the waiting request re-raises it
                        future.set_exception(exc)
            finally:
                with self._cond:
                    self._running -= 1
                    # A moving average, for the Retry-After of a refusal.
                    self._seconds = 0.8 * self._seconds + 0.2 * (perf_counter() - started)


def _lower_priority() -> None:
    """Nice this thread (Linux: per thread, and inherited by the threads it starts); elsewhere, leave it."""
    if sys.platform != "linux":
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _NICE)
    except OSError:
        return
