"""Engine factory and transactions: SQLite pragmas, PostgreSQL through psycopg 3."""

import os
import sqlite3
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from orchjobs.errors import StatementTimeoutError, StoreUnavailableError
from orchjobs.store.cancellation import current_token
from orchjobs.store.dialects import install_sqlite_functions

# Which time budget a connection's statements run under: "read" unless a write transaction says "write" or an export
# "export"; None lifts it (migrations, housekeeping). Kept in the connection's execution options under this key.
Budget = Literal["read", "write", "export"] | None
_BUDGET = "orchjobs_budget"
# Set on a write transaction's connection: a change is never cancelled half-way because its client went away.
_WRITING = "orchjobs_writing"
_BUDGETS = "orchjobs_budgets"
# SQLite calls the progress handler every this many virtual-machine instructions: well under a millisecond apart.
_PROGRESS_STEPS = 10_000


@dataclass(frozen=True)
class StatementBudgets:
    """How long one statement may run, in seconds, on a read and on a write; None is no limit. A write gets its own,
    larger budget: a bulk acknowledge of a million rows is legitimate and takes seconds."""

    read_seconds: float | None = None
    write_seconds: float | None = None
    # An export streams every matching row from one cursor: the budget of each batch it fetches (store_rows).
    export_seconds: float | None = None

    def seconds(self, budget: Budget) -> float | None:
        if budget is None:
            return None
        if budget == "export":
            return self.export_seconds
        return self.read_seconds if budget == "read" else self.write_seconds


def normalize_url(url: str) -> str:
    """`postgresql://` means psycopg 3 here (SQLAlchemy would otherwise pick psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, *, pool_size: int = 10, budgets: StatementBudgets | None = None) -> Engine:
    """An engine configured for the service's concurrency model on either database; with `budgets`, a statement
    that runs past its budget is stopped in the database and reported as StatementTimeoutError."""
    url = normalize_url(url)
    budgets = budgets or StatementBudgets()
    if url.startswith("sqlite"):
        return _sqlite_engine(url, budgets)
    # Timestamps come back in UTC whatever the server's default time zone is. The read budget is every session's
    # statement_timeout, so that reads (most statements, many outside any transaction) cost nothing more; a write
    # transaction raises it for itself with SET LOCAL.
    options = f"-c timezone=UTC -c statement_timeout={_milliseconds(budgets.read_seconds)}"
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        # No pre-ping: it costs a round trip per checkout, on every request. A connection the server
        # dropped fails its request once (503) and is discarded; recycling keeps them from going stale.
        pool_recycle=1800,
        connect_args={"options": options},
        execution_options={_BUDGETS: budgets},
    )
    _install_cancellation(engine)
    return engine


def _milliseconds(seconds: float | None) -> int:
    """PostgreSQL's statement_timeout for a budget: 0 is none."""
    return 0 if seconds is None else max(1, round(seconds * 1000))


def lift_budget(conn: Connection) -> None:
    """Let this connection's statements run as long as they take, until it goes back to the pool: for migrations
    and housekeeping, which are no one's request. On PostgreSQL inside a transaction only (SET LOCAL)."""
    conn.execution_options(**{_BUDGET: None})
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL statement_timeout = 0")


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


class _Deadline:
    """The progress handler of one SQLite connection: it interrupts the running statement once its deadline has
    passed (SQLite then raises "interrupted")."""

    def __init__(self) -> None:
        self.at: float | None = None

    def __call__(self) -> int:
        return 1 if self.at is not None and time.monotonic() > self.at else 0


