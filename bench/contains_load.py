"""Benchmark: twelve clients running `-contains` queries on the job history, and another client's latency meanwhile.

Usage: .venv/bin/python bench/contains_load.py [--rows 1000000] [--seconds 20] [--databases sqlite,postgresql]
                                               [--postgres-url postgresql://postgres@127.0.0.1:5432/test]

For each database it seeds a fresh database with `orchjobs seed`'s generator and measures two states, each with
orchjobs in its own process (one uvicorn worker):
- before: no trigram indexes (schema at migration 0006) and no statement budget (ORCHJOBS_READ_STATEMENT_SECONDS=0),
  as orchjobs was before issue 10;
- after: the migrations' head (trigram indexes on PostgreSQL) and the default budgets.
In each state a probe client asks for the first JobHistory page (ReturnLimit 50) every 50 ms, alone for a few
seconds, then while twelve clients loop over `-contains` / `-startswith` queries (each pausing LOAD_PAUSE
between two). Then it times the price of the indexes: one acknowledge by query of every eligible row (~27 %) over
HTTP. It prints a Markdown table. Not a test: nothing here asserts timings.
"""

import argparse
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from run import ADMIN, NOW, SEED, RawDatabase, Server, ServerProcess, drop_postgres, log, prepare_database, restore

from orchjobs.service.database import refresh_statistics
from orchjobs.service.seeding import seed_database
from orchjobs.store.engine import make_engine
from orchjobs.store.migrate import downgrade, upgrade

HISTORY = "/OrchestratorJobs/JobHistory"
# Twelve small queries: common, rare and absent text, on the three free-text fields.
QUERIES = (
    'Message -contains "timed out"',
    'Message -contains "not exportable"',
    'Message -contains "no such text"',
    'Message -contains "CN=WebHosting"',
    'Message -startswith "Unable to connect"',
    'Message -contains "600 seconds"',
    'Agent -contains "prd-uk-2"',
    'Agent -contains "nowhere-host"',
    'Agent -startswith "nginx-qa"',
    'TargetPath -contains "crm"',
    'TargetPath -contains "no/such/path"',
    'Message -contains "www.example"',
)
PROBE_INTERVAL = 0.05
ALONE_SECONDS = 5.0
# Each load client waits this long between its queries: people and scripts filtering the history, not a flood.
LOAD_PAUSE = 0.5


@dataclass
class Phase:
    database: str
    state: str
    alone: list[float]
    loaded: list[float]
    queries_done: int
    query_seconds: list[float]
    statuses: dict[int, int]
    seconds: float
    acknowledge_seconds: float = 0.0
    acknowledged: int = 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the twelve clients run per state")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    phases: list[Phase] = []
    with tempfile.TemporaryDirectory(prefix="orchjobs-bench-") as scratch:
        for kind in args.databases.split(","):
            url, path = prepare_database(kind, Path(scratch), args.postgres_url)
            phases.extend(run_database(kind, url, path, args.rows, args.seconds))
            if kind == "postgresql":
                drop_postgres(args.postgres_url)
    print(render(phases, args.rows))


def run_database(kind: str, url: str, path: Path | None, rows: int, seconds: float) -> list[Phase]:
    engine = make_engine(url)
    upgrade(engine, "0006")
    start = time.perf_counter()
    seed_database(engine, agents=1000, history=rows, seed=SEED, now=NOW)
    refresh_statistics(engine)
    log(f"{kind}: seeded {rows:,} rows in {time.perf_counter() - start:.1f} s")
    raw = RawDatabase(kind, url, path)
    phases = [measure(raw, "before", url, seconds, {"ORCHJOBS_READ_STATEMENT_SECONDS": "0"})]
    start = time.perf_counter()
    upgrade(engine)
    refresh_statistics(engine)
    log(f"{kind}: migrated to head (trigram indexes) in {time.perf_counter() - start:.1f} s")
    phases.append(measure(raw, "after", url, seconds, {}))
    raw.conn.close()
    downgrade(engine, "0006")  # leaves the database as the next run expects to find a fresh one
    engine.dispose()
    return phases


