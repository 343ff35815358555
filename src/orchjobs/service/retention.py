"""Retention of job history (docs/retention.md): `orchjobs prune` and the daily prune of every server process delete
the runs older than JobHistoryRetentionDays, except runs in flight, unacknowledged warnings and failures still inside
the JobFailuresAndWarningsAgeOut window (they count in the failure count), and the JobHistoryKeepRuns latest runs of
each job.

Deletion goes one window of runs at a time, each its own short transaction, so pages keep answering while a large
backlog goes. Every prune writes one audit entry (PruneHistory), brought up to date in each window's transaction, so
it always says what has been deleted. With several server processes, the daily prune is claimed: a process prunes
only when no process has in the last interval, and the claim is that audit entry, written under a lock."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import Connection, Engine

from orchjobs.domain.app_settings import ServiceSettings
from orchjobs.domain.audit import SYSTEM_ACTOR, AuditAction, AuditEntry, AuditResource
from orchjobs.errors import InvalidRequestError, StoreUnavailableError
from orchjobs.service import audit
from orchjobs.service.app_settings import read_service_settings
from orchjobs.service.background import BackgroundContext, Periodic
from orchjobs.store import retention as store
from orchjobs.store.audit import details_text
from orchjobs.store.engine import read_transaction, write_transaction
from orchjobs.store.retention import Position, PruneRule

log = logging.getLogger(__name__)

BATCH = 5000
# A server process looks for the day's prune this soon after it starts (a process restarted every day would
# otherwise never reach a whole interval), then every interval.
FIRST_LOOK_SECONDS = 300.0


@dataclass(frozen=True)
class PruneResult:
    """What a prune did (or, with `dry_run`, would do). `rule` is None when retention is off (0 days)."""

    rule: PruneRule | None
    retention_days: int
    deleted: int = 0
    batches: int = 0
    dry_run: bool = False


def prune_history(
    engine: Engine,
    *,
    now: datetime,
    actor: str,
    older_than_days: int | None = None,
    keep_runs: int | None = None,
    dry_run: bool = False,
    batch: int = BATCH,
) -> PruneResult:
    """Delete the runs the retention rule lets go (`older_than_days` and `keep_runs` override the settings); with
    `dry_run`, only count them. InvalidRequestError for a negative number."""
    for label, value in (("--older-than-days", older_than_days), ("--keep-runs", keep_runs)):
        if value is not None and value < 0:
            raise InvalidRequestError(f"{label} must be 0 or more; got {value}.")
    with read_transaction(engine) as conn:
        settings = read_service_settings(conn)
    days, rule = _rule(settings, now=now, older_than_days=older_than_days, keep_runs=keep_runs)
    if rule is None:
        return PruneResult(rule=None, retention_days=days, dry_run=dry_run)
    if dry_run:
        return _count(engine, rule, days=days, batch=batch)
    with write_transaction(engine) as conn:
        entry_id = _start_entry(conn, rule, days=days, actor=actor, now=now)
    return _delete(engine, rule, days=days, entry_id=entry_id, batch=batch)


def prune_daily(engine: Engine, *, now: datetime, interval_seconds: float, batch: int = BATCH) -> PruneResult | None:
    """The daily prune by the system, if no process of the service has pruned in the last `interval_seconds` and
    retention is on; None when another process has (or retention is off)."""
    with write_transaction(engine) as conn:
        store.take_prune_turn(conn)
        last = store.last_entry_at(conn, actor=SYSTEM_ACTOR, action=AuditAction.PRUNE)
        if last is not None and _aware(last) > now - timedelta(seconds=interval_seconds):
            return None
        days, rule = _rule(read_service_settings(conn), now=now, older_than_days=None, keep_runs=None)
        if rule is None:
            return None
        entry_id = _start_entry(conn, rule, days=days, actor=SYSTEM_ACTOR, now=now)
    return _delete(engine, rule, days=days, entry_id=entry_id, batch=batch)


def _rule(
    settings: ServiceSettings, *, now: datetime, older_than_days: int | None, keep_runs: int | None
) -> tuple[int, PruneRule | None]:
    """The retention days in force and the rule they make (None: 0 days, retention off). The age-out window starts
    at midnight UTC `age_out_days` days ago, as the failure count's `%TODAY-N%` does."""
    days = settings.retention_days if older_than_days is None else older_than_days
    if days <= 0:
        return days, None
    window_start = datetime.combine(now.astimezone(UTC).date() - timedelta(days=settings.age_out_days), time(), UTC)
    rule = PruneRule(
        cutoff=now - timedelta(days=days),
        age_out_start=window_start,
        keep_runs=settings.keep_runs if keep_runs is None else keep_runs,
    )
    return days, rule


