"""Benchmark: failure handling beyond Command on a large history, against the raw SQL of the same work.

Usage: .venv/bin/python bench/failure_handling.py [--rows 1000000] [--databases postgresql,sqlite]
                                                  [--postgres-url postgresql://postgres@127.0.0.1:5432/test]

For each database it seeds a fresh database with `orchjobs seed`'s generator (history over the 90 days before now),
starts `orchjobs` in its own process (one uvicorn worker) and measures, in the same run:
- Acknowledge/Preview by query (the failure count's runs, and all failures of one job type) against the raw SQL a
  person would run to learn the same: the count of selected rows, and the count and first 50 ids of eligible ones;
- JobHistory/FailureGroups (first page of 50 groups) against the raw GROUP BY of the same rows;
- JobHistory/Export of every row as CSV and as JSON lines: rows per second against the raw driver streaming the same
  columns from a server-side cursor, and the server's peak resident memory above its idle level;
- `orchjobs prune` of about half the rows (older than 45 days, keeping 2 runs per job) against the raw DELETE of the
  same age (timed in a transaction that is rolled back), while a probe asks for the first JobHistory page every
  50 ms: its p50 / p99 / max before and during the prune.
It prints a Markdown table. Not a test: nothing here asserts timings.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from run import SEED, RawDatabase, Server, ServerProcess, _timed, drop_postgres, log, prepare_database

from orchjobs.service.seeding import seed_database
from orchjobs.store.engine import make_engine
from orchjobs.store.migrate import upgrade

JOBS = "/OrchestratorJobs"
OPEN_FAILURES = "(Result -eq 3 OR Result -eq 4) AND (Status -eq 3 OR Status -eq 5) AND OperationStart -ge %TODAY-7%"
OPEN_FAILURES_SQL = "result IN (3, 4) AND status IN (3, 5) AND operation_start >= ?"
ONE_TYPE = 'JobType -eq "Inventory" AND Result -eq Failure'
ONE_TYPE_SQL = "lower(job_type) = lower('Inventory') AND result = 4"
ELIGIBLE_SQL = "result IN (3, 4) AND status IN (3, 5)"
EXPORT_COLUMNS = (
    "id, job_id, agent_id, client_machine, job_type, schedule, operation_start, operation_end, message, result, "
    "status, target_path, acknowledged_at, acknowledged_by, acknowledge_note"
)
PRUNE_DAYS = 45
PRUNE_KEEP_RUNS = 2
PROBE_INTERVAL = 0.05


@dataclass
class Figures:
    database: str
    rows: int
    lines: list[tuple[str, str, str, str, str]] = field(default_factory=list)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--databases", default="postgresql,sqlite")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="orchjobs-bench-") as scratch:
        for kind in args.databases.split(","):
            url, path = prepare_database(kind, Path(scratch), args.postgres_url)
            results.append(run_database(kind, url, path, args.rows))
            if kind == "postgresql":
                drop_postgres(args.postgres_url)
    print(render(results))


def run_database(kind: str, url: str, path: Path | None, rows: int) -> Figures:
    figures = Figures(kind, rows)
    now = datetime.now(UTC)
    engine = make_engine(url)
    upgrade(engine)
    start = time.perf_counter()
    seed_database(engine, agents=1000, history=rows, seed=SEED, now=now)
    engine.dispose()
    raw = RawDatabase(kind, url, path)
    raw.execute("ANALYZE")
    raw.settle()
    log(f"{kind}: seeded {rows:,} rows in {time.perf_counter() - start:.1f} s")
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    with Server(url) as server:
        measure_previews(raw, server, figures, window_start=today - timedelta(days=7))
        measure_groups(raw, server, figures, window_start=today - timedelta(days=7))
        measure_export(raw, server, figures)
        measure_prune(raw, server, figures, url, cutoff=today - timedelta(days=PRUNE_DAYS))
    raw.conn.close()
    return figures


def measure_previews(raw: RawDatabase, server: ServerProcess, figures: Figures, *, window_start: datetime) -> None:
    cases = {
        "the failure count's runs": (OPEN_FAILURES, OPEN_FAILURES_SQL, (raw.param(window_start),)),
        "failed Inventory runs": (ONE_TYPE, ONE_TYPE_SQL, ()),
    }
    for name, (query, sql_filter, params) in cases.items():

        def raw_preview(sql_filter: str = sql_filter, params: tuple[object, ...] = params) -> tuple[object, ...]:
            selected = raw.execute(f"SELECT count(*) FROM job_history WHERE {sql_filter}", params)
            eligible = raw.execute(f"SELECT count(*) FROM job_history WHERE ({sql_filter}) AND {ELIGIBLE_SQL}", params)
            first = raw.execute(
                f"SELECT id FROM job_history WHERE ({sql_filter}) AND {ELIGIBLE_SQL} ORDER BY id + 0 LIMIT 50", params
            )
            return selected[0][0], eligible[0][0], len(first)

        def preview(query: str = query) -> dict[str, object]:
            response = server.client.post(f"{JOBS}/Acknowledge/Preview", json={"Query": query})
            assert response.status_code == 200, response.text
            answer: dict[str, object] = response.json()
            return answer

        expected = raw_preview()
        answer = preview()
        assert (answer["Selected"], answer["Eligible"]) == expected[:2], (answer, expected)
        raw_ms = statistics.median(_timed(raw_preview, 20)) * 1000
        http_ms = statistics.median(_timed(preview, 20)) * 1000
        label = f"Acknowledge/Preview, {name}: {expected[1]:,} eligible of {expected[0]:,}"
        figures.lines.append(
            (label, "median of 20", f"{raw_ms:.1f} ms", f"{http_ms:.1f} ms", f"{http_ms / raw_ms:.2f}")
        )
        log(f"{figures.database}: {label}: raw {raw_ms:.1f} ms, http {http_ms:.1f} ms")


def measure_groups(raw: RawDatabase, server: ServerProcess, figures: Figures, *, window_start: datetime) -> None:
    sql = (
        "SELECT count(*), min(job_type), agent_id, min(client_machine), min(target_path), min(message_group), "
        "min(operation_start), max(operation_start), max(id) FROM job_history "
        f"WHERE {OPEN_FAILURES_SQL} GROUP BY lower(job_type), agent_id, lower(target_path), lower(message_group) "
        "ORDER BY count(*) DESC, max(operation_start) DESC, max(id) LIMIT 50"
    )
    params = (raw.param(window_start),)

    def groups() -> int:
        response = server.client.get(f"{JOBS}/JobHistory/FailureGroups", params={"ReturnLimit": 50})
        assert response.status_code == 200, response.text
        return len(response.json())

    total = raw.execute(f"SELECT count(*) FROM job_history WHERE {OPEN_FAILURES_SQL}", params)[0][0]
    assert groups() == len(raw.execute(sql, params))
    raw_ms = statistics.median(_timed(lambda: raw.execute(sql, params), 20)) * 1000
    http_ms = statistics.median(_timed(groups, 20)) * 1000
    label = f"JobHistory/FailureGroups, first 50 groups of {total:,} open failures"
    figures.lines.append((label, "median of 20", f"{raw_ms:.1f} ms", f"{http_ms:.1f} ms", f"{http_ms / raw_ms:.2f}"))
    log(f"{figures.database}: {label}: raw {raw_ms:.1f} ms, http {http_ms:.1f} ms")


def measure_export(raw: RawDatabase, server: ServerProcess, figures: Figures) -> None:
    start = time.perf_counter()
    raw_rows = raw_stream(raw)
    raw_seconds = time.perf_counter() - start
    for form in ("csv", "jsonl"):
        idle = server.rss_mb()
        peak = [idle]
        stop = threading.Event()
        watcher = threading.Thread(target=_watch_rss, args=(server, peak, stop))
        watcher.start()
        start = time.perf_counter()
        lines = 0
        with server.client.stream("GET", f"{JOBS}/JobHistory/Export", params={"format": form}) as response:
            assert response.status_code == 200, response.read()[:300]
            for chunk in response.iter_bytes(1 << 20):
                lines += chunk.count(b"\n")
        seconds = time.perf_counter() - start
        stop.set()
        watcher.join()
        rows = lines - 1 if form == "csv" else lines
        assert rows >= raw_rows, (rows, raw_rows)
        label = f"JobHistory/Export format={form}, {raw_rows:,} rows (rows/s; server peak RSS above idle)"
        figures.lines.append(
            (
                label,
                "one run",
                f"{raw_rows / raw_seconds:,.0f}/s",
                f"{raw_rows / seconds:,.0f}/s, +{max(peak) - idle:.0f} MB",
                f"{raw_seconds / seconds:.2f}",
            )
        )
        log(f"{figures.database}: export {form}: {seconds:.1f} s (raw {raw_seconds:.1f} s), +{max(peak) - idle:.0f} MB")


def raw_stream(raw: RawDatabase) -> int:
    """Every row's columns through the bare driver, a server-side cursor on PostgreSQL: the floor of an export."""
    sql = f"SELECT {EXPORT_COLUMNS} FROM job_history ORDER BY operation_start DESC, id DESC"
    count = 0
    if raw.kind == "postgresql":
        with raw.conn.transaction(), raw.conn.cursor(name="export") as cursor:  # type: ignore[union-attr]
            cursor.itersize = 2000
            for _row in cursor.execute(sql):
                count += 1
        return count
    for _row in raw.conn.execute(sql):
        count += 1
    return count


