"""Benchmark: job history at scale on PostgreSQL (issue 13), against the raw SQL of the same work in the same run.

Usage: .venv/bin/python bench/history_scale.py [--rows 10000000] [--postgres-url postgresql://postgres@127.0.0.1:5432/test]
                                               [--requests 100] [--keep]

Seeds a scratch PostgreSQL database (`orchjobs_bench_scale`) with `orchjobs seed`'s code (timed; --agents is
rows / 5,000), starts `orchjobs` in its own process (one uvicorn worker) and measures:
- a filtered JobHistory page of 50 sorted by OperationStart descending, through HTTP, for typical filters (an
  orchestrator that has runs, one that has none, a job type, the failures of the last 7 days): p50 and p99 of
  --requests calls, against the same SELECT through psycopg;
- FailureCount through HTTP against the raw count of the same rows;
- a deep page (the middle of the history) by PageReturned (OFFSET) and by Continuation (keyset), which must be the
  same rows, against the raw keyset SELECT;
- Acknowledge by query of about 100,000 eligible rows against the raw UPDATE of the same rows (each committed, then
  undone);
and prints a Markdown table. Not a test: nothing here asserts timings.
"""

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from run import SEED, RawDatabase, Server, ServerProcess, drop_postgres, log, prepare_database, restore

from orchjobs.service.database import refresh_statistics
from orchjobs.service.seeding import seed_database
from orchjobs.store.engine import make_engine
from orchjobs.store.migrate import upgrade

NAME = "orchjobs_bench_scale"
JOBS = "/OrchestratorJobs"
PAGE = 50
COLUMNS = (
    "id, job_id, agent_id, client_machine, job_type, schedule, operation_start, operation_end, message, result, "
    "status, target_path, acknowledged_at, acknowledged_by, acknowledge_note"
)
ELIGIBLE_SQL = "result IN (3, 4) AND status IN (3, 5)"
ACKNOWLEDGED_ROWS = 100_000

Line = tuple[str, str, float, float, str]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--requests", type=int, default=100, help="calls per page measurement")
    parser.add_argument("--keep", action="store_true", help="keep the seeded database (and seed only when empty)")
    args = parser.parse_args()
    url, _path = prepare_database("postgresql", Path("."), args.postgres_url, name=NAME)
    lines: list[Line] = []
    try:
        seconds = seed(url, args.rows)
        raw = RawDatabase("postgresql", url, None)
        with Server(url, quiet=True) as server:
            measure_pages(raw, server, lines, args.requests)
            measure_failure_count(raw, server, lines, args.requests)
            measure_deep_page(raw, server, lines, args.rows, args.requests)
            measure_acknowledge(raw, server, lines)
    finally:
        if not args.keep:
            drop_postgres(args.postgres_url, name=NAME)
    print(render(lines, rows=args.rows, seed_seconds=seconds))


def seed(url: str, rows: int) -> float:
    engine = make_engine(url)
    upgrade(engine)
    start = time.perf_counter()
    seed_database(engine, agents=max(20, rows // 5000), history=rows, seed=SEED)
    seconds = time.perf_counter() - start
    refresh_statistics(engine)
    engine.dispose()
    log(f"seeded {rows:,} rows in {seconds:.0f} s (and VACUUM ANALYZE)")
    return seconds


def measure_pages(raw: RawDatabase, server: ServerProcess, lines: list[Line], requests: int) -> None:
    machine = str(raw.execute("SELECT client_machine FROM job_history ORDER BY id DESC LIMIT 1")[0][0])
    week_ago = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=7)
    filters = {
        "ClientMachine -eq (has runs)": (
            f'ClientMachine -eq "{machine}"',
            "lower(client_machine) = lower(?)",
            (machine,),
        ),
        "ClientMachine -eq (no runs)": (
            'ClientMachine -eq "no-such-machine.example.com"',
            "lower(client_machine) = lower(?)",
            ("no-such-machine.example.com",),
        ),
        "JobType -eq Inventory": ('JobType -eq "Inventory"', "lower(job_type) = lower(?)", ("Inventory",)),
        "Result -eq Failure, last 7 days": (
            "Result -eq Failure AND OperationStart -ge %TODAY-7%",
            "result = 4 AND operation_start >= ?",
            (week_ago,),
        ),
    }
    for name, (query, sql_filter, params) in filters.items():
        sql = (
            f"SELECT {COLUMNS} FROM job_history WHERE {sql_filter} ORDER BY operation_start DESC, id DESC LIMIT {PAGE}"
        )
        http_params = {"QueryString": query, "SortField": "OperationStart", "SortAscending": 1, "ReturnLimit": PAGE}
        http = _timed(lambda p=http_params: _get(server, "/JobHistory", p), requests)
        bare = _timed(lambda s=sql, p=params: raw.execute(s, p), requests)
        lines.append((f"JobHistory page: {name}", "p50", _p(bare, 50), _p(http, 50), "ms"))
        lines.append((f"JobHistory page: {name}", "p99", _p(bare, 99), _p(http, 99), "ms"))
        log(f"page {name}: raw p99 {_p(bare, 99):.1f} ms, http p99 {_p(http, 99):.1f} ms")


def measure_failure_count(raw: RawDatabase, server: ServerProcess, lines: list[Line], requests: int) -> None:
    week_ago = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=7)
    sql = f"SELECT count(*) FROM job_history WHERE {ELIGIBLE_SQL} AND operation_start >= ?"
    count = server.client.get(f"{JOBS}/JobHistory/FailureCount").json()["Count"]
    assert count == raw.execute(sql, (week_ago,))[0][0], "FailureCount differs from the raw count"
    http = _timed(lambda: _get(server, "/JobHistory/FailureCount", {}), requests)
    bare = _timed(lambda: raw.execute(sql, (week_ago,)), requests)
    lines.append((f"FailureCount ({count:,} runs)", "p50", _p(bare, 50), _p(http, 50), "ms"))
    lines.append((f"FailureCount ({count:,} runs)", "p99", _p(bare, 99), _p(http, 99), "ms"))


