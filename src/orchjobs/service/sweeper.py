"""Timeouts: runs whose orchestrator did not report back are failed, and retried like any failure.

Every server process runs a sweeper thread; they can sweep at the same time, because each batch locks the
jobs it closes and skips the ones another process holds (PostgreSQL), or runs under BEGIN IMMEDIATE (SQLite).
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine

from orchjobs.domain.jobs import JobResult
from orchjobs.errors import StoreUnavailableError
from orchjobs.service.app_settings import read_service_settings
from orchjobs.service.background import BackgroundContext, Periodic
from orchjobs.service.runs import OpenRun, close_runs
from orchjobs.store import history as history_store
from orchjobs.store import runs as store
from orchjobs.store.engine import write_transaction

log = logging.getLogger(__name__)

BATCH = 500


def fail_overdue_runs(engine: Engine, *, now: datetime, batch: int = BATCH) -> int:
    """Fail the runs still Waiting or InProcess `JobInProcessTimeout` minutes after they were handed out
    (0 turns this off), with the retry rule of a failed completion. Works in batches of `batch` runs, each
    in its own transaction. Returns how many runs it failed."""
    total = 0
    while True:
        with write_transaction(engine) as conn:
            settings = read_service_settings(conn)
            timeout = settings.in_process_timeout_minutes
            if timeout <= 0:
                return total
            rows = store.lock_overdue_runs(conn, started_before=now - timedelta(minutes=timeout), limit=batch)
            close_runs(
                conn,
                runs=[OpenRun(row.job_id, row.history_id, row.retry_count) for row in rows],
                result=int(JobResult.FAILURE),
                message=f"The orchestrator did not report back within {timeout} minutes.",
                now=now,
                policy=settings.retry_policy,
            )
        total += len(rows)
        if len(rows) < batch:
            return total


def fold_open_failure_counts(engine: Engine) -> None:
    """PostgreSQL: keep the per-day counts of open failures at about a row a day (FailureCount sums them); logged,
    never raised."""
    if engine.dialect.name != "postgresql":
        return
    try:
        with write_transaction(engine) as conn:
            history_store.fold_open_failure_counts(conn)
    except StoreUnavailableError as exc:
        log.warning("sweeper: folding the open-failure counts: %s", exc.message)


class Sweeper:
    """Calls `fail_overdue_runs` every `interval` seconds, on a background thread, until `stop()`."""

    def __init__(self, *, engine: Engine, interval: float, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.interval = interval
        self.clock = clock
        self._runner = Periodic(name="orchjobs-sweeper", interval=interval, task=self._tick)

    def start(self) -> "Sweeper":
        self._runner.start()
        return self

    def stop(self, *, timeout: float = 10.0) -> None:
        """Ask the loop to end and wait for a sweep in progress to finish."""
        self._runner.stop(timeout=timeout)

    def sweep_once(self) -> int:
        """One sweep; a failure is logged, never raised: the next sweep tries again."""
        try:
            failed = fail_overdue_runs(self.engine, now=self.clock())
        except StoreUnavailableError as exc:
            log.warning("sweeper: %s", exc.message)
            return 0
        except Exception:
            log.exception("sweeper: failing overdue runs went wrong; trying again in %s s", self.interval)
            return 0
        if failed:
            log.info("sweeper: failed %d runs whose orchestrator did not report back", failed)
        return failed

    def _tick(self) -> bool:
        # fail_overdue_runs already works through every batch that is due.
        self.sweep_once()
        fold_open_failure_counts(self.engine)
        return False


def start_sweeper(context: BackgroundContext) -> Sweeper:
    """Start sweeping every `settings.sweep_seconds`; call `stop()` on the result at shutdown."""
    return Sweeper(engine=context.engine, interval=context.settings.sweep_seconds, clock=context.clock).start()
