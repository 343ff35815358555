"""Benchmark: ScheduledJobs pages and Unschedule by query through HTTP, against the raw SQL of the same work.

Usage: .venv/bin/python bench/scheduled_jobs.py [--rows 1000000] [--agents 300] [--databases sqlite,postgresql]
                                                [--postgres-url postgresql://postgres@127.0.0.1:5432/test]
                                                [--repeat 3] [--page-runs 300]

For each database it bulk-loads a fresh database (orchjobs.store.bulk.copy_rows) with `--rows` scheduled jobs on
`--agents` orchestrators — a mix of Inventory (interval and daily), Management and Reenrollment (one-shot),
Discovery (weekly), custom (weekly and monthly) and FetchLogs jobs, 1% of them failed one-shot jobs kept for a
reschedule — starts `orchjobs` in its own process (one uvicorn worker, bench/run.py's ServerProcess) and times, in
the same run:
- GET ScheduledJobs page 1 and page 200 (ReturnLimit 50, default order: newest Requested first) against the raw
  SELECT of the same page in this process, and against bench/bare_scheduled_app.py, a bare Starlette endpoint running
  that SELECT (the HTTP floor);
- Unschedule by query, narrow (one orchestrator's jobs) and broad (every job requested before the median), against
  the raw DELETE of the same rows; the rows are put back and the database settled before every timed run.
It prints a Markdown table of medians and ratios (HTTP / baseline). Not a test: nothing here asserts timings.
On 2 cores both databases take about 15 minutes at a million jobs (mostly the broad DELETEs on SQLite and putting
their rows back) and under 3 minutes with `--rows 200000`; `--rows` must be at least 12,000 for page 200.
"""

import argparse
import json
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from run import (
    Figures,
    RawDatabase,
    Server,
    ServerProcess,
    _free_port,
    _timed,
    drop_postgres,
    log,
    prepare_database,
    render,
)
from sqlalchemy import select

from orchjobs.domain.schedules import schedule_type
from orchjobs.store.bulk import copy_rows
from orchjobs.store.engine import make_engine
from orchjobs.store.migrate import upgrade
from orchjobs.store.tables import agent, job_type, scheduled_job

SEED = 20261129
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
DATABASE = "orchjobs_bench_scheduled"
CUSTOM_TYPES = ("RestartWebService", "RotateLogs", "HsmKeyAudit")
BUILT_IN = ("Inventory", "Management", "Discovery", "Reenrollment", "FetchLogs")
JOB_COLUMNS = (
    "id", "agent_id", "job_type_id", "schedule", "schedule_type", "target_path", "requested_at", "next_run_at",
    "capability", "priority",
)  # fmt: skip
PAGE_SQL = (
    "SELECT s.id, a.client_machine, s.target_path, s.schedule, s.requested_at, t.name, s.agent_id, s.next_run_at "
    "FROM scheduled_job s JOIN agent a ON a.id = s.agent_id JOIN job_type t ON t.id = s.job_type_id "
    "WHERE s.next_run_at IS NOT NULL OR s.running_history_id IS NOT NULL "
    "ORDER BY s.requested_at DESC, s.id DESC LIMIT 50 OFFSET {offset}"
)
# What the service's scope and eligibility add to every Unschedule by query, written by hand.
ELIGIBLE_SQL = (
    "(next_run_at IS NOT NULL OR running_history_id IS NOT NULL) "
    "AND job_type_id IN (SELECT id FROM job_type WHERE lower(name) <> 'inventory')"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--agents", type=int, default=300)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per Unschedule measurement")
    parser.add_argument("--page-runs", type=int, default=300, help="timed requests per page measurement")
    args = parser.parse_args()
    all_figures = []
    with tempfile.TemporaryDirectory(prefix="orchjobs-bench-") as scratch:
        for kind in args.databases.split(","):
            url, path = prepare_database(kind, Path(scratch), args.postgres_url, name=DATABASE)
            try:
                all_figures.append(run_database(kind, url, path, args))
            finally:
                if kind == "postgresql":
                    drop_postgres(args.postgres_url, name=DATABASE)
    print(render(all_figures, seeded="loading {rows:,} scheduled jobs"))


def run_database(kind: str, url: str, path: Path | None, args: argparse.Namespace) -> Figures:
    figures = Figures(database=kind, rows=args.rows)
    engine = make_engine(url)
    upgrade(engine)
    start = time.perf_counter()
    agent_names = seed(engine, rows=args.rows, agents=args.agents)
    figures.seconds_seed = time.perf_counter() - start
    engine.dispose()
    raw = RawDatabase(kind, url, path)
    raw.execute("ANALYZE")
    settle(raw)
    log(f"{kind}: seeded {args.rows:,} scheduled jobs in {figures.seconds_seed:.1f} s")
    with Server(url) as server, bare_server(url) as bare:
        measure_pages(raw, server, bare, figures, runs=args.page_runs)
        measure_unschedule(raw, server, figures, agent_names, repeat=args.repeat)
    raw.conn.close()
    return figures


# --- seeding -----------------------------------------------------------------------------------------------------


