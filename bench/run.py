"""Benchmark: acknowledge by query and history pages through HTTP, against the raw SQL of the same work.

Usage: .venv/bin/python bench/run.py [--rows 1000000] [--databases sqlite,postgresql]
                                     [--postgres-url postgresql://postgres@127.0.0.1:5432/test]

For each database it seeds a fresh database with `orchjobs seed`'s generator, starts `orchjobs` in its own
process (one uvicorn worker), and times, in the same run:
- acknowledge by query over HTTP (broad: ~27% of rows eligible; narrow: ~1%) against the raw UPDATE of the same
  rows with the same SET list, each restored and checkpointed between runs;
- a filtered, sorted JobHistory page (ReturnLimit 50; page 1 and page 200) against the raw SELECT, against bare
  Starlette running it, and against orchjobs without log lines and request metrics (what they cost);
- the server's resident memory while it acknowledges every one of the million rows.
It prints a Markdown table of medians and ratios (HTTP / raw). Not a test: nothing here asserts timings.
"""

import argparse
import base64
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg

from orchjobs.service.seeding import seed_database
from orchjobs.store.engine import make_engine
from orchjobs.store.migrate import upgrade

SEED = 20250101
NOW = datetime(2025, 4, 1, tzinfo=UTC)
BENCH_USER = "bench"
ADMIN = ("bench-admin", "bench-password")
ELIGIBLE_SQL = "result IN (3, 4) AND status IN (3, 5)"
PAGE_QUERY = "(Result -eq 4 OR Result -eq 3) AND (Status -eq 3 OR Status -eq 5)"
PAGE_SQL_FILTER = "(result = 4 OR result = 3) AND (status = 3 OR status = 5)"
COLUMNS = (
    "id, job_id, agent_id, client_machine, job_type, schedule, operation_start, operation_end, message, "
    "result, status, target_path, acknowledged_at, acknowledged_by, acknowledge_note"
)


