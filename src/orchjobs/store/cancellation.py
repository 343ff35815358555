"""Cancelling a request's statements from outside: when its client has gone, the database stops working for it.

The request's thread runs the statements; another (the event loop, watching the connection) cancels. A
CancelToken, set in a context variable for the request, is how they meet: the engine attaches the DBAPI connection
each reading statement runs on, and detaches it when the connection goes back to the pool, so a cancel never
reaches a connection another request has taken since. Writes are never cancelled: a change that was sent is made or
refused whole, whether or not its client waits for the answer.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from typing import Any


class CancelToken:
    """The cancellation of one request's reads: `cancel()` stops the statement running for it, if any, and makes
    `cancelled` true so that its next one is not started."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connection: Any = None
        self.cancelled = False

    def attach(self, dbapi_connection: Any) -> None:
        with self._lock:
            self._connection = dbapi_connection

    def detach(self, dbapi_connection: Any) -> None:
        with self._lock:
            if self._connection is dbapi_connection:
                self._connection = None

    def cancel(self) -> None:
        """Stop the running statement: it fails with QueryCanceled (PostgreSQL) or "interrupted" (SQLite). Blocks
        for a round trip to PostgreSQL; call it off the event loop."""
        with self._lock:
            self.cancelled = True
            connection = self._connection
            if connection is None:
                return
            # Under the lock, so that the connection cannot go back to the pool (detach waits) half-way. A
            # connection closed meanwhile (invalidated) runs nothing that needs stopping.
            with suppress(Exception):
                if hasattr(connection, "cancel_safe"):
                    connection.cancel_safe(timeout=5)  # psycopg 3: its own cancel protocol, with a timeout
                else:
                    connection.interrupt()  # sqlite3: thread-safe, a no-op when no statement runs


_current: ContextVar[CancelToken | None] = ContextVar("orchjobs_cancel_token", default=None)


def current_token() -> CancelToken | None:
    return _current.get()


@contextmanager
def cancellable(token: CancelToken) -> Iterator[None]:
    """Run the block (a request) with `token` as the cancel token of its reads; threads it starts (a sync endpoint
    in the thread pool) inherit it with the context."""
    reset = _current.set(token)
    try:
        yield
    finally:
        _current.reset(reset)
