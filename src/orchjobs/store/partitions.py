"""Monthly partitions of job history on PostgreSQL (migration 0011): which exist, and making the missing ones.
Functions take an open connection and never commit. SQLite keeps one table: there every function does nothing.

A partition is made as a table of its own and then attached: ATTACH PARTITION holds a lock on job_history that lets
reads and writes go on (SHARE UPDATE EXCLUSIVE), where CREATE TABLE ... PARTITION OF would stop them. Rows of the
month that already sit in the DEFAULT partition (written before their month had a partition) move into the new
partition in the same transaction: PostgreSQL refuses to attach a range that DEFAULT holds rows of."""

from collections.abc import Iterable
from datetime import UTC, date, datetime

from sqlalchemy import Connection, text

from orchjobs.store.dialects import advisory_lock

_ROLLERS = 0x4F4A_0005  # the advisory lock key of partition upkeep (PostgreSQL)
PARENT = "job_history"
DEFAULT_PARTITION = "job_history_default"


def month_of(moment: datetime | date) -> date:
    """The first day of the UTC month of `moment`."""
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC).date()
    return moment.replace(day=1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def partition_name(month: date) -> str:
    """`job_history_2026_11` for November 2026."""
    return f"{PARENT}_{month.year:04d}_{month.month:02d}"


def is_partitioned(conn: Connection) -> bool:
    """Whether job_history is a partitioned table (PostgreSQL after migration 0011)."""
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.execute(text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:name)"), {"name": PARENT}).scalar()
    return kind == "p"


def partition_months(conn: Connection) -> set[date]:
    """The months that have a partition of their own."""
    names = conn.execute(
        text(
            "SELECT child.relname FROM pg_inherits JOIN pg_class child ON child.oid = pg_inherits.inhrelid "
            "WHERE pg_inherits.inhparent = to_regclass(:parent)"
        ),
        {"parent": PARENT},
    ).scalars()
    months = set()
    for name in names:
        year, _, month = name.removeprefix(f"{PARENT}_").partition("_")
        if year.isdigit() and month.isdigit():
            months.add(date(int(year), int(month), 1))
    return months


def ensure_partitions(conn: Connection, months: Iterable[date]) -> list[date]:
    """Make the partition of each of `months` (first days) that has none, moving its rows out of DEFAULT; returns
    the months made, oldest first. Processes take turns (an advisory lock until the transaction ends)."""
    if not is_partitioned(conn):
        return []
    wanted = {month_of(month) for month in months}
    if not wanted - partition_months(conn):
        return []
    advisory_lock(conn, _ROLLERS)
    # ATTACH waits for the DEFAULT partition's readers and writers: better to give up and try at the next look than
    # to queue every request behind it.
    conn.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
    made = []
    for month in sorted(wanted - partition_months(conn)):
        _make_partition(conn, month)
        made.append(month)
    return made


def months_between(first: date, last: date) -> list[date]:
    """Every month from the one of `first` to the one of `last`, both included."""
    month, end = month_of(first), month_of(last)
    months = []
    while month <= end:
        months.append(month)
        month = add_months(month, 1)
    return months


def _make_partition(conn: Connection, month: date) -> None:
    name = partition_name(month)
    start, end = f"{month.isoformat()} 00:00:00+00", f"{add_months(month, 1).isoformat()} 00:00:00+00"
    bounds = {"start": start, "end": end}
    conn.execute(text(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
    # The constraint lets ATTACH skip its scan of the new table; it is dropped once attached.
    check = f"{name}_in_range"
    conn.execute(
        text(
            f"ALTER TABLE {name} ADD CONSTRAINT {check} CHECK (operation_start IS NOT NULL AND "
            f"operation_start >= '{start}' AND operation_start < '{end}')"
        )
    )
    # Straight from the DEFAULT partition, not through job_history: moving rows is neither a deletion (the result
    # data trigger) nor a change an open console page shows.
    moved = conn.execute(
        text(
            f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE operation_start >= :start "
            f"AND operation_start < :end RETURNING *) INSERT INTO {name} SELECT * FROM moved"
        ),
        bounds,
    ).rowcount
    conn.execute(text(f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES FROM ('{start}') TO ('{end}')"))
    conn.execute(text(f"ALTER TABLE {name} DROP CONSTRAINT {check}"))
    if moved:
        conn.execute(text(f"ANALYZE {name}"))
