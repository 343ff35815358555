"""One watcher per server process that learns when job history changed, whichever process changed it, and tells
the console's open pages (docs/console.md, live updates). A dedicated connection reads, every poll interval, a value
that moves when any connection of any process changed job history: on PostgreSQL the last value of the sequence
`orchjobs_history_changes`, which the triggers on job_history advance (migrations 0010 and 0012); on SQLite `PRAGMA
data_version`, which moves when another connection committed a write. Either way one connection and one thread a
process, however many pages, and one small read a poll interval."""

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

log = logging.getLogger(__name__)
SEQUENCE = "orchjobs_history_changes"
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

    def _poll(self, connection: Any) -> None:
        read = self._sequence if self._engine.dialect.name == "postgresql" else self._data_version
        last = read(connection)
        self.ready.set()
        settling = False
        while not self._stopping.wait(self._poll_seconds):
            value = read(connection)
            if value != last:
                last = value
                settling = True
                self._changed()
            elif settling:
                # PostgreSQL: the sequence moves as the changing statement ends, a moment before its transaction
                # commits; a page that reloaded in that moment did not see the change, so tell the pages once more.
                settling = False
                self._changed()

    @staticmethod
    def _sequence(connection: Any) -> Any:
        return connection.execute(f"SELECT last_value, is_called FROM {SEQUENCE}").fetchone()

    @staticmethod
    def _data_version(connection: Any) -> Any:
        return connection.execute("PRAGMA data_version").fetchone()[0]
