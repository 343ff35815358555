"""Benchmark: the orchestrator protocol under many simulated orchestrators, against a bare-Starlette floor.

Usage: .venv/bin/python bench/protocol.py [--databases sqlite,postgresql] [--servers 1,2]
           [--orchestrators 50] [--jobs-per-orchestrator 40] [--pool-size 8] [--seconds 120]
           [--postgres-url postgresql://postgres@127.0.0.1:5432/test] [--py-spy PATH]

For each database × server count, twice (orchjobs, then bench/bare_protocol_app.py), on a fresh database (a SQLite
temp file; the PostgreSQL scratch database `orchjobs_bench_protocol`, created and dropped here) migrated by
`orchjobs.store.migrate.upgrade`:
1. start N server processes (uvicorn, one worker each, own port). orchjobs runs with ORCHJOBS_AUTO_APPROVE=1;
2. orchjobs: every simulated orchestrator registers once (`Session/Register`, Basic auth, capability
   Custom.FetchLogs); bare: the same agent rows are inserted directly (its SessionToken is the agent id);
3. insert every orchestrator's due FetchLogs jobs into scheduled_job in one statement;
4. the load, timed: one asyncio task per orchestrator (httpx.AsyncClient with keep-alive, orchestrators spread
   over the servers round-robin) loops Heartbeat → for each JobId handed out: Jobs/Configuration → Jobs/Complete
   (Status 2) until a Heartbeat hands out nothing;
5. check that every job was completed exactly once (job_history rows Completed per job_id).
It prints completions/s (jobs completed / wall time of the load), p50/p99 of each call, and where the CPU went
during the load (this client, the servers, PostgreSQL's backends; the machine has 2 cores and all share them).
With --py-spy it then repeats the orchjobs cell of the last database with one server under `py-spy record` and
prints where that server spent its samples. Not a test: nothing here asserts timings.
"""

import argparse
import asyncio
import base64
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import psycopg
from sqlalchemy import Engine, func, insert, select, text

from orchjobs.store.engine import make_engine
from orchjobs.store.migrate import upgrade
from orchjobs.store.tables import agent, agent_capability, job_history, job_type, scheduled_job

BENCH_DIR = Path(__file__).parent
SCRATCH_DATABASE = "orchjobs_bench_protocol"
ADMIN = ("bench-admin", "bench-password")
CAPABILITY = "Custom.FetchLogs"
CALLS = ("Register", "Heartbeat", "Configuration", "Complete")
AGENT_VERSION = 563031557799936  # v2.19.0.0 as the C agent sends it
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Cpu:
    """CPU seconds used during the load, by whom, and the wall time it took."""

    wall: float = 0.0
    client: float = 0.0
    servers: float = 0.0
    postgres: float = 0.0
    machine_busy: float = 0.0  # all processes, from /proc/stat