def seed(engine: Any, *, rows: int, agents: int) -> list[str]:
    """Agents, custom job types and `rows` scheduled jobs, bulk-loaded in one transaction; the agents' names."""
    rng = random.Random(SEED)
    names = [f"orch-{number:04d}.example.com" for number in range(agents)]
    agent_ids = [_uuid(rng) for _ in names]
    with engine.begin() as conn:
        copy_rows(
            conn,
            agent,
            (
                "id",
                "client_machine",
                "username",
                "platform",
                "version",
                "status",
                "last_seen",
                "auth_certificate_reenrollment",
            ),
            [(agent_id, name, "svc", 7, "10.4.1", 2, NOW, 0) for agent_id, name in zip(agent_ids, names, strict=True)],
        )
        custom_ids = [_uuid(rng) for _ in CUSTOM_TYPES]
        copy_rows(
            conn,
            job_type,
            ("id", "name", "description", "is_custom"),
            [(type_id, name, "", True) for type_id, name in zip(custom_ids, CUSTOM_TYPES, strict=True)],
        )
        type_ids = dict(conn.execute(select(job_type.c.name, job_type.c.id)).all())
        # Secondary indexes are built once after the load, and ids come in key order: loading is several times faster.
        for index in scheduled_job.indexes:
            index.drop(conn)
        copy_rows(conn, scheduled_job, JOB_COLUMNS, _jobs(rng, rows, agent_ids, type_ids))
        for index in scheduled_job.indexes:
            index.create(conn)
    return names


def _jobs(
    rng: random.Random, rows: int, agent_ids: Sequence[uuid.UUID], type_ids: dict[str, uuid.UUID]
) -> Iterator[tuple[Any, ...]]:
    for job_id in sorted(_uuid(rng) for _ in range(rows)):
        draw = rng.random()
        requested = NOW - timedelta(seconds=rng.randint(60, 2 * 365 * 86400))
        if draw < 0.55:
            name, schedule, next_run = "Inventory", _recurring(rng), NOW + timedelta(minutes=rng.randint(1, 720))
        elif draw < 0.72:
            name = "Management" if draw < 0.67 else "Reenrollment"
            schedule, next_run = _one_shot(rng)
        elif draw < 0.82:
            name, schedule = "Discovery", _weekly(rng)
            next_run = NOW + timedelta(days=rng.randint(0, 6), hours=rng.randint(0, 23))
        elif draw < 0.97:
            name = rng.choice(CUSTOM_TYPES)
            schedule = _weekly(rng) if rng.random() < 0.5 else _monthly(rng)
            next_run = NOW + timedelta(days=rng.randint(0, 30))
        else:
            name, schedule, next_run = "FetchLogs", None, NOW
        target = None if name in ("FetchLogs", *CUSTOM_TYPES) else f"/var/lib/certs/store-{rng.randint(1, 9999)}.pem"
        yield (
            job_id,
            rng.choice(agent_ids),
            type_ids[name],
            json.dumps(schedule) if schedule else None,
            schedule_type(schedule),
            target,
            requested,
            next_run,
            f"CertStores.PEM.{name}" if name in BUILT_IN[:4] else f"Custom.{name}",
            5,
        )


def _recurring(rng: random.Random) -> dict[str, Any]:
    if rng.random() < 0.7:
        return {"Interval": {"Minutes": rng.choice((60, 120, 240, 720))}}
    return {"Daily": {"Time": f"2026-01-01T{rng.randint(0, 23):02d}:{rng.choice((0, 30)):02d}:00Z"}}


def _one_shot(rng: random.Random) -> tuple[dict[str, Any] | None, datetime | None]:
    """Immediate or ExactlyOnce; one in twelve is a failed one-shot job kept for a reschedule (no next run)."""
    if rng.random() < 1 / 12:
        return None, None
    if rng.random() < 0.5:
        return None, NOW
    at = NOW + timedelta(minutes=rng.randint(10, 7 * 24 * 60))
    return {"ExactlyOnce": {"Time": at.strftime("%Y-%m-%dT%H:%M:%SZ")}}, at


def _weekly(rng: random.Random) -> dict[str, Any]:
    days = sorted(rng.sample(range(7), rng.randint(1, 3)))
    return {"Weekly": {"Days": days, "Time": f"2026-01-01T{rng.randint(0, 5):02d}:00:00Z"}}


def _monthly(rng: random.Random) -> dict[str, Any]:
    return {"Monthly": {"Day": rng.randint(1, 28), "Time": f"2026-01-01T{rng.randint(0, 23):02d}:00:00Z"}}


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


# --- measuring ---------------------------------------------------------------------------------------------------


def bare_server(url: str) -> ServerProcess:
    """bench/bare_scheduled_app.py: bare Starlette running the raw page SELECT (the HTTP floor)."""
    client = httpx.Client(base_url=f"http://127.0.0.1:{_free_port()}", timeout=60)
    env = {"BENCH_DATABASE_URL": url, "PYTHONPATH": str(Path(__file__).parent)}
    return ServerProcess("bare_scheduled_app:app", env=env, client=client, probe="/page", factory=False)


