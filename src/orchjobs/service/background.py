"""The one small runner of background work in a server process: a daemon thread per task.

Tasks make themselves safe to run in every process at once: they take their work with a lease in the database
(`FOR UPDATE SKIP LOCKED` on PostgreSQL, BEGIN IMMEDIATE on SQLite), so with N processes each piece runs once.
"""

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from sqlalchemy import Engine

from orchjobs.settings import Settings


class BackgroundContext(Protocol):
    """What background work needs of the app's context (orchjobs.api.context.AppContext has it)."""

    @property
    def engine(self) -> Engine: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...


class Periodic:
    """Calls `task` every `interval` seconds until `stop()`, the first time after `first_delay` (default: one
    interval). A task that returns True has more work waiting and is called again at once. The task logs its own
    failures: one that raises ends the thread."""

    def __init__(
        self, *, name: str, interval: float, task: Callable[[], bool], first_delay: float | None = None
    ) -> None:
        self.interval = interval
        self.first_delay = interval if first_delay is None else first_delay
        self._task = task
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> "Periodic":
        self._thread.start()
        return self

    def stop(self, *, timeout: float = 10.0) -> None:
        """Ask the loop to end and wait for a call in progress to finish."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        # The first call waits (one interval unless told): a starting process has nothing urgent to do.
        delay = self.first_delay
        while not self._stopping.wait(delay):
            while self._task() and not self._stopping.is_set():
                pass
            delay = self.interval