def measure(raw: RawDatabase, state: str, url: str, seconds: float, env: dict[str, str]) -> Phase:
    kind = raw.kind
    server = Server(url)
    server.env.update(env)
    with server:
        alone = probe(server, ALONE_SECONDS)
        stop = threading.Event()
        done: list[float] = []
        statuses: dict[int, int] = {}
        lock = threading.Lock()
        workers = [threading.Thread(target=load, args=(server, query, stop, done, statuses, lock)) for query in QUERIES]
        for worker in workers:
            worker.start()
        loaded = probe(server, seconds)
        stop.set()
        for worker in workers:
            worker.join()
        phase = Phase(kind, state, alone, loaded, len(done), done, statuses, seconds)
        raw.settle()
        start = time.perf_counter()
        response = server.client.post(
            "/OrchestratorJobs/Acknowledge", json={"Query": 'OperationStart -ge "2000-01-01"'}
        )
        phase.acknowledge_seconds = time.perf_counter() - start
        assert response.status_code == 204, response.text
        phase.acknowledged = restore(raw, user=ADMIN[0])
        raw.settle()
    log(
        f"{kind} {state}: probe p99 {p99(loaded) * 1000:.0f} ms under load; {len(done)} queries; {statuses}; "
        f"acknowledge {phase.acknowledged:,} rows {phase.acknowledge_seconds:.2f} s"
    )
    return phase


def probe(server: ServerProcess, seconds: float) -> list[float]:
    """Latencies of the first history page, asked for every PROBE_INTERVAL on its own connection."""
    latencies = []
    with httpx.Client(base_url=server.client.base_url, headers=server.client.headers, timeout=600) as client:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            start = time.perf_counter()
            client.get(HISTORY, params={"ReturnLimit": 50}).raise_for_status()
            latencies.append(time.perf_counter() - start)
            time.sleep(max(0.0, PROBE_INTERVAL - latencies[-1]))
    return latencies


def load(
    server: ServerProcess,
    query: str,
    stop: threading.Event,
    done: list[float],
    statuses: dict[int, int],
    lock: threading.Lock,
) -> None:
    with httpx.Client(base_url=server.client.base_url, headers=server.client.headers, timeout=600) as client:
        while not stop.is_set():
            start = time.perf_counter()
            response = client.get(HISTORY, params={"pq.queryString": query, "ReturnLimit": 50})
            with lock:
                done.append(time.perf_counter() - start)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            stop.wait(LOAD_PAUSE)


def p99(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def render(phases: list[Phase], rows: int) -> str:
    lines = [
        f"Job history of {rows:,} rows; twelve clients looping over `-contains`/`-startswith` queries for "
        f"{phases[0].seconds:.0f} s (pausing {LOAD_PAUSE} s between queries) while a probe asks for the first "
        f"history page every {PROBE_INTERVAL * 1000:.0f} ms.",
        "",
        "| Database | State | Probe alone p50 / p99 | Probe under load p50 / p99 / max | Load queries answered "
        "(median s) | Statuses | Acknowledge by query |",
        "|---|---|---|---|---|---|---|",
    ]
    for phase in phases:
        alone = f"{statistics.median(phase.alone) * 1000:.1f} / {p99(phase.alone) * 1000:.1f} ms"
        loaded = (
            f"{statistics.median(phase.loaded) * 1000:.1f} / {p99(phase.loaded) * 1000:.1f} / "
            f"{max(phase.loaded) * 1000:.0f} ms"
        )
        median = statistics.median(phase.query_seconds) if phase.query_seconds else 0.0
        statuses = ", ".join(f"{status}: {count}" for status, count in sorted(phase.statuses.items()))
        lines.append(
            f"| {phase.database} | {phase.state} | {alone} | {loaded} | {phase.queries_done} ({median:.3f}) | "
            f"{statuses} | {phase.acknowledged:,} rows: {phase.acknowledge_seconds:.2f} s |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