def settle(raw: RawDatabase) -> None:
    """Start each timed run from the same state: an empty WAL / a vacuumed, checkpointed table."""
    if raw.kind == "sqlite":
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    else:
        raw.execute("VACUUM ANALYZE scheduled_job")
        raw.execute("CHECKPOINT")


def measure_pages(raw: RawDatabase, server: ServerProcess, bare: ServerProcess, figures: Figures, *, runs: int) -> None:
    log(f"{figures.database}: plan: {raw.execute('EXPLAIN ' + _plan_prefix(raw) + PAGE_SQL.format(offset=9950))}")
    for page in (1, 200):
        sql = PAGE_SQL.format(offset=(page - 1) * 50)
        params = {"pq.returnLimit": 50, "pq.pageReturned": page}
        for _ in range(20):
            raw.execute(sql)
            _page(server, params)
            bare.client.get("/page", params={"page": page})
        raw_ms = statistics.median(_timed(lambda sql=sql: raw.execute(sql), runs)) * 1000
        http_ms = statistics.median(_timed(lambda params=params: _page(server, params), runs)) * 1000
        bare_ms = statistics.median(_timed(lambda page=page: bare.client.get("/page", params={"page": page}), runs))
        bare_ms *= 1000
        label = f"ScheduledJobs page {page} (ReturnLimit 50, newest Requested first)"
        figures.results.append((label + ", vs raw SELECT", f"median of {runs}", raw_ms, http_ms, "ms"))
        figures.results.append(
            (label + ", vs bare Starlette + raw SELECT over HTTP", f"median of {runs}", bare_ms, http_ms, "ms")
        )
        log(f"{figures.database}: page {page}: raw {raw_ms:.2f} ms, bare {bare_ms:.2f} ms, orchjobs {http_ms:.2f} ms")


def _plan_prefix(raw: RawDatabase) -> str:
    return "QUERY PLAN " if raw.kind == "sqlite" else ""


def _page(server: ServerProcess, params: dict[str, object]) -> None:
    response = server.client.get("/OrchestratorJobs/ScheduledJobs", params=params)
    assert response.status_code == 200 and len(response.json()) == 50, response.text[:200]


def measure_unschedule(
    raw: RawDatabase, server: ServerProcess, figures: Figures, agent_names: Sequence[str], *, repeat: int
) -> None:
    median = _median_requested(raw)
    machine = agent_names[len(agent_names) // 2]
    cases = {
        "narrow": (
            f'ClientMachine -eq "{machine}"',
            "agent_id IN (SELECT id FROM agent WHERE lower(client_machine) = lower(?))",
            (machine,),
        ),
        "broad": (f'Requested -lt "{median.isoformat()}"', "requested_at < ?", (raw.param(median),)),
    }
    total = _count(raw)
    for name, (query, sql_filter, params) in cases.items():
        where = f"({sql_filter}) AND {ELIGIBLE_SQL}"
        raw.execute("DROP TABLE IF EXISTS bench_gone")
        # The rows each timed run deletes, to put back after it (PostgreSQL binds no parameters in CREATE … AS).
        raw.execute("CREATE TABLE bench_gone AS SELECT * FROM scheduled_job WHERE 1 = 0")
        raw.execute(f"INSERT INTO bench_gone SELECT * FROM scheduled_job WHERE {where}", params)
        gone = int(raw.execute("SELECT count(*) FROM bench_gone")[0][0])
        raw_times, http_times = [], []
        for _ in range(repeat):
            settle(raw)
            seconds, count = raw.timed_update(f"DELETE FROM scheduled_job WHERE {where}", params)
            raw_times.append(seconds)
            assert count == gone, (count, gone)
            _put_back(raw, total)
            start = time.perf_counter()
            response = server.client.post("/OrchestratorJobs/Unschedule", json={"Query": query})
            http_times.append(time.perf_counter() - start)
            assert response.status_code == 204, response.text
            assert _count(raw) == total - gone
            _put_back(raw, total)
        share = gone / figures.rows * 100
        figures.results.append(
            (
                f"Unschedule by query, {name}: {gone:,} jobs ({share:.1f}%)",
                f"median of {repeat}",
                statistics.median(raw_times),
                statistics.median(http_times),
                "s",
            )
        )
        log(f"{figures.database}: unschedule {name} ({gone:,} jobs): raw {raw_times}, http {http_times}")
    raw.execute("DROP TABLE IF EXISTS bench_gone")


def _put_back(raw: RawDatabase, total: int) -> None:
    raw.timed_update("INSERT INTO scheduled_job SELECT * FROM bench_gone", ())
    assert _count(raw) == total
    settle(raw)


def _count(raw: RawDatabase) -> int:
    return int(raw.execute("SELECT count(*) FROM scheduled_job")[0][0])


def _median_requested(raw: RawDatabase) -> datetime:
    total = _count(raw)
    value = raw.execute(f"SELECT requested_at FROM scheduled_job ORDER BY requested_at LIMIT 1 OFFSET {total // 2}")
    moment = value[0][0]
    moment = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


if __name__ == "__main__":
    main()