def _start_entry(conn: Connection, rule: PruneRule, *, days: int, actor: str, now: datetime) -> int:
    entry = AuditEntry(
        actor=actor,
        action=AuditAction.PRUNE,
        resource=AuditResource.JOB_HISTORY,
        row_count=0,
        details=_details(rule, days=days, batches=0),
    )
    return audit.record(conn, entry, at=now)


def _details(rule: PruneRule, *, days: int, batches: int) -> dict[str, object]:
    return {
        "RetentionDays": days,
        "Cutoff": rule.cutoff.isoformat(),
        "KeepRuns": rule.keep_runs,
        "AgeOutStart": rule.age_out_start.isoformat(),
        "Batches": batches,
    }


def _delete(engine: Engine, rule: PruneRule, *, days: int, entry_id: int, batch: int) -> PruneResult:
    """Window after window, each its own transaction that also brings the audit entry up to date."""
    position: Position | None = None
    deleted = batches = 0
    while True:
        with write_transaction(engine) as conn:
            window = store.read_window(conn, rule, after=position, size=batch)
            if window.prunable:
                deleted += store.delete_runs(conn, window.prunable)
                batches += 1
                details = details_text(_details(rule, days=days, batches=batches))
                store.update_entry(conn, entry_id=entry_id, row_count=deleted, details=details)
        position = window.next_position
        if position is None:
            return PruneResult(rule=rule, retention_days=days, deleted=deleted, batches=batches)


def _count(engine: Engine, rule: PruneRule, *, days: int, batch: int) -> PruneResult:
    position: Position | None = None
    found = batches = 0
    while True:
        with read_transaction(engine) as conn:
            window = store.read_window(conn, rule, after=position, size=batch)
        found += len(window.prunable)
        batches += 1 if window.prunable else 0
        position = window.next_position
        if position is None:
            return PruneResult(rule=rule, retention_days=days, deleted=found, batches=batches, dry_run=True)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class Pruner:
    """Tries the daily prune soon after the process starts, then every `interval` seconds, on a background
    thread, until `stop()`."""

    def __init__(self, *, engine: Engine, interval: float, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.interval = interval
        self.clock = clock
        self._runner = Periodic(
            name="orchjobs-pruner", interval=interval, first_delay=min(interval, FIRST_LOOK_SECONDS), task=self._tick
        )

    def start(self) -> "Pruner":
        self._runner.start()
        return self

    def stop(self, *, timeout: float = 10.0) -> None:
        self._runner.stop(timeout=timeout)

    def _tick(self) -> bool:
        """One try; a failure is logged, never raised: the next interval tries again."""
        try:
            result = prune_daily(self.engine, now=self.clock(), interval_seconds=self.interval)
        except StoreUnavailableError as exc:
            log.warning("pruner: %s", exc.message)
            return False
        except Exception:
            log.exception("pruner: pruning job history went wrong; trying again in %s s", self.interval)
            return False
        if result is not None:
            log.info("pruner: deleted %d runs of job history in %d batches", result.deleted, result.batches)
        return False


def start_pruner(context: BackgroundContext) -> Pruner | None:
    """Start the daily prune every `settings.prune_interval_seconds` (0: never); call `stop()` at shutdown."""
    interval = context.settings.prune_interval_seconds
    if interval <= 0:
        return None
    return Pruner(engine=context.engine, interval=interval, clock=context.clock).start()