def _sqlite_engine(url: str, budgets: StatementBudgets) -> Engine:
    path = sqlite_file(url)
    if path is not None:
        _create_private(path)
    # isolation_level=None hands transaction control to us, so that writes can BEGIN IMMEDIATE.
    engine = create_engine(
        url,
        connect_args={"isolation_level": None, "check_same_thread": False},
        execution_options={_BUDGETS: budgets},
    )
    if budgets.read_seconds is not None or budgets.write_seconds is not None:
        _install_deadlines(engine, budgets)
    _install_cancellation(engine)

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
        install_sqlite_functions(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock up front, so a read-then-write transaction cannot
        # deadlock against another writer half-way through.
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        if mode is not None:
            # On the driver: BEGIN needs none of SQLAlchemy's per-statement work (every write transaction makes one).
            # Its errors (locked past the busy timeout) are raised as SQLAlchemy's, as any statement's are.
            statement = f"BEGIN {mode}"
            try:
                conn.connection.dbapi_connection.execute(statement)  # type: ignore[union-attr]
            except sqlite3.Error as exc:
                raise DBAPIError.instance(statement, (), exc, sqlite3.Error) from exc

    return engine


def _install_deadlines(engine: Engine, budgets: StatementBudgets) -> None:
    """Give each SQLite connection a progress handler, and each statement a deadline from its connection's budget;
    the deadline covers fetching the statement's rows too, and is cleared when the connection goes back to the
    pool."""

    @event.listens_for(engine, "connect")
    def _handler(dbapi_connection: Any, record: Any) -> None:
        deadline = _Deadline()
        record.info["orchjobs_deadline"] = deadline
        dbapi_connection.set_progress_handler(deadline, _PROGRESS_STEPS)

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn: Connection, *_args: Any) -> None:
        deadline: _Deadline | None = conn.info.get("orchjobs_deadline")
        if deadline is not None:
            seconds = budgets.seconds(conn.get_execution_options().get(_BUDGET, "read"))
            deadline.at = None if seconds is None else time.monotonic() + seconds

    # The full three-argument signature: with two, SQLAlchemy takes the listener for its pre-2.0 form and warns on
    # every check-in, and where warnings are errors (the test suite) the pool then drops each connection it gets back.
    @event.listens_for(engine.pool, "reset")
    def _clear(_dbapi_connection: Any, record: Any, _reset_state: Any) -> None:
        deadline: _Deadline | None = record.info.get("orchjobs_deadline")
        if deadline is not None:
            deadline.at = None


def _install_cancellation(engine: Engine) -> None:
    """Attach each reading statement's connection to the request's cancel token (store.cancellation), and detach
    it when the connection goes back to the pool. A read of a request already cancelled is not started."""

    @event.listens_for(engine, "before_cursor_execute")
    def _attach(conn: Connection, *_args: Any) -> None:
        token = current_token()
        options = conn.get_execution_options()
        if token is None or options.get(_WRITING, False) or options.get(_BUDGET, "read") != "read":
            return
        if token.cancelled:
            raise StatementTimeoutError("read", None)
        token.attach(conn.connection.dbapi_connection)

    @event.listens_for(engine.pool, "reset")
    def _detach(dbapi_connection: Any, _record: Any, _reset_state: Any) -> None:
        token = current_token()
        if token is not None:
            token.detach(dbapi_connection)


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection inside a read transaction, rolled back at the end."""
    with _translated_errors(engine, "read"), engine.connect() as conn, conn.begin():
        yield conn


@contextmanager
def export_read(engine: Engine) -> Iterator[Connection]:
    """A connection inside a read transaction for streaming many rows from one cursor, under the export budget. On
    PostgreSQL the budget is the transaction's statement_timeout, which each FETCH of a server-side cursor gets anew;
    on SQLite, where a statement's deadline covers fetching all its rows, `renew_budget` restarts it per batch.
    Not attached to the request's cancel token: a streamed answer ends by closing its generator, which ends this."""
    with _translated_errors(engine, "export"), engine.connect() as conn:
        conn.execution_options(**{_BUDGET: "export"})
        with conn.begin():
            seconds = _budgets(engine).export_seconds
            if conn.dialect.name == "postgresql" and seconds != _budgets(engine).read_seconds:
                conn.exec_driver_sql(f"SET LOCAL statement_timeout = {_milliseconds(seconds)}")
            yield conn