def _watch_rss(server: ServerProcess, peak: list[float], stop: threading.Event) -> None:
    while not stop.wait(0.05):
        peak.append(server.rss_mb())


def measure_prune(raw: RawDatabase, server: ServerProcess, figures: Figures, url: str, *, cutoff: datetime) -> None:
    before = raw.execute("SELECT count(*) FROM job_history")[0][0]
    begin = "BEGIN IMMEDIATE" if raw.kind == "sqlite" else "BEGIN"
    raw.settle()
    start = time.perf_counter()
    raw.conn.execute(begin)
    cursor = raw.conn.execute(raw.sql("DELETE FROM job_history WHERE operation_start < ?"), (raw.param(cutoff),))
    raw_seconds, raw_count = time.perf_counter() - start, cursor.rowcount
    raw.conn.execute("ROLLBACK")
    raw.settle()
    alone = probe(server, 5.0)
    stop = threading.Event()
    during: list[float] = []
    prober = threading.Thread(target=lambda: during.extend(probe(server, 3600, stop)))
    prober.start()
    start = time.perf_counter()
    env = {**os.environ, "ORCHJOBS_DATABASE_URL": url}
    command = [
        sys.executable,
        "-m",
        "orchjobs",
        "prune",
        "--older-than-days",
        str((datetime.now(UTC) - cutoff).days),
        "--keep-runs",
        str(PRUNE_KEEP_RUNS),
    ]
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)
    seconds = time.perf_counter() - start
    stop.set()
    prober.join()
    assert run.returncode == 0, run.stdout + run.stderr
    after = raw.execute("SELECT count(*) FROM job_history")[0][0]
    pruned = before - after
    label = (
        f"Prune: {pruned:,} of {before:,} rows (older than {PRUNE_DAYS} days, keeping {PRUNE_KEEP_RUNS} runs per "
        f"job; the raw DELETE of every row that old: {raw_count:,})"
    )
    figures.lines.append((label, "one run", f"{raw_seconds:.1f} s", f"{seconds:.1f} s", f"{seconds / raw_seconds:.2f}"))
    figures.lines.append(
        (
            f"JobHistory first page while the prune runs (p50 / p99 / max), {len(during)} calls",
            "probe every 50 ms",
            _spread(alone) + " before",
            _spread(during),
            f"{_p99(during) / _p99(alone):.2f}",
        )
    )
    log(f"{figures.database}: prune {pruned:,} rows in {seconds:.1f} s (raw {raw_seconds:.1f} s); {run.stdout[-300:]}")


def probe(server: ServerProcess, seconds: float, stop: threading.Event | None = None) -> list[float]:
    latencies = []
    with httpx.Client(base_url=server.client.base_url, headers=server.client.headers, timeout=600) as client:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not (stop and stop.is_set()):
            start = time.perf_counter()
            client.get(f"{JOBS}/JobHistory", params={"ReturnLimit": 50}).raise_for_status()
            latencies.append(time.perf_counter() - start)
            time.sleep(max(0.0, PROBE_INTERVAL - latencies[-1]))
    return latencies


def _p99(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.1f} / {_p99(values) * 1000:.1f} / {max(values) * 1000:.0f} ms"


def render(results: list[Figures]) -> str:
    lines = [
        "| Database | Measurement | Runs | Raw SQL | orchjobs | Ratio |",
        "|---|---|---|---|---|---|",
    ]
    for figures in results:
        for label, runs, raw_figure, http_figure, ratio in figures.lines:
            lines.append(f"| {figures.database} | {label} | {runs} | {raw_figure} | {http_figure} | {ratio} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
