"""Benchmark: the console's own JSON calls against the API's, and how many open pages one server process keeps live.

Usage: .venv/bin/python bench/console.py [--rows 100000] [--databases sqlite,postgresql] [--pages 50,250,1000]
                                         [--postgres-url postgresql://postgres@127.0.0.1:5432/test]

For each database it seeds a fresh database with `orchjobs seed`'s generator, starts `orchjobs` in its own process
(one uvicorn worker) and bare Starlette running the raw SELECT, and measures in the same run:
- a filtered, sorted JobHistory page (ReturnLimit 50) as the console's page calls it (session cookie, CSRF token)
  and as an API client calls it (Basic), against the raw SELECT and against bare Starlette; and the page's HTML
  itself (`GET /`: the session looked up, the template rendered);
- live pages: N event streams (`GET /console/events`, as N open browser pages) held open on the one process; one
  job-history row is then written by another process, and the time until every stream has its `history` event is
  taken (p50 and max over the streams), with the server's resident memory and, on PostgreSQL, its connections.
It prints a Markdown table. Not a test: nothing here asserts timings.
"""

import argparse
import asyncio
import re
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from run import (
    ADMIN,
    COLUMNS,
    PAGE_QUERY,
    PAGE_SQL_FILTER,
    SEED,
    BareServer,
    RawDatabase,
    Server,
    ServerProcess,
    _timed,
    drop_postgres,
    log,
    prepare_database,
)

from orchjobs.service.seeding import seed_database
from orchjobs.store.engine import make_engine
from orchjobs.store.migrate import upgrade

PARAMS = {
    "pq.queryString": PAGE_QUERY,
    "pq.sortField": "OperationStart",
    "pq.sortAscending": 1,
    "pq.returnLimit": 50,
    "pq.pageReturned": 1,
}
CALLS = 300


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--pages", default="50,250,1000")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="orchjobs-bench-") as scratch:
        for kind in args.databases.split(","):
            url, path = prepare_database(kind, Path(scratch), args.postgres_url, name="orchjobs_bench_console")
            lines += run_database(kind, url, path, args.rows, [int(n) for n in args.pages.split(",")])
            if kind == "postgresql":
                drop_postgres(args.postgres_url, name="orchjobs_bench_console")
    print("| Database | Measure | Figure | Against | Ratio |\n| --- | --- | --- | --- | --- |")
    print("\n".join(lines))


def run_database(kind: str, url: str, path: Path | None, rows: int, pages: list[int]) -> list[str]:
    engine = make_engine(url)
    upgrade(engine)
    seed_database(engine, agents=200, history=rows, seed=SEED)
    engine.dispose()
    raw = RawDatabase(kind, url, path)
    raw.execute("ANALYZE")
    raw.settle()
    log(f"{kind}: seeded {rows:,} rows")
    lines: list[str] = []
    with Server(url) as server, BareServer(url) as bare:
        base = f"http://127.0.0.1:{server.client.base_url.port}"
        console = _console_client(base)
        lines += _json_calls(kind, raw, server, bare, console)
        for count in pages:
            lines.append(asyncio.run(_live_pages(kind, base, console.cookies, raw, server, count)))
        console.close()
    raw.conn.close()
    return lines


def _console_client(base: str) -> httpx.Client:
    """Logged in through the console's form: the session cookie, and the CSRF token from the page's meta tag."""
    client = httpx.Client(base_url=base, timeout=60)
    answer = client.post("/login", data={"username": ADMIN[0], "password": ADMIN[1]})
    assert answer.status_code == 303, answer.text
    page = client.get("/")
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert token, page.text[:500]
    client.headers.update({"x-csrf-token": token.group(1), "x-keyfactor-requested-with": "XMLHttpRequest"})
    return client


