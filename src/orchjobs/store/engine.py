"""Engine factory and transactions: SQLite pragmas, PostgreSQL through psycopg 3."""

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from orchjobs.errors import StoreUnavailableError


def normalize_url(url: str) -> str:
    """`postgresql://` means psycopg 3 here (SQLAlchemy would otherwise pick psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine configured for the service's concurrency model on either database."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        # No pre-ping: it costs a round trip per checkout, on every request. A connection the server
        # dropped fails its request once (503) and is discarded; recycling keeps them from going stale.
        pool_recycle=1800,
        # Timestamps come back in UTC whatever the server's default time zone is.
        connect_args={"options": "-c timezone=UTC"},
    )


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite database URL; None for PostgreSQL and for a database in memory."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        return None
    name = parsed.database or ""
    if name in ("", ":memory:") or name.startswith("file:"):
        return None
    return Path(name)


def _create_private(path: Path) -> None:
    """Create the database file, empty (SQLite takes that as a new database), readable by its owner only, when it does
    not exist yet: SQLite would create it with the umask's mode, 0644 as a rule. SQLite gives the -wal and -shm files
    it makes later the database file's own mode. An existing file keeps its mode; any other failure (no such directory)
    is left for SQLite to report as it connects."""
    with suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _sqlite_engine(url: str) -> Engine:
    path = sqlite_file(url)
    if path is not None:
        _create_private(path)
    # isolation_level=None hands transaction control to us, so that writes can BEGIN IMMEDIATE.
    engine = create_engine(url, connect_args={"isolation_level": None, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL lets readers run beside the one writer.
        cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable across application crashes in WAL mode and much faster than FULL.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Writers queue for the lock instead of failing at once with "database is locked".
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock up front, so a read-then-write transaction cannot
        # deadlock against another writer half-way through.
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        if mode is not None:
            conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection inside a read transaction, rolled back at the end."""
    with _translated_errors(), engine.connect() as conn, conn.begin():
        yield conn


@contextmanager
def single_read(engine: Engine) -> Iterator[Connection]:
    """A connection for one read statement, which needs no transaction of its own: skipping
    BEGIN and ROLLBACK saves two round trips on PostgreSQL and two statements on SQLite."""
    with _translated_errors(), engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            # The driver already autocommits (isolation_level=None); just emit no BEGIN.
            conn.execution_options(sqlite_begin=None)
        else:
            conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


@contextmanager
def write_transaction(engine: Engine, *, commit_on: tuple[type[Exception], ...] = ()) -> Iterator[Connection]:
    """A connection inside a write transaction, committed when the block ends without an error, or with an error of
    a `commit_on` class: a refusal that records why it refused keeps that record, then propagates."""
    with _translated_errors(), engine.connect() as conn:
        conn.execution_options(sqlite_begin="IMMEDIATE")
        transaction = conn.begin()
        try:
            yield conn
        except commit_on:
            transaction.commit()
            raise
        except BaseException:
            transaction.rollback()
            raise
        transaction.commit()


@contextmanager
def _translated_errors() -> Iterator[None]:
    try:
        yield
    except OperationalError as exc:
        # Connection refused, database locked past the busy timeout, server gone, a transaction rolled back on a
        # conflict: the caller can retry; the SQL and driver text stay in the log, not in the response.
        error = StoreUnavailableError("The database is unavailable; try again.")
        # SQLSTATE class 40: PostgreSQL rolled the transaction back (deadlock, serialization failure).
        error.rolled_back_on_conflict = (getattr(exc.orig, "sqlstate", None) or "").startswith("40")
        raise error from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise StoreUnavailableError("The database connection was lost; try again.") from exc
        raise
