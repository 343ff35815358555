"""One watcher per server process that learns when job history changed, whichever process changed it, and tells
the console's open pages (docs/console.md, live updates). PostgreSQL: a dedicated connection LISTENs to
`orchjobs_history` (migration 0010's trigger notifies it at each commit that changed job history). SQLite: a
dedicated connection reads `PRAGMA data_version` every poll interval, which moves when another connection (of this
process or another) committed a write. Either way one connection and one thread a process, however many pages."""

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

log = logging.getLogger(__name__)
CHANNEL = "orchjobs_history"
# After a lost connection, wait this long before connecting again (a database that is down is not hammered).
RECONNECT_SECONDS = 2.0


class HistoryWatcher:
    """Calls `changed()` (from its own thread) after each change of job history; after a reconnection too, since
    a change may have been missed meanwhile."""

    def __init__(self, engine: Engine, changed: Callable[[], None], *, poll_seconds: float) -> None:
        self._engine = engine
        self._changed = changed
        self._poll_seconds = poll_seconds
        self._stopping = threading.Event()
        # Set once the first connection listens (or has read its first data_version): a change after it is seen.
        self.ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="orchjobs-history-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        first = True
        while not self._stopping.is_set():
            try:
                connection = self._connect()
            except Exception as exc:  # noqa: BLE001 - a database that does not answer: try again later
                log.warning("console live updates: cannot connect to the database (%s)", type(exc).__name__)
                self._stopping.wait(RECONNECT_SECONDS)
                continue
            try:
                if not first:
                    self._changed()
                first = False
                if self._engine.dialect.name == "postgresql":
                    self._listen(connection)
                else:
                    self._poll(connection)
            except Exception as exc:  # noqa: BLE001 - a lost connection: connect again
                log.warning("console live updates: lost the database connection (%s)", type(exc).__name__)
                self._stopping.wait(RECONNECT_SECONDS)
            finally:
                with contextlib.suppress(Exception):  # closing a broken connection
                    connection.close()

    def _connect(self) -> Any:
        """A connection of its own, outside the engine's pool, with the engine's arguments."""
        args, params = self._engine.dialect.create_connect_args(self._engine.url)
        connection = self._engine.dialect.loaded_dbapi.connect(*args, **params)
        if self._engine.dialect.name == "postgresql":
            connection.autocommit = True
        return connection

    def _listen(self, connection: Any) -> None:
        connection.execute(f"LISTEN {CHANNEL}")
        self.ready.set()
        while not self._stopping.is_set():
            # Returns after a second without a notification, so that stop() is noticed.
            if any(True for _ in connection.notifies(timeout=1.0, stop_after=1)):
                self._changed()

    def _poll(self, connection: Any) -> None:
        last = connection.execute("PRAGMA data_version").fetchone()[0]
        self.ready.set()
        while not self._stopping.wait(self._poll_seconds):
            version = connection.execute("PRAGMA data_version").fetchone()[0]
            if version != last:
                last = version
                self._changed()