def measure_deep_page(raw: RawDatabase, server: ServerProcess, lines: list[Line], rows: int, requests: int) -> None:
    page = max(2, rows // PAGE // 2)
    base = {"SortField": "OperationStart", "SortAscending": 1, "ReturnLimit": PAGE}
    # The page before, by OFFSET once, hands out the token of the deep page.
    token = server.client.get(f"{JOBS}/JobHistory", params={**base, "PageReturned": page - 1, "Continuation": ""})
    continuation = token.headers["X-Continuation"]
    by_offset = _get(server, "/JobHistory", {**base, "PageReturned": page})
    by_keyset = _get(server, "/JobHistory", {**base, "Continuation": continuation})
    assert [r["JobHistoryId"] for r in by_offset] == [r["JobHistoryId"] for r in by_keyset], "deep pages differ"
    last = by_keyset[0]
    start = datetime.fromisoformat(last["OperationStart"].replace("Z", "+00:00"))
    sql = (
        f"SELECT {COLUMNS} FROM job_history WHERE (operation_start, id) <= (?, ?) "
        f"ORDER BY operation_start DESC, id DESC LIMIT {PAGE}"
    )
    count = max(5, requests // 10)
    offset = _timed(lambda: _get(server, "/JobHistory", {**base, "PageReturned": page}), count)
    keyset = _timed(lambda: _get(server, "/JobHistory", {**base, "Continuation": continuation}), requests)
    bare = _timed(lambda: raw.execute(sql, (start, last["JobHistoryId"])), requests)
    lines.append((f"Deep page {page:,} by PageReturned (OFFSET)", "p50", _p(bare, 50), _p(offset, 50), "ms"))
    lines.append((f"Deep page {page:,} by Continuation (keyset)", "p50", _p(bare, 50), _p(keyset, 50), "ms"))
    lines.append((f"Deep page {page:,} by Continuation (keyset)", "p99", _p(bare, 99), _p(keyset, 99), "ms"))


def measure_acknowledge(raw: RawDatabase, server: ServerProcess, lines: list[Line]) -> None:
    found = raw.execute(
        f"SELECT operation_start FROM job_history WHERE {ELIGIBLE_SQL} ORDER BY operation_start DESC "
        f"OFFSET {ACKNOWLEDGED_ROWS - 1} LIMIT 1"
    )
    cutoff = found[0][0] if found else datetime(2000, 1, 1, tzinfo=UTC)
    assert isinstance(cutoff, datetime)
    update = (
        "UPDATE job_history SET status_before_ack = status, status = 4, acknowledged_at = ?, acknowledged_by = ?, "
        f"acknowledge_note = NULL WHERE operation_start >= ? AND {ELIGIBLE_SQL}"
    )
    raw_times, http_times, counts = [], [], []
    for _ in range(3):
        raw.settle()
        seconds, count = raw.timed_update(update, (datetime.now(UTC), "bench", cutoff))
        raw_times.append(seconds)
        counts.append(count)
        restore(raw)
        raw.settle()
        start = time.perf_counter()
        answer = server.client.post(f"{JOBS}/Acknowledge", json={"Query": f'OperationStart -ge "{cutoff.isoformat()}"'})
        http_times.append(time.perf_counter() - start)
        assert answer.status_code == 204, answer.text
        counts.append(restore(raw, user="bench-admin"))
    assert len(set(counts)) == 1, counts
    label = f"Acknowledge by query, {counts[0]:,} rows"
    lines.append((label, "median of 3", statistics.median(raw_times) * 1000, statistics.median(http_times) * 1000, "s"))


def _get(server: ServerProcess, path: str, params: dict[str, object]) -> list[dict[str, object]]:
    answer = server.client.get(f"{JOBS}{path}", params=params)
    assert answer.status_code == 200, answer.text
    result: list[dict[str, object]] = answer.json()
    return result


def _timed(action: Callable[[], object], count: int) -> list[float]:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return times


def _p(times: list[float], percentile: int) -> float:
    ordered = sorted(times)
    index = min(len(ordered) - 1, max(0, round(percentile / 100 * len(ordered)) - 1))
    return ordered[index] * 1000


def render(lines: list[Line], *, rows: int, seed_seconds: float) -> str:
    out = [
        f"History at scale, PostgreSQL, {rows:,} rows (seeded by `orchjobs seed`'s code in {seed_seconds:.0f} s)",
        "",
        "| Measure | Statistic | Raw SQL (psycopg) | orchjobs (HTTP) | Ratio |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for name, statistic, raw, http, unit in lines:
        scale = 1000 if unit == "s" else 1
        ratio = http / raw if raw else float("inf")
        out.append(f"| {name} | {statistic} | {raw / scale:.3g} {unit} | {http / scale:.3g} {unit} | {ratio:.2f}x |")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
