"""Upkeep of job history's monthly partitions on PostgreSQL (docs/operations.md, "Job history partitions"): the
partitions of this month and the next MONTHS_AHEAD exist before any run of those months is written. `orchjobs
migrate` makes them, and every server process looks again soon after it starts and then every few hours; making a
partition that exists is a no-op, and processes take turns. On SQLite nothing happens."""

import logging
from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy import Engine

from orchjobs.errors import StoreUnavailableError
from orchjobs.service.background import BackgroundContext, Periodic
from orchjobs.store import partitions as store
from orchjobs.store.engine import write_transaction

log = logging.getLogger(__name__)

MONTHS_AHEAD = 3
INTERVAL_SECONDS = 6 * 3600.0
FIRST_LOOK_SECONDS = 5.0


def roll_partitions(engine: Engine, *, now: datetime, months_ahead: int = MONTHS_AHEAD) -> list[date]:
    """Make the partitions of the month of `now` and the `months_ahead` after it that are missing; the months made."""
    month = store.month_of(now)
    return ensure_months(engine, first=month, last=store.add_months(month, months_ahead))


def ensure_months(engine: Engine, *, first: datetime | date, last: datetime | date) -> list[date]:
    """Make the partitions of every month from `first` to `last` that are missing (for history written into the
    past, such as `orchjobs seed`); rows of those months waiting in the DEFAULT partition move into theirs."""
    with write_transaction(engine) as conn:
        return store.ensure_partitions(conn, store.months_between(first, last))


class PartitionRoller:
    """Calls `roll_partitions` soon after the process starts, then every `interval` seconds, until `stop()`."""

    def __init__(self, *, engine: Engine, interval: float, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock
        self.interval = interval
        self._runner = Periodic(
            name="orchjobs-partitions", interval=interval, first_delay=FIRST_LOOK_SECONDS, task=self._tick
        )

    def start(self) -> "PartitionRoller":
        self._runner.start()
        return self

    def stop(self, *, timeout: float = 10.0) -> None:
        self._runner.stop(timeout=timeout)

    def _tick(self) -> bool:
        """One look; a failure is logged, never raised: the next interval tries again."""
        try:
            made = roll_partitions(self.engine, now=self.clock())
        except StoreUnavailableError as exc:
            log.warning("partitions: %s", exc.message)
            return False
        except Exception:
            log.exception("partitions: making job history partitions went wrong; trying again in %s s", self.interval)
            return False
        if made:
            log.info("partitions: made the job history partitions of %s", ", ".join(f"{m:%Y-%m}" for m in made))
        return False


def start_partition_roller(context: BackgroundContext) -> PartitionRoller | None:
    """Start partition upkeep when the database partitions job history (PostgreSQL); `stop()` it at shutdown."""
    if context.engine.dialect.name != "postgresql":
        return None
    return PartitionRoller(engine=context.engine, interval=INTERVAL_SECONDS, clock=context.clock).start()