@dataclass
class Cell:
    database: str
    servers: int
    app: str  # orchjobs or bare
    jobs: int = 0
    completed: int = 0
    wall: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=lambda: {call: [] for call in CALLS})
    cpu: Cpu = field(default_factory=Cpu)
    verified: str = ""
    capped: bool = False
    refusals: int = 0

    @property
    def rate(self) -> float:
        return self.completed / self.wall if self.wall else 0.0

    def percentile(self, call: str, share: float) -> float:
        values = sorted(self.latencies[call])
        if not values:
            return float("nan")
        return values[min(len(values) - 1, int(share * len(values)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--servers", default="1,2", help="server process counts, e.g. 1,2")
    parser.add_argument("--orchestrators", type=int, default=50)
    parser.add_argument("--jobs-per-orchestrator", type=int, default=40)
    parser.add_argument("--pool-size", type=int, default=8, help="database connections per server process")
    parser.add_argument("--seconds", type=float, default=120.0, help="cap on each load phase")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--apps", default="orchjobs,bare", help="which servers to measure")
    parser.add_argument("--py-spy", help="path of py-spy: profile one orchjobs server under the same load")
    args = parser.parse_args()
    started = time.perf_counter()
    cells: list[Cell] = []
    with tempfile.TemporaryDirectory(prefix="orchjobs-bench-protocol-") as scratch:
        for kind in args.databases.split(","):
            for servers in (int(count) for count in args.servers.split(",")):
                for app in args.apps.split(","):
                    cells.append(run_cell(kind, servers, app, args, Path(scratch)))
                    log(summary(cells[-1]))
        profile = None
        if args.py_spy:
            kind = args.databases.split(",")[-1]
            profile = Path(scratch) / "profile.txt"
            log(summary(run_cell(kind, 1, "orchjobs", args, Path(scratch), py_spy=(args.py_spy, profile))))
            profile_text = summarize_profile(profile)
    print(render(cells, args))
    if args.py_spy:
        print()
        print(profile_text)
    print(f"\nWhole run: {time.perf_counter() - started:.0f} s.")


# --- one cell ---------------------------------------------------------------------------------------


def run_cell(
    kind: str, servers: int, app: str, args: argparse.Namespace, scratch: Path, py_spy: tuple[str, Path] | None = None
) -> Cell:
    cell = Cell(database=kind, servers=servers, app=app)
    url = fresh_database(kind, scratch, args.postgres_url)
    engine = make_engine(url)
    upgrade(engine)
    names = [f"bench-{index:04d}.example.com" for index in range(args.orchestrators)]
    processes = [start_server(app, url, args.pool_size) for _ in range(servers)]
    profiler = None
    try:
        bases = [wait_until_ready(process, port, app) for process, port in processes]
        if app == "orchjobs":
            sessions = asyncio.run(register_all(bases, names, cell))
        else:
            sessions = insert_agents(engine, names)
        cell.jobs = insert_jobs(engine, [agent_id for agent_id, _token in sessions], args.jobs_per_orchestrator)
        analyze(engine)
        if py_spy is not None:
            profiler = subprocess.Popen(
                [py_spy[0], "record", "--nonblocking", "--rate", "250", "--format", "raw", "-o", str(py_spy[1])]
                + ["--pid", str(processes[0][0].pid)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(1.0)  # py-spy attaches
        asyncio.run(load(bases, sessions, names, cell, [process.pid for process, _port in processes], args.seconds))
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(timeout=60)
    finally:
        for process, _port in processes:
            process.terminate()
        for process, _port in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    cell.verified = verify(engine, cell)
    engine.dispose()
    if kind == "postgresql":
        drop_postgres(args.postgres_url)
    return cell


def fresh_database(kind: str, scratch: Path, postgres_url: str) -> str:
    if kind == "sqlite":
        path = scratch / f"protocol-{uuid.uuid4().hex[:8]}.db"
        return f"sqlite:///{path}"
    if kind != "postgresql":
        raise SystemExit(f"unknown database {kind!r}: sqlite or postgresql")
    drop_postgres(postgres_url)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {SCRATCH_DATABASE}")
    return postgres_url.rsplit("/", 1)[0] + "/" + SCRATCH_DATABASE


def drop_postgres(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {SCRATCH_DATABASE} WITH (FORCE)")


def start_server(app: str, url: str, pool_size: int) -> tuple[subprocess.Popen[bytes], int]:
    """One uvicorn process with one worker, as `orchjobs serve` runs it (uvloop and httptools when installed)."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ORCHJOBS_", "BENCH_"))}
    if app == "orchjobs":
        target = ["orchjobs.cli:app_factory", "--factory"]
        env |= {
            "ORCHJOBS_DATABASE_URL": url,
            "ORCHJOBS_BOOTSTRAP_ADMIN": ":".join(ADMIN),
            "ORCHJOBS_AUTO_APPROVE": "1",
            "ORCHJOBS_DB_POOL_SIZE": str(pool_size),
        }
    else:
        target = ["bare_protocol_app:app"]
        env |= {"BENCH_DATABASE_URL": url, "BENCH_POOL_SIZE": str(pool_size), "PYTHONPATH": str(BENCH_DIR)}
    command = [sys.executable, "-m", "uvicorn", *target, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--no-access-log", "--log-level", "warning"]
    return subprocess.Popen(command, env=env), port


def wait_until_ready(process: subprocess.Popen[bytes], port: int, app: str) -> str:
    base = f"http://127.0.0.1:{port}"
    probe = "/KeyfactorAPI/Status/Endpoints" if app == "orchjobs" else "/ready"
    # The probe authenticates as the admin, so the server's credential cache already holds it at Register.
    headers = {"x-keyfactor-requested-with": "APIClient", "Authorization": basic_auth()}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{app} server exited with status {process.returncode}")
        try:
            if httpx.get(base + probe, headers=headers, timeout=2).status_code == 200:
                return base
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{app} server did not start")


def basic_auth() -> str:
    return "Basic " + base64.b64encode(":".join(ADMIN).encode()).decode()


# --- setup: orchestrators and jobs ---------------------------------------------------------------


async def register_all(bases: Sequence[str], names: Sequence[str], cell: Cell) -> list[tuple[uuid.UUID, str]]:
    """Every orchestrator registers once, all at the same time, on its server (round-robin)."""
    clients = [client_for(base, len(names)) for base in bases]
    headers = {"content-type": "application/json", "authorization": basic_auth()}

    async def one(index: int, name: str) -> tuple[uuid.UUID, str]:
        body = {
            "ClientMachine": name,
            "AgentId": "",
            "Capabilities": [CAPABILITY],
            "AgentPlatform": 5,
            "AgentVersion": AGENT_VERSION,
            "TenantId": "00000000-0000-0000-0000-000000000000",
            "CSR": None,
            "ClientParameters": {},
        }
        start = time.perf_counter()
        response = await clients[index % len(clients)].post(
            "/KeyfactorAgents/Session/Register", content=orjson.dumps(body), headers=headers
        )
        cell.latencies["Register"].append(time.perf_counter() - start)
        answer = orjson.loads(response.content)
        if response.status_code != 200 or answer["Result"]["Status"] != 1:
            raise RuntimeError(f"Register of {name} failed: {response.status_code} {response.text[:300]}")
        return uuid.UUID(answer["Session"]["AgentId"]), answer["Session"]["Token"]

    try:
        return list(await asyncio.gather(*(one(index, name) for index, name in enumerate(names))))
    finally:
        for client in clients:
            await client.aclose()


def insert_agents(engine: Engine, names: Sequence[str]) -> list[tuple[uuid.UUID, str]]:
    """The bare server's orchestrators: approved agent rows with the capabilities Register would store."""
    now = datetime.now(UTC)
    ids = [uuid.uuid4() for _ in names]
    with engine.begin() as conn:
        conn.execute(
            insert(agent),
            [
                {
                    "id": agent_id,
                    "client_machine": name,
                    "username": ADMIN[0],
                    "platform": 5,
                    "version": "2.19.0.0",
                    "status": 2,
                    "last_seen": now,
                }
                for agent_id, name in zip(ids, names, strict=True)
            ],
        )
        conn.execute(
            insert(agent_capability),
            [{"agent_id": agent_id, "capability": name} for agent_id in ids for name in (CAPABILITY, "LOGS")],
        )
    return [(agent_id, str(agent_id)) for agent_id in ids]


def insert_jobs(engine: Engine, agent_ids: Sequence[uuid.UUID], per_agent: int) -> int:
    """Due one-shot FetchLogs jobs for every orchestrator, in one statement."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        fetch_logs = conn.execute(select(job_type.c.id).where(job_type.c.name == "FetchLogs")).scalar_one()
        rows = [
            {
                "id": uuid.uuid4(),
                "agent_id": agent_id,
                "job_type_id": fetch_logs,
                "capability": CAPABILITY,
                "requested_at": now,
                "next_run_at": now - timedelta(minutes=1),
            }
            for agent_id in agent_ids
            for _ in range(per_agent)
        ]
        conn.execute(insert(scheduled_job), rows)
    return len(rows)


def analyze(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))


# --- the load ---------------------------------------------------------------------------------------


def client_for(base: str, connections: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(base_url=base, limits=limits, timeout=120)


async def load(
    bases: Sequence[str],
    sessions: Sequence[tuple[uuid.UUID, str]],
    names: Sequence[str],
    cell: Cell,
    server_pids: Sequence[int],
    seconds: float,
) -> None:
    clients = [client_for(base, len(sessions)) for base in bases]
    headers = {"content-type": "application/json"}
    deadline = time.perf_counter() + seconds
    latencies = cell.latencies

    async def call(client: httpx.AsyncClient, name: str, body: dict[str, object]) -> dict[str, object]:
        start = time.perf_counter()
        response = await client.post(f"/KeyfactorAgents/{name}", content=orjson.dumps(body), headers=headers)
        latencies[name.rsplit("/", 1)[1]].append(time.perf_counter() - start)
        if response.status_code != 200:
            raise RuntimeError(f"{name}: HTTP {response.status_code} {response.text[:300]}")
        answer: dict[str, object] = orjson.loads(response.content)
        return answer

    async def orchestrator(index: int, token: str) -> None:
        client = clients[index % len(clients)]
        beat = {"SessionToken": token, "ClientMachine": names[index], "AgentPlatform": 5}
        while True:
            answer = await call(client, "Session/Heartbeat", beat)
            if answer.get("SessionValid") is not True:
                raise RuntimeError(f"Heartbeat of {names[index]}: {answer}")
            jobs = answer.get("Jobs") or []
            if not jobs:
                return
            for job in jobs:  # type: ignore[attr-defined]
                job_id = job["JobId"]
                config = await call(client, "Jobs/Configuration", {"SessionToken": token, "JobId": job_id})
                if config["Result"]["Status"] != 1:  # type: ignore[index]
                    cell.refusals += 1
                    continue
                body = {
                    "SessionToken": token,
                    "JobId": job_id,
                    "AuditId": config["AuditId"],
                    "Status": 2,
                    "Message": "Fetched 42 lines of log.",
                }
                done = await call(client, "Jobs/Complete", body)
                if done["Result"]["Status"] != 1:  # type: ignore[index]
                    cell.refusals += 1
                    continue
                cell.completed += 1
            if time.perf_counter() > deadline:
                cell.capped = True
                return

    before = cpu_snapshot(server_pids)
    start = time.perf_counter()
    try:
        await asyncio.gather(*(orchestrator(index, token) for index, (_id, token) in enumerate(sessions)))
    finally:
        cell.wall = time.perf_counter() - start
        after = cpu_snapshot(server_pids)
        for client in clients:
            await client.aclose()
    cell.cpu = Cpu(
        wall=cell.wall,
        client=after[0] - before[0],
        servers=after[1] - before[1],
        postgres=after[2] - before[2],
        machine_busy=after[3] - before[3],
    )


def cpu_snapshot(server_pids: Sequence[int]) -> tuple[float, float, float, float]:
    """CPU seconds so far of (this process, the servers, every postgres process, the whole machine)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    client = usage.ru_utime + usage.ru_stime
    servers = sum(process_cpu(pid) for pid in server_pids)
    postgres = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    postgres += process_cpu(int(entry.name))
            except OSError:
                continue
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    busy = sum(int(value) for value in fields[:8]) - int(fields[3]) - int(fields[4])  # minus idle and iowait
    return client, servers, postgres, busy / CLOCK_TICKS


def process_cpu(pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


# --- checks and output ------------------------------------------------------------------------------


def verify(engine: Engine, cell: Cell) -> str:
    """Every job completed exactly once (all of them unless the load was capped), and no run left over."""
    with engine.connect() as conn:
        per_job = conn.execute(
            select(job_history.c.job_id, func.count()).where(job_history.c.status == 3).group_by(job_history.c.job_id)
        ).all()
        runs = conn.execute(select(func.count()).select_from(job_history)).scalar_one()
        left = conn.execute(select(func.count()).select_from(scheduled_job)).scalar_one()
    counts = Counter(count for _job, count in per_job)
    twice = sum(number for count, number in counts.items() if count > 1)
    problems = []
    if twice:
        problems.append(f"{twice} jobs completed more than once")
    if len(per_job) != cell.completed:
        problems.append(f"{len(per_job)} jobs completed in the database, {cell.completed} by the client")
    if not cell.capped and (len(per_job) != cell.jobs or runs != cell.jobs or left):
        problems.append(f"{cell.jobs} jobs, {len(per_job)} completed, {runs} runs, {left} jobs left")
    if cell.refusals:
        problems.append(f"{cell.refusals} refused calls")
    if problems:
        raise SystemExit(f"{cell.database}/{cell.servers}/{cell.app}: " + "; ".join(problems))
    return f"{len(per_job):,} jobs completed exactly once" + (" (capped)" if cell.capped else "")


def summary(cell: Cell) -> str:
    latencies = ", ".join(
        f"{call} {cell.percentile(call, 0.5):.1f}/{cell.percentile(call, 0.99):.1f} ms"
        for call in CALLS
        if cell.latencies[call]
    )
    cpu = cell.cpu
    return (
        f"{cell.database} × {cell.servers} {cell.app}: {cell.completed:,} completions in {cell.wall:.2f} s = "
        f"{cell.rate:,.0f}/s; p50/p99 {latencies}; CPU during load: client {cpu.client / cpu.wall:.2f}, "
        f"servers {cpu.servers / cpu.wall:.2f}, postgres {cpu.postgres / cpu.wall:.2f}, "
        f"machine {cpu.machine_busy / cpu.wall:.2f} cores; {cell.verified}"
    )


def render(cells: Sequence[Cell], args: argparse.Namespace) -> str:
    by_key = {(cell.database, cell.servers, cell.app): cell for cell in cells}
    names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    lines = [
        f"{args.orchestrators} orchestrators × {args.jobs_per_orchestrator} jobs; "
        f"{args.pool_size} database connections per server process. Latency p50 / p99 in ms (orchjobs · bare).",
        "",
        "| Database | Servers | orchjobs completions/s | bare completions/s | orchjobs ÷ bare "
        "| Heartbeat | Configuration | Complete |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (database, servers, app), cell in by_key.items():
        if app != "orchjobs":
            continue
        bare = by_key.get((database, servers, "bare"))
        ratio = f"**{cell.rate / bare.rate:.2f}×**" if bare and bare.rate else "—"
        columns = [
            names.get(database, database),
            str(servers),
            f"**{cell.rate:,.0f}**",
            f"{bare.rate:,.0f}" if bare else "—",
            ratio,
        ]
        for call in ("Heartbeat", "Configuration", "Complete"):
            pair = f"{cell.percentile(call, 0.5):.1f} / {cell.percentile(call, 0.99):.1f}"
            if bare:
                pair += f" · {bare.percentile(call, 0.5):.1f} / {bare.percentile(call, 0.99):.1f}"
            columns.append(pair)
        lines.append("| " + " | ".join(columns) + " |")
    lines += [
        "",
        "CPU during the load, in cores busy (2 available): this client · the server processes · PostgreSQL · "
        "the whole machine.",
        "",
        "| Database | Servers | Server | Wall s | Client | Servers | PostgreSQL | Machine | Register p50 / p99 ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for cell in cells:
        cpu = cell.cpu
        register = (
            f"{cell.percentile('Register', 0.5):.1f} / {cell.percentile('Register', 0.99):.1f}"
            if cell.latencies["Register"]
            else "—"
        )
        lines.append(
            f"| {names.get(cell.database, cell.database)} | {cell.servers} | {cell.app} | {cell.wall:.2f} "
            f"| {cpu.client / cpu.wall:.2f} | {cpu.servers / cpu.wall:.2f} | {cpu.postgres / cpu.wall:.2f} "
            f"| {cpu.machine_busy / cpu.wall:.2f} | {register} |"
        )
    lines.append("")
    lines.extend(f"- {cell.database} × {cell.servers} {cell.app}: {cell.verified}." for cell in cells)
    return "\n".join(lines)


# --- profile ----------------------------------------------------------------------------------------

CATEGORIES = (
    ("argon2 (password hashing)", ("argon2",)),
    ("psycopg (driver, socket I/O)", ("psycopg",)),
    ("sqlite3 (driver)", ("sqlite3",)),
    ("SQLAlchemy", ("sqlalchemy",)),
    ("orchjobs", ("orchjobs",)),
    ("FastAPI / Starlette / pydantic", ("fastapi", "starlette", "pydantic")),
    ("anyio / threads (thread-pool hop)", ("anyio", "threading.py", "concurrent/futures", "queue.py")),
    ("uvicorn / httptools / asyncio", ("uvicorn", "httptools", "asyncio", "uvloop")),
    ("logging", ("logging",)),
)


def summarize_profile(path: Path) -> str:
    """Where the sampled server spent its time: by the library of the innermost frame, then by the service
    functions and SQLAlchemy / psycopg stages the samples pass through."""
    own: Counter[str] = Counter()
    through: Counter[str] = Counter()
    total = 0
    markers = {
        "sessions.session_agent (token lookup)": "session_agent (orchjobs/service/sessions.py",
        "sessions.heartbeat": "heartbeat (orchjobs/service/sessions.py",
        "dispatch.hand_out_due_jobs": "hand_out_due_jobs (orchjobs/service/dispatch.py",
        "dispatch.start_run (Configuration)": "start_run (orchjobs/service/dispatch.py",
        "dispatch.complete_run (Complete)": "complete_run (orchjobs/service/dispatch.py",
        "SQLAlchemy compiling statements": "_compiler (sqlalchemy",
        "SQLAlchemy pool checkout (incl. pre-ping)": "_checkout (sqlalchemy/pool/base.py",
        "SQLAlchemy pool pre-ping": "_do_ping_w_event (sqlalchemy",
        "SQLAlchemy connection reset on return": "_reset (sqlalchemy/pool/base.py",
        "psycopg execute (round trips)": "execute (psycopg/cursor.py",
        "psycopg commit": "commit (psycopg/connection.py",
        "psycopg autocommit switch": "_set_autocommit (psycopg",
        "starlette run_in_threadpool": "run_in_threadpool (starlette",
        "JSON request parsing (request_body)": "request_body (orchjobs/api/protocol.py",
    }
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        leaf = frames[-1]
        own[next((name for name, keys in CATEGORIES if any(key in leaf for key in keys)), "other")] += count
        for name, marker in markers.items():
            if marker in stack:
                through[name] += count
    if not total:
        return "py-spy recorded no samples."
    lines = [
        f"py-spy: {total:,} samples of the one orchjobs server (non-idle threads).",
        "",
        "| Innermost frame in | Share of samples |",
        "|---|---|",
    ]
    lines += [f"| {name} | {count / total:.0%} |" for name, count in own.most_common()]
    lines += ["", "| Samples passing through | Share |", "|---|---|"]
    lines += [f"| {name} | {through[name] / total:.0%} |" for name in markers if through[name]]
    return "\n".join(lines)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    main()