def _json_calls(
    kind: str, raw: RawDatabase, server: ServerProcess, bare: ServerProcess, console: httpx.Client
) -> list[str]:
    sql = f"SELECT {COLUMNS} FROM job_history WHERE {PAGE_SQL_FILTER} ORDER BY operation_start DESC, id DESC LIMIT 50"
    history = "/KeyfactorAPI/OrchestratorJobs/JobHistory"
    for _ in range(20):
        raw.execute(sql)
        bare.client.get("/page", params={"page": 1})
        server.client.get("/OrchestratorJobs/JobHistory", params=PARAMS)
        console.get(history, params=PARAMS)
        console.get("/")
    medians = {}
    # In turn, call by call, so that the medians see the same minutes of the machine.
    samples: dict[str, list[float]] = {"raw": [], "bare": [], "basic": [], "cookie": [], "html": []}
    actions = {
        "raw": lambda: raw.execute(sql),
        "bare": lambda: bare.client.get("/page", params={"page": 1}),
        "basic": lambda: server.client.get("/OrchestratorJobs/JobHistory", params=PARAMS),
        "cookie": lambda: console.get(history, params=PARAMS),
        "html": lambda: console.get("/"),
    }
    for _ in range(CALLS):
        for name, action in actions.items():
            samples[name].extend(_timed(action, 1))
    medians = {name: statistics.median(values) * 1000 for name, values in samples.items()}
    log(f"{kind}: " + ", ".join(f"{name} {value:.2f} ms" for name, value in medians.items()))
    page = "JobHistory page (50 rows, filtered, sorted)"
    return [
        _line(
            kind, f"{page}, as the console calls it (cookie + CSRF)", medians["cookie"], "raw SELECT", medians["raw"]
        ),
        _line(
            kind,
            f"{page}, as the console calls it (cookie + CSRF)",
            medians["cookie"],
            "bare Starlette",
            medians["bare"],
        ),
        _line(
            kind,
            f"{page}, as the console calls it (cookie + CSRF)",
            medians["cookie"],
            "the API with Basic",
            medians["basic"],
        ),
        _line(
            kind,
            "The page's HTML (`GET /`: session, template)",
            medians["html"],
            "bare Starlette page",
            medians["bare"],
        ),
    ]


def _line(kind: str, measure: str, value: float, against: str, base: float) -> str:
    return (
        f"| {kind} | {measure} | {value:.2f} ms (median of {CALLS}) | {against}: {base:.2f} ms | {value / base:.2f}× |"
    )


async def _live_pages(
    kind: str, base: str, cookies: httpx.Cookies, raw: RawDatabase, server: ServerProcess, count: int
) -> str:
    """`count` open event streams on the one server process; one row written elsewhere; every stream's delay."""
    idle_mb = server.rss_mb()
    limits = httpx.Limits(max_connections=count + 10, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, cookies=cookies, timeout=120, limits=limits) as client:
        ready: list[asyncio.Event] = [asyncio.Event() for _ in range(count)]
        arrived: list[float] = [0.0] * count
        written = asyncio.Event()

        async def page(index: int) -> None:
            async with client.stream("GET", "/console/events") as stream:
                assert stream.status_code == 200, stream.status_code
                async for line in stream.aiter_lines():
                    if line == "event: ready":
                        ready[index].set()
                    elif line == "event: history" and written.is_set():
                        arrived[index] = time.perf_counter()
                        return

        tasks = [asyncio.create_task(page(index)) for index in range(count)]
        opened = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(event.wait() for event in ready)), timeout=300)
        opened_seconds = time.perf_counter() - opened
        await asyncio.sleep(1.5)  # past the debounce of anything earlier
        open_mb = server.rss_mb()
        connections = _server_connections(raw) if kind == "postgresql" else None
        written.set()
        start = time.perf_counter()
        _write_one_run(raw)  # a few ms; the streams are read once it returns
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=300)
    delays = sorted((moment - start) * 1000 for moment in arrived)
    p50, worst = statistics.median(delays), delays[-1]
    log(f"{kind}: {count} pages: opened in {opened_seconds:.1f} s, event p50 {p50:.0f} ms, max {worst:.0f} ms")
    where = f", {connections} database connections" if connections is not None else ""
    return (
        f"| {kind} | {count} open pages on one process: a run written elsewhere reaches every page | "
        f"p50 {p50:.0f} ms, last {worst:.0f} ms (all {count} opened in {opened_seconds:.1f} s) | "
        f"server RSS {idle_mb:.0f} → {open_mb:.0f} MB{where} | – |"
    )


def _write_one_run(raw: RawDatabase) -> None:
    raw.execute(
        "INSERT INTO job_history (job_id, agent_id, client_machine, job_type, schedule, operation_start, result, "
        "status, message) SELECT job_id, agent_id, client_machine, job_type, schedule, operation_start, 4, 3, "
        "'bench: a new failure' FROM job_history ORDER BY id LIMIT 1"
    )


def _server_connections(raw: RawDatabase) -> int:
    rows = raw.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    return int(rows[0][0])


if __name__ == "__main__":
    main()
