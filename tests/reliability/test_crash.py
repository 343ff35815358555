"""A real server killed with SIGKILL in the middle of a large acknowledge, then started again on the same database:
the acknowledge happened all or nothing, and the failure count agrees with the rows.

The history is seeded within the age-out window, so the acknowledge by the failure count's own query takes every
run the count counts: about 13,000 rows, long enough (half a second to a second) to be caught in the act. The server
is killed once the database shows the statement running (PostgreSQL: pg_stat_activity) or the write lock held
(SQLite), and the test checks that no answer came back before the kill, else it tested nothing."""

import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import make_url

from orchjobs.domain.jobs import JobStatus
from orchjobs.service.seeding import seed_database
from orchjobs.store.engine import make_engine
from orchjobs.store.tables import job_history
from tests.live import ADMIN, API_HEADERS, running_server, server_process

pytestmark = pytest.mark.reliability

HISTORY = 50_000
NOTE = "crash test " + "n" * 3989  # the longest note: more to write per row, a longer statement to interrupt
CAUGHT_WITHIN_SECONDS = 20.0
# On SQLite the write lock must be seen held this long: a transaction of the sweeper's is over in milliseconds.
SQLITE_LOCK_SECONDS = 0.05
API = "/KeyfactorAPI/OrchestratorJobs"


def test_a_killed_acknowledge_is_all_or_nothing(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    try:
        # Over the last five days: all of it inside the failure count's window (7 days by default).
        seed_database(engine, agents=10, history=HISTORY, seed=11, days=5)
        before = _history(engine)
        environment = {"ORCHJOBS_SWEEP_SECONDS": "3600"}  # no sweeper write to take for the acknowledge's
        with server_process(database_url, tmp_path, name="killed", environment=environment) as (process, base_url):
            failures = _client(base_url).get(f"{API}/JobHistory/FailureCount").raise_for_status().json()
            assert failures["Count"] > 10_000
            answer: list[Any] = []
            request = threading.Thread(target=_acknowledge, args=(base_url, failures["Query"], answer))
            request.start()
            backend = _wait_until_underway(engine, database_url, request)
            process.send_signal(signal.SIGKILL)
            process.wait()
            request.join()
        assert isinstance(answer[0], httpx.TransportError), f"the acknowledge finished before the kill: {answer}"
        if backend is not None:  # PostgreSQL: the killed server's transaction ends (rolled back) on its own
            _wait_until_gone(engine, backend)

        with running_server(database_url, tmp_path, name="restarted") as base_url:
            after_count = _client(base_url).get(f"{API}/JobHistory/FailureCount").raise_for_status().json()
        after = _history(engine)
    finally:
        engine.dispose()

    changed = {row_id: row for row_id, row in after.items() if before[row_id] != row}
    if not changed:  # nothing
        assert after_count["Count"] == failures["Count"]
        return
    # Everything, as one acknowledgement.
    assert after_count["Count"] == 0
    assert len(changed) == failures["Count"]
    assert {(row.status, row.acknowledged_by, row.acknowledge_note) for row in changed.values()} == {
        (int(JobStatus.ACKNOWLEDGED), ADMIN[0], NOTE)
    }
    assert len({row.acknowledged_at for row in changed.values()}) == 1


def _client(base_url: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers=API_HEADERS, auth=ADMIN, timeout=60)


def _acknowledge(base_url: str, query: str, answer: list[Any]) -> None:
    """Sends the acknowledge; `answer` gets the response, or the error the kill gives the client."""
    try:
        answer.append(_client(base_url).post(f"{API}/Acknowledge", json={"Query": query, "Note": NOTE}))
    except httpx.TransportError as error:
        answer.append(error)


def _history(engine: Engine) -> dict[int, Any]:
    columns = [
        job_history.c.id,
        job_history.c.status,
        job_history.c.status_before_ack,
        job_history.c.acknowledged_at,
        job_history.c.acknowledged_by,
        job_history.c.acknowledge_note,
    ]
    with engine.connect() as conn:
        return {row.id: row for row in conn.execute(select(*columns))}


def _wait_until_underway(engine: Engine, database_url: str, request: threading.Thread) -> int | None:
    """Returns once the acknowledge's statement runs (PostgreSQL: with the pid of its backend) or its write
    transaction holds SQLite's lock."""
    if engine.dialect.name == "postgresql":
        return _poll(request, lambda: _updating_backend(engine))
    path = make_url(database_url).database
    assert path
    locked_since: list[float] = []

    def locked_long_enough() -> int | None:
        if not _sqlite_write_locked(path):
            locked_since.clear()
            return None
        locked_since.append(time.monotonic())
        return 0 if locked_since[-1] - locked_since[0] >= SQLITE_LOCK_SECONDS else None

    _poll(request, locked_long_enough)
    return None


def _poll(request: threading.Thread, underway: Callable[[], int | None]) -> int | None:
    deadline = time.monotonic() + CAUGHT_WITHIN_SECONDS
    while time.monotonic() < deadline and request.is_alive():
        found = underway()
        if found is not None:
            return found
        time.sleep(0.005)
    pytest.fail("the acknowledge was not seen running: it finished first, or never started")


def _updating_backend(engine: Engine) -> int | None:
    with engine.connect() as conn:
        pid: int | None = conn.scalar(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' "
                "AND query ILIKE 'UPDATE job_history%'"
            )
        )
    return pid


def _sqlite_write_locked(path: str) -> bool:
    """Whether another connection holds the write lock: BEGIN IMMEDIATE without waiting fails then."""
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as error:
        if "locked" not in str(error):
            raise
        return True
    finally:
        conn.close()


def _wait_until_gone(engine: Engine, backend: int) -> None:
    deadline = datetime.now(UTC) + timedelta(seconds=CAUGHT_WITHIN_SECONDS)
    while datetime.now(UTC) < deadline:
        with engine.connect() as conn:
            if conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": backend}) == 0:
                return
        time.sleep(0.05)
    pytest.fail(f"the killed server's backend {backend} is still there after {CAUGHT_WITHIN_SECONDS:.0f} s")