@dataclass
class Figures:
    database: str
    rows: int = 0
    seconds_seed: float = 0.0
    results: list[tuple[str, str, float, float, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class RawDatabase:
    """The same database through its bare driver: the limit every figure is compared to."""

    def __init__(self, kind: str, url: str, path: Path | None) -> None:
        self.kind = kind
        if kind == "sqlite":
            assert path is not None
            self.conn = sqlite3.connect(path, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
        else:
            self.conn = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True)
            self.conn.execute("SET timezone = 'UTC'")

    def param(self, moment: datetime) -> object:
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f") if self.kind == "sqlite" else moment

    def sql(self, text: str) -> str:
        return text.replace("?", "%s") if self.kind == "postgresql" else text

    def execute(self, text: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        cursor = self.conn.execute(self.sql(text), params)
        return cursor.fetchall() if cursor.description else []

    def timed_update(self, text: str, params: tuple[object, ...]) -> tuple[float, int]:
        begin = "BEGIN IMMEDIATE" if self.kind == "sqlite" else "BEGIN"
        start = time.perf_counter()
        self.conn.execute(begin)
        cursor = self.conn.execute(self.sql(text), params)
        self.conn.execute("COMMIT")
        return time.perf_counter() - start, cursor.rowcount

    def settle(self) -> None:
        """Start each timed run from the same state: an empty WAL / a vacuumed, checkpointed table."""
        if self.kind == "sqlite":
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            self.conn.execute("VACUUM ANALYZE job_history")
            self.conn.execute("CHECKPOINT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per acknowledge measurement")
    args = parser.parse_args()
    all_figures = []
    with tempfile.TemporaryDirectory(prefix="orchjobs-bench-") as scratch:
        for kind in args.databases.split(","):
            url, path = prepare_database(kind, Path(scratch), args.postgres_url)
            all_figures.append(run_database(kind, url, path, args.rows, args.repeat))
            if kind == "postgresql":
                drop_postgres(args.postgres_url)
    print(render(all_figures))


def prepare_database(
    kind: str, scratch: Path, postgres_url: str, *, name: str = "orchjobs_bench"
) -> tuple[str, Path | None]:
    """A fresh database of `kind`: a SQLite file in `scratch`, or the PostgreSQL database `name`."""
    if kind == "sqlite":
        path = scratch / f"{name}.db"
        return f"sqlite:///{path}", path
    drop_postgres(postgres_url, name=name)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return postgres_url.rsplit("/", 1)[0] + f"/{name}", None


def drop_postgres(postgres_url: str, *, name: str = "orchjobs_bench") -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def run_database(kind: str, url: str, path: Path | None, rows: int, repeat: int) -> Figures:
    figures = Figures(database=kind, rows=rows)
    engine = make_engine(url)
    upgrade(engine)
    start = time.perf_counter()
    seed_database(engine, agents=1000, history=rows, seed=SEED, now=NOW)
    figures.seconds_seed = time.perf_counter() - start
    engine.dispose()
    raw = RawDatabase(kind, url, path)
    raw.execute("ANALYZE")
    raw.settle()
    log(f"{kind}: seeded {rows:,} rows in {figures.seconds_seed:.1f} s")
    with Server(url) as server, BareServer(url) as bare, Server(url, quiet=True) as quiet:
        measure_pages(raw, server, bare, quiet, figures)
        measure_acknowledge(raw, server, figures, repeat)
        measure_memory(raw, server, figures)
    raw.conn.close()
    return figures


class ServerProcess:
    """An ASGI app in its own uvicorn process (one worker, as `orchjobs serve` runs it), with a client for it."""

    def __init__(self, app: str, *, env: dict[str, str], client: httpx.Client, probe: str, factory: bool) -> None:
        self.command = [sys.executable, "-m", "uvicorn", app, *(["--factory"] if factory else [])]
        self.env = {**os.environ, **env}
        self.client = client
        self.probe = probe

    def __enter__(self) -> "ServerProcess":
        port = str(self.client.base_url.port)
        args = ["--port", port, "--no-access-log", "--log-level", "warning"]
        # Its log lines go to a file, as an operator's would.
        with tempfile.TemporaryFile() as log_file:
            self.process = subprocess.Popen(
                [*self.command, *args], env=self.env, stdout=log_file, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if self.client.get(self.probe).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.command} did not start")

    def __exit__(self, *_exc: object) -> None:
        self.client.close()
        self.process.terminate()
        self.process.wait(timeout=30)

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0


def Server(url: str, *, quiet: bool = False) -> ServerProcess:  # noqa: N802 - reads as the thing it starts
    """orchjobs itself, with an administrator to call it as; `quiet`: without its request log lines
    (ORCHJOBS_LOG_LEVEL=WARNING) and request metrics (ORCHJOBS_METRICS=off), to show what they cost."""
    token = base64.b64encode(":".join(ADMIN).encode()).decode()
    client = httpx.Client(
        base_url=f"http://127.0.0.1:{_free_port()}/KeyfactorAPI",
        headers={"Authorization": f"Basic {token}", "x-keyfactor-requested-with": "APIClient"},
        timeout=600,
    )
    env = {"ORCHJOBS_DATABASE_URL": url, "ORCHJOBS_BOOTSTRAP_ADMIN": ":".join(ADMIN)}
    if quiet:
        env |= {"ORCHJOBS_LOG_LEVEL": "WARNING", "ORCHJOBS_METRICS": "off"}
    return ServerProcess("orchjobs.cli:app_factory", env=env, client=client, probe="/Status/Endpoints", factory=True)


def BareServer(url: str) -> ServerProcess:  # noqa: N802 - reads as the thing it starts
    """bench/bare_app.py: bare Starlette running the raw SELECT (the HTTP floor)."""
    client = httpx.Client(base_url=f"http://127.0.0.1:{_free_port()}", timeout=60)
    env = {"BENCH_DATABASE_URL": url, "PYTHONPATH": str(Path(__file__).parent)}
    return ServerProcess("bare_app:app", env=env, client=client, probe="/page", factory=False)


def measure_pages(
    raw: RawDatabase, server: ServerProcess, bare: ServerProcess, quiet: ServerProcess, figures: Figures
) -> None:
    for page in (1, 200):
        offset = (page - 1) * 50
        sql = (
            f"SELECT {COLUMNS} FROM job_history WHERE {PAGE_SQL_FILTER} "
            f"ORDER BY operation_start DESC, id DESC LIMIT 50 OFFSET {offset}"
        )
        params = {
            "pq.queryString": PAGE_QUERY,
            "pq.sortField": "OperationStart",
            "pq.sortAscending": 1,
            "pq.returnLimit": 50,
            "pq.pageReturned": page,
        }
        for _ in range(20):
            raw.execute(sql)
            server.client.get("/OrchestratorJobs/JobHistory", params=params)
            quiet.client.get("/OrchestratorJobs/JobHistory", params=params)
            bare.client.get("/page", params={"page": page})
        raw_ms = statistics.median(_timed(lambda sql=sql: raw.execute(sql), 300)) * 1000
        # Call by call in turn, so that the two medians see the same minutes of the machine.
        http_times, quiet_times = _timed_in_turn(
            lambda params=params: _page(server, params), lambda params=params: _page(quiet, params), 300
        )
        http_ms, quiet_ms = statistics.median(http_times) * 1000, statistics.median(quiet_times) * 1000
        bare_ms = (
            statistics.median(_timed(lambda page=page: bare.client.get("/page", params={"page": page}), 300)) * 1000
        )
        label = f"JobHistory page {page} (ReturnLimit 50, filtered, sorted)"
        figures.results.append((label + ", vs raw SELECT", "median of 300", raw_ms, http_ms, "ms"))
        figures.results.append(
            (label + ", vs bare Starlette + raw SELECT over HTTP", "median of 300", bare_ms, http_ms, "ms")
        )
        figures.results.append(
            (label + ", vs orchjobs without log lines and metrics", "median of 300", quiet_ms, http_ms, "ms")
        )
        log(
            f"{figures.database}: page {page}: raw {raw_ms:.2f} ms, bare http {bare_ms:.2f} ms, "
            f"orchjobs http {http_ms:.2f} ms, quiet {quiet_ms:.2f} ms"
        )


def _page(server: ServerProcess, params: dict[str, object]) -> None:
    response = server.client.get("/OrchestratorJobs/JobHistory", params=params)
    assert response.status_code == 200 and len(response.json()) == 50, response.text[:200]


def _timed_in_turn(first, second, count: int) -> tuple[list[float], list[float]]:  # type: ignore[no-untyped-def]
    firsts, seconds = [], []
    for _ in range(count):
        firsts += _timed(first, 1)
        seconds += _timed(second, 1)
    return firsts, seconds


def _timed(action, count: int) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(count):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return times


def measure_acknowledge(raw: RawDatabase, server: ServerProcess, figures: Figures, repeat: int) -> None:
    cutoff = narrow_cutoff(raw, figures.rows)
    cases = {
        "broad": (
            'OperationStart -ge "2000-01-01"',
            "operation_start >= ?",
            (raw.param(datetime(2000, 1, 1, tzinfo=UTC)),),
        ),
        "narrow": (
            f'JobType -eq "Inventory" AND OperationStart -ge "{cutoff.isoformat()}"',
            "lower(job_type) = lower(?) AND operation_start >= ?",
            ("Inventory", raw.param(cutoff)),
        ),
    }
    for name, (query, sql_filter, params) in cases.items():
        update = (
            "UPDATE job_history SET status_before_ack = status, status = 4, acknowledged_at = ?, "
            f"acknowledged_by = ?, acknowledge_note = NULL WHERE ({sql_filter}) AND {ELIGIBLE_SQL}"
        )
        raw_times, http_times, counts = [], [], []
        for _ in range(repeat):
            raw.settle()
            seconds, count = raw.timed_update(update, (raw.param(datetime.now(UTC)), BENCH_USER, *params))
            raw_times.append(seconds)
            counts.append(count)
            restore(raw)
            raw.settle()
            start = time.perf_counter()
            response = server.client.post("/OrchestratorJobs/Acknowledge", json={"Query": query})
            http_times.append(time.perf_counter() - start)
            assert response.status_code == 204, response.text
            counts.append(restore(raw, user=ADMIN[0]))
        assert len(set(counts)) == 1, counts
        share = counts[0] / figures.rows * 100
        figures.results.append(
            (
                f"Acknowledge by query, {name}: {counts[0]:,} rows ({share:.1f}%)",
                f"median of {repeat}",
                statistics.median(raw_times),
                statistics.median(http_times),
                "s",
            )
        )
        log(f"{figures.database}: ack {name} ({counts[0]:,} rows): raw {raw_times}, http {http_times}")


def narrow_cutoff(raw: RawDatabase, rows: int) -> datetime:
    """The OperationStart from which eligible Inventory runs make up about 1% of all rows."""
    found = raw.execute(
        f"SELECT operation_start FROM job_history WHERE job_type = 'Inventory' AND {ELIGIBLE_SQL} "
        f"ORDER BY operation_start DESC LIMIT 1 OFFSET {rows // 100}"
    )
    value = found[0][0]
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def restore(raw: RawDatabase, *, user: str = BENCH_USER) -> int:
    """Undo a timed acknowledge (the seed's own acknowledged rows have another acknowledged_by)."""
    _seconds, count = raw.timed_update(
        "UPDATE job_history SET status = status_before_ack, status_before_ack = NULL, acknowledged_at = NULL, "
        "acknowledged_by = NULL WHERE acknowledged_by = ?",
        (user,),
    )
    return count


def measure_memory(raw: RawDatabase, server: ServerProcess, figures: Figures) -> None:
    """Make every row eligible, then watch the server's RSS while it acknowledges all of them."""
    raw.timed_update(
        "UPDATE job_history SET status = 3, result = 4, status_before_ack = NULL, "
        "acknowledged_at = NULL, acknowledged_by = NULL",
        (),
    )
    raw.settle()
    # A call first, so that the credential is remembered: once the server's credential cache has expired (60 s), the
    # next call verifies the password again, and Argon2's own 64 MB would be counted as the acknowledge's.
    server.client.get("/OrchestratorJobs/JobHistory/Count")
    before = server.rss_mb()
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], server.rss_mb())
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    start = time.perf_counter()
    response = server.client.post("/OrchestratorJobs/Acknowledge", json={"Query": "JobHistoryId -ge 0"})
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    assert response.status_code == 204, response.text
    changed = raw.execute("SELECT count(*) FROM job_history WHERE status = 4")[0][0]
    figures.notes.append(
        f"Acknowledge of all {changed:,} rows in one request: {seconds:.1f} s; server RSS {before:.0f} MB before, "
        f"peak {peak[0]:.0f} MB during (growth {peak[0] - before:.1f} MB)."
    )
    log(figures.notes[-1])


def render(all_figures: list[Figures], *, seeded: str = "seeding {rows:,} rows") -> str:
    """The Markdown table of ratios, then each database's notes; `seeded` says what the load was."""
    lines = [
        "| Database | Measurement | Runs | Baseline | orchjobs over HTTP | Ratio |",
        "|---|---|---|---|---|---|",
    ]
    for figures in all_figures:
        for label, runs, raw_value, http_value, unit in figures.results:
            lines.append(
                f"| {figures.database} | {label} | {runs} | {raw_value:.3g} {unit} | {http_value:.3g} {unit} "
                f"| **{http_value / raw_value:.2f}×** |"
            )
    for figures in all_figures:
        lines.append("")
        load = seeded.format(rows=figures.rows)
        lines.append(f"- {figures.database}: {load} took {figures.seconds_seed:.1f} s.")
        lines.extend(f"- {figures.database}: {note}" for note in figures.notes)
    return "\n".join(lines)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    main()