def renew_budget(conn: Connection) -> None:
    """Give the running statement its budget afresh from now (SQLite: its deadline covers fetching every row, and an
    export fetches batch after batch, as fast as its client reads). PostgreSQL times each FETCH by itself."""
    deadline: _Deadline | None = conn.info.get("orchjobs_deadline")
    if deadline is not None and deadline.at is not None:
        seconds = _budgets(conn.engine).seconds(conn.get_execution_options().get(_BUDGET, "read"))
        deadline.at = None if seconds is None else time.monotonic() + seconds


@contextmanager
def single_read(engine: Engine) -> Iterator[Connection]:
    """A connection for one read statement, which needs no transaction of its own: skipping
    BEGIN and ROLLBACK saves two round trips on PostgreSQL and two statements on SQLite."""
    with _translated_errors(engine, "read"), engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            # The driver already autocommits (isolation_level=None); just emit no BEGIN.
            conn.execution_options(sqlite_begin=None)
        else:
            conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


@contextmanager
def write_transaction(
    engine: Engine, *, commit_on: tuple[type[Exception], ...] = (), brief: bool = False, one_statement: bool = False
) -> Iterator[Connection]:
    """A connection inside a write transaction, committed when the block ends without an error, or with an error of
    a `commit_on` class: a refusal that records why it refused keeps that record, then propagates.

    Its statements run under the write budget, unless the change is `brief`: a few rows by key, as each call of the
    orchestrator protocol makes. A brief change keeps the read budget, which on PostgreSQL saves the round trip of
    raising it (SET LOCAL), about a quarter of a protocol call's statements.

    A change made by `one_statement` (atomic by itself) runs without BEGIN and COMMIT on PostgreSQL: two round trips
    fewer. SQLite still takes the write lock first."""
    budget: Budget = "read" if brief else "write"
    with _translated_errors(engine, budget), _writing(engine, budget).connect() as conn:
        if one_statement and conn.dialect.name == "postgresql":
            # The driver's own switch, set and reset here: SQLAlchemy's isolation level would cost more Python than
            # the two round trips save.
            driver = conn.connection.dbapi_connection
            driver.autocommit = True  # type: ignore[union-attr]
            try:
                yield conn
            finally:
                driver.autocommit = False  # type: ignore[union-attr]
            return
        transaction = conn.begin()
        try:
            if not brief and conn.dialect.name == "postgresql":
                seconds = _budgets(engine).write_seconds
                if seconds != _budgets(engine).read_seconds:
                    conn.exec_driver_sql(f"SET LOCAL statement_timeout = {_milliseconds(seconds)}")
            yield conn
        except commit_on:
            transaction.commit()
            raise
        except BaseException:
            transaction.rollback()
            raise
        transaction.commit()


_WRITING_ENGINES: "weakref.WeakKeyDictionary[Engine, dict[Budget, Engine]]" = weakref.WeakKeyDictionary()


def _writing(engine: Engine, budget: Budget) -> Engine:
    """The engine with a write transaction's execution options, made once per engine and budget: options set on each
    connection cost a protocol call measurable time."""
    variants = _WRITING_ENGINES.setdefault(engine, {})
    found = variants.get(budget)
    if found is None:
        found = variants[budget] = engine.execution_options(
            sqlite_begin="IMMEDIATE", **{_BUDGET: budget, _WRITING: True}
        )
    return found


def _budgets(engine: Engine) -> StatementBudgets:
    budgets: StatementBudgets = engine.get_execution_options().get(_BUDGETS) or StatementBudgets()
    return budgets


def _over_budget(exc: OperationalError) -> bool:
    """The database stopped a statement at its budget or on a cancel: SQLSTATE 57014 on PostgreSQL
    (statement_timeout, a cancel request), "interrupted" on SQLite (the progress handler, interrupt())."""
    orig = exc.orig
    return getattr(orig, "sqlstate", None) == "57014" or str(orig) == "interrupted"


@contextmanager
def _translated_errors(engine: Engine, budget: Budget) -> Iterator[None]:
    try:
        yield
    except OperationalError as exc:
        if _over_budget(exc):
            token = current_token()
            seconds = None if token is not None and token.cancelled else _budgets(engine).seconds(budget)
            raise StatementTimeoutError(budget or "read", seconds) from exc
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
