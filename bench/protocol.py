"""Benchmark: the orchestrator protocol under many simulated orchestrators, against a bare-Starlette floor.

Usage: .venv/bin/python bench/protocol.py [--databases sqlite,postgresql] [--servers 1,2]
           [--orchestrators 50] [--jobs-per-orchestrator 40] [--pool-size 8] [--seconds 120]
           [--postgres-url postgresql://postgres@127.0.0.1:5432/test] [--client raw|httpx] [--py-spy PATH] [--repeat N]

For each database × server count, twice (orchjobs, then bench/bare_protocol_app.py), on a fresh database (a SQLite
temp file; the PostgreSQL scratch database `orchjobs_bench_protocol`, created and dropped here) migrated by
`orchjobs.store.migrate.upgrade`:
1. start N server processes (uvicorn, one worker each, own port). orchjobs runs with ORCHJOBS_AUTO_APPROVE=1;
2. orchjobs: every simulated orchestrator registers once (`Session/Register`, Basic auth, capability
   Custom.FetchLogs); bare: the same agent rows are inserted directly (its SessionToken is the agent id);
3. insert every orchestrator's due FetchLogs jobs into scheduled_job in one statement;
4. the load, timed: one asyncio task per orchestrator, each with its own keep-alive HTTP/1.1 connection
   (orchestrators spread over the servers round-robin), loops Heartbeat → for each JobId handed out:
   Jobs/Configuration → Jobs/Complete (Status 2) until a Heartbeat hands out nothing. The client is a minimal
   asyncio protocol on uvloop (~20-40 µs of CPU per request); `--client httpx` uses one httpx.AsyncClient per
   orchestrator instead, which costs ~1 ms of CPU per request here and makes the client the bottleneck;
5. check that every job was completed exactly once (job_history rows Completed per job_id).
It prints completions/s (jobs completed / wall time of the load), p50/p99 of each call, and where the CPU went
during the load (this client, the servers, PostgreSQL's backends; the machine has 2 cores and all share them).
`--apps orchjobs-quiet` adds orchjobs with logging at WARNING and metrics off: against `orchjobs`, what its request
log lines, protocol events and request metrics cost (a table of its own). `--apps orchjobs-webhook` adds orchjobs with
one webhook subscribed to RunCompleted and its webhook worker idle (ORCHJOBS_WEBHOOK_POLL_SECONDS=3600): what a
completion pays for writing its event (it is in the CPU table and the log lines, not in the first table). `--repeat N`
runs N rounds of every cell, the apps interleaved, and the tables take each cell's median. With --py-spy it then
repeats the orchjobs cell of the last database with one server under `py-spy record --gil` and prints where that
server's Python time went. Not a test: nothing here asserts timings.
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
from orchjobs.store.tables import agent, agent_capability, job_history, job_type, scheduled_job, webhook

BENCH_DIR = Path(__file__).parent
SCRATCH_DATABASE = "orchjobs_bench_protocol"
ADMIN = ("bench-admin", "bench-password")
CAPABILITY = "Custom.FetchLogs"
CALLS = ("Register", "Heartbeat", "Configuration", "Complete")
AGENT_VERSION = 563031557799936  # v2.19.0.0 as the C agent sends it
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# `--apps orchjobs-webhook`: orchjobs with one webhook subscribed to RunCompleted, its worker idle.
WITH_WEBHOOK = "orchjobs-webhook"
# `--apps orchjobs-quiet`: orchjobs without its request log lines and protocol events (ORCHJOBS_LOG_LEVEL=WARNING) and
# without request metrics (ORCHJOBS_METRICS=off): against `orchjobs`, what logging and metrics cost a completion.
QUIET = "orchjobs-quiet"
# `--apps orchjobs-no-notify`: orchjobs without the statement triggers on job_history (PostgreSQL): what they cost the
# protocol. They issued NOTIFY for the console's live feed (each commit then took PostgreSQL's notification lock);
# since migrations 0012 and 0013 they advance a sequence and keep the per-day counts of open failures (FailureCount
# is then wrong in this app: nothing keeps it).
NO_NOTIFY = "orchjobs-no-notify"


@dataclass
class Cpu:
    """CPU seconds used during the load, by whom, and the wall time it took."""

    wall: float = 0.0
    client: float = 0.0
    servers: float = 0.0
    machine_busy: float = 0.0  # all processes, from /proc/stat
    switches: int = 0  # context switches of the servers' threads

    @property
    def rest(self) -> float:
        """PostgreSQL's backends (short-lived ones included), the kernel's network work, anything else."""
        return max(0.0, self.machine_busy - self.client - self.servers)


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
    database_sessions: int | None = None  # PostgreSQL connections opened during the cell

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
    parser.add_argument(
        "--client", choices=("raw", "httpx"), default="raw", help="raw: a minimal asyncio HTTP/1.1 client (default)"
    )
    parser.add_argument(
        "--warm-auth", action="store_true", help="verify the Basic credential once before Register (no Argon2 there)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="rounds of each cell; the tables take the median")
    parser.add_argument("--py-spy", help="path of py-spy: profile one orchjobs server under the same load")
    parser.add_argument("--profile-output", help="keep py-spy's collapsed stacks (GIL holder only) in this file")
    args = parser.parse_args()
    started = time.perf_counter()
    cells: list[Cell] = []
    with tempfile.TemporaryDirectory(prefix="orchjobs-bench-protocol-") as scratch:
        for kind in args.databases.split(","):
            for servers in (int(count) for count in args.servers.split(",")):
                # Rounds interleave the apps, so that a slow minute of the machine does not fall on one of them.
                for _round in range(args.repeat):
                    for app in args.apps.split(","):
                        cells.append(run_cell(kind, servers, app, args, Path(scratch)))
                        log(summary(cells[-1]))
        profile_text = ""
        if args.py_spy:
            kind = args.databases.split(",")[-1]
            profile = Path(args.profile_output) if args.profile_output else Path(scratch) / "profile.txt"
            profiled = run_cell(kind, 1, "orchjobs", args, Path(scratch), py_spy=(args.py_spy, profile))
            log(summary(profiled))
            profile_text = (
                f"Profiled run ({profiled.database}, 1 orchjobs server under py-spy, not in the table): "
                f"{profiled.rate:,.0f} completions/s.\n\n" + summarize_profile(profile)
            )
    print(render(cells, args))
    if profile_text:
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
    if app == WITH_WEBHOOK:
        add_webhook(engine)
    if app == NO_NOTIFY and kind == "postgresql":
        with engine.begin() as conn:
            for trigger in ("job_history_inserted", "job_history_updated", "job_history_deleted"):
                conn.execute(text(f"DROP TRIGGER {trigger} ON job_history"))
    processes = [start_server(app, url, args.pool_size) for _ in range(servers)]
    profiler = None
    try:
        bases = [wait_until_ready(process, port, app, warm_auth=args.warm_auth) for process, port in processes]
        if app != "bare":
            sessions = run_async(register_all(bases, names, cell, args.client))
        else:
            sessions = insert_agents(engine, names)
        cell.jobs = insert_jobs(engine, [agent_id for agent_id, _token in sessions], args.jobs_per_orchestrator)
        analyze(engine)
        if py_spy is not None:
            profiler = subprocess.Popen(
                [py_spy[0], "record", "--gil", "--nonblocking", "--rate", "250", "--format", "raw"]
                + ["-o", str(py_spy[1]), "--pid", str(processes[0][0].pid)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(1.0)  # py-spy attaches
        pids = [process.pid for process, _port in processes]
        run_async(load(bases, sessions, names, cell, pids, args.seconds, args.client))
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


def add_webhook(engine: Engine) -> None:
    """One enabled webhook subscribed to RunCompleted, there before the servers start (so that each one's snapshot
    has it): every completion of the load then writes its event."""
    with engine.begin() as conn:
        conn.execute(
            insert(webhook).values(
                id=uuid.uuid4(),
                url="http://127.0.0.1:9/",
                secret="bench-secret-0123456789",
                query="",
                events="RunCompleted",
                enabled=True,
                created_at=datetime.now(UTC),
            )
        )


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
    if app != "bare":
        # What `orchjobs serve` runs: its HTTP protocol class bounds the headers and hands over client certificates.
        target = ["orchjobs.cli:app_factory", "--factory", "--http", "orchjobs.serving:ClientCertHttpToolsProtocol"]
        env |= {
            "ORCHJOBS_DATABASE_URL": url,
            "ORCHJOBS_BOOTSTRAP_ADMIN": ":".join(ADMIN),
            "ORCHJOBS_AUTO_APPROVE": "1",
            "ORCHJOBS_DB_POOL_SIZE": str(pool_size),
        }
        if app == QUIET:
            env |= {"ORCHJOBS_LOG_LEVEL": "WARNING", "ORCHJOBS_METRICS": "off"}
        if app == WITH_WEBHOOK:
            # The worker stays idle during the load: the cell measures what a job call pays for the event.
            env["ORCHJOBS_WEBHOOK_POLL_SECONDS"] = "3600"
    else:
        target = ["bare_protocol_app:app"]
        env |= {"BENCH_DATABASE_URL": url, "BENCH_POOL_SIZE": str(pool_size), "PYTHONPATH": str(BENCH_DIR)}
    command = [sys.executable, "-m", "uvicorn", *target, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--no-access-log", "--log-level", "warning"]
    # Its log lines go to a file, as an operator's would (to the terminal they would cost the terminal's time).
    with tempfile.TemporaryFile() as log_file:
        return subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT), port


def wait_until_ready(process: subprocess.Popen[bytes], port: int, app: str, *, warm_auth: bool) -> str:
    """Poll with an unauthenticated Heartbeat (200, SessionValid false) until the server answers. With warm_auth,
    also make one authenticated call, so that Register finds the credential in the server's cache; without it,
    the first Registers pay for Argon2 as a fleet registering with a freshly started server does."""
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{app} server exited with status {process.returncode}")
        try:
            probe = httpx.post(base + "/KeyfactorAgents/Session/Heartbeat", json={"SessionToken": ""}, timeout=2)
            if probe.status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    else:
        raise RuntimeError(f"{app} server did not start")
    if warm_auth and app != "bare":
        headers = {"x-keyfactor-requested-with": "APIClient", "Authorization": basic_auth()}
        httpx.get(base + "/KeyfactorAPI/Status/Endpoints", headers=headers, timeout=30).raise_for_status()
    return base


def basic_auth() -> str:
    return "Basic " + base64.b64encode(":".join(ADMIN).encode()).decode()


# --- the client: one keep-alive connection per simulated orchestrator ----------------------------------


class RawConnection(asyncio.Protocol):
    """A minimal HTTP/1.1 keep-alive client connection: one request at a time, Content-Length bodies only.

    httpx costs about 1 ms of CPU per request on this machine (and ~4.6 ms with 50 connections in one pool):
    as the load generator it saturated a core at ~300 requests/s, far below the servers. This costs ~20-40 µs."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.transport: asyncio.WriteTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's TCPTransport is not an asyncio subclass

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        at = head.find(b"\ncontent-length:")
        if at < 0:
            self._fail(RuntimeError(f"no Content-Length in {head[:200]!r}"))
            return
        stop = head.find(b"\r\n", at + 1)
        length = int(head[at + 16 : stop if stop > 0 else None])
        if len(self.buffer) < end + 4 + length:
            return
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((int(head[9:12]), body))

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or ConnectionError("the server closed the connection"))

    def _fail(self, exc: Exception) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    async def post(self, path: str, body: bytes, headers: bytes = b"") -> tuple[int, bytes]:
        assert self.transport is not None and self.waiter is None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(
            b"POST %s HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%s\r\n%s"
            % (path.encode(), len(body), headers, body)
        )
        return await self.waiter

    async def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class HttpxConnection:
    """The same through httpx (--client httpx): one AsyncClient, keep-alive, per orchestrator."""

    def __init__(self, base: str) -> None:
        self.client = httpx.AsyncClient(base_url=base, timeout=120)

    async def post(self, path: str, body: bytes, headers: bytes = b"") -> tuple[int, bytes]:
        extra = dict(line.split(": ", 1) for line in headers.decode().splitlines() if line)
        response = await self.client.post(path, content=body, headers={"content-type": "application/json", **extra})
        return response.status_code, response.content

    async def close(self) -> None:
        await self.client.aclose()


Connection = RawConnection | HttpxConnection


async def connect(base: str, kind: str) -> Connection:
    if kind == "httpx":
        return HttpxConnection(base)
    host, port = base.removeprefix("http://").split(":")
    _transport, protocol = await asyncio.get_running_loop().create_connection(RawConnection, host, int(port))
    return protocol


def run_async(coroutine):  # type: ignore[no-untyped-def]
    """asyncio.run on uvloop when it is installed (as uvicorn uses it): less client CPU per request."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


# --- setup: orchestrators and jobs ---------------------------------------------------------------


async def register_all(
    bases: Sequence[str], names: Sequence[str], cell: Cell, client: str
) -> list[tuple[uuid.UUID, str]]:
    """Every orchestrator registers once, all at the same time, on its server (round-robin)."""
    connections = [await connect(bases[index % len(bases)], client) for index in range(len(names))]
    headers = b"authorization: %s\r\n" % basic_auth().encode()

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
        status, content = await connections[index].post(
            "/KeyfactorAgents/Session/Register", orjson.dumps(body), headers
        )
        cell.latencies["Register"].append(time.perf_counter() - start)
        answer = orjson.loads(content)
        if status != 200 or answer["Result"]["Status"] != 1:
            raise RuntimeError(f"Register of {name} failed: {status} {content[:300]!r}")
        return uuid.UUID(answer["Session"]["AgentId"]), answer["Session"]["Token"]

    try:
        return list(await asyncio.gather(*(one(index, name) for index, name in enumerate(names))))
    finally:
        for connection in connections:
            await connection.close()


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


async def load(
    bases: Sequence[str],
    sessions: Sequence[tuple[uuid.UUID, str]],
    names: Sequence[str],
    cell: Cell,
    server_pids: Sequence[int],
    seconds: float,
    client: str,
) -> None:
    connections = [await connect(bases[index % len(bases)], client) for index in range(len(sessions))]
    deadline = time.perf_counter() + seconds
    latencies = cell.latencies

    async def call(connection: Connection, name: str, body: dict[str, object]) -> dict[str, object]:
        start = time.perf_counter()
        status, content = await connection.post(f"/KeyfactorAgents/{name}", orjson.dumps(body))
        latencies[name.rsplit("/", 1)[1]].append(time.perf_counter() - start)
        if status != 200:
            raise RuntimeError(f"{name}: HTTP {status} {content[:300]!r}")
        answer: dict[str, object] = orjson.loads(content)
        return answer

    async def orchestrator(index: int, token: str) -> None:
        connection = connections[index]
        beat = {"SessionToken": token, "ClientMachine": names[index], "AgentPlatform": 5}
        while True:
            answer = await call(connection, "Session/Heartbeat", beat)
            if answer.get("SessionValid") is not True:
                raise RuntimeError(f"Heartbeat of {names[index]}: {answer}")
            jobs = answer.get("Jobs") or []
            if not jobs:
                return
            for job in jobs:  # type: ignore[attr-defined]
                job_id = job["JobId"]
                config = await call(connection, "Jobs/Configuration", {"SessionToken": token, "JobId": job_id})
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
                done = await call(connection, "Jobs/Complete", body)
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
        for connection in connections:
            await connection.close()
    cell.cpu = Cpu(
        wall=cell.wall,
        client=after[0] - before[0],
        servers=after[1] - before[1],
        machine_busy=after[2] - before[2],
        switches=after[3] - before[3],
    )


def cpu_snapshot(server_pids: Sequence[int]) -> tuple[float, float, float, int]:
    """CPU seconds so far of (this process, the servers, the whole machine), and the servers' context switches."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    client = usage.ru_utime + usage.ru_stime
    servers = sum(process_cpu(pid) for pid in server_pids)
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    busy = sum(int(value) for value in fields[:8]) - int(fields[3]) - int(fields[4])  # minus idle and iowait
    return client, servers, busy / CLOCK_TICKS, sum(context_switches(pid) for pid in server_pids)


def context_switches(pid: int) -> int:
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            for line in (task / "status").read_text().splitlines():
                if "ctxt_switches:" in line:
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


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
        if conn.dialect.name == "postgresql":
            cell.database_sessions = conn.execute(
                text("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
            ).scalar_one()
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
        f"servers {cpu.servers / cpu.wall:.2f}, rest {cpu.rest / cpu.wall:.2f}, "
        f"machine {cpu.machine_busy / cpu.wall:.2f} cores; {cpu.switches / max(cell.completed, 1):.0f} server "
        f"context switches per completion; {cell.database_sessions} database sessions; {cell.verified}"
    )


def median_cells(cells: Sequence[Cell]) -> dict[tuple[str, int, str], Cell]:
    """Each (database, servers, app)'s cell of median completions/s among its rounds (the lower middle one)."""
    rounds: dict[tuple[str, int, str], list[Cell]] = {}
    for cell in cells:
        rounds.setdefault((cell.database, cell.servers, cell.app), []).append(cell)
    return {key: sorted(group, key=lambda c: c.rate)[(len(group) - 1) // 2] for key, group in rounds.items()}


def server_ms_per_completion(cell: Cell) -> float:
    return cell.cpu.servers * 1000 / max(cell.completed, 1)


def render_quiet(by_key: dict[tuple[str, int, str], Cell], names: dict[str, str]) -> list[str]:
    """What logging and metrics cost: orchjobs against orchjobs-quiet, cell by cell."""
    lines = [
        "",
        "Logging and metrics: orchjobs (log lines at INFO, request metrics kept) against orchjobs-quiet (WARNING, "
        "ORCHJOBS_METRICS=off); server CPU per completion, in ms.",
        "",
        "| Database | Servers | orchjobs completions/s | quiet completions/s | orchjobs ÷ quiet "
        "| orchjobs CPU ms | quiet CPU ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for (database, servers, app), cell in by_key.items():
        quiet = by_key.get((database, servers, QUIET))
        if app != "orchjobs" or quiet is None or not quiet.rate:
            continue
        lines.append(
            f"| {names.get(database, database)} | {servers} | {cell.rate:,.0f} | {quiet.rate:,.0f} "
            f"| **{cell.rate / quiet.rate:.2f}×** | {server_ms_per_completion(cell):.2f} "
            f"| {server_ms_per_completion(quiet):.2f} |"
        )
    return lines


def render(cells: Sequence[Cell], args: argparse.Namespace) -> str:
    by_key = median_cells(cells)
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
    if QUIET in args.apps.split(","):
        lines += render_quiet(by_key, names)
    lines += [
        "",
        "CPU during the load, in cores busy (2 available): this client, the server processes, the rest (PostgreSQL's "
        "backends, the kernel's network work), the whole machine; the servers' context switches per completion; "
        "PostgreSQL connections opened in the cell.",
        "",
        "| Database | Servers | Server | Wall s | Client | Servers | Rest | Machine | Switches / completion "
        "| Connections | Register p50 / p99 ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
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
            f"| {cpu.client / cpu.wall:.2f} | {cpu.servers / cpu.wall:.2f} | {cpu.rest / cpu.wall:.2f} "
            f"| {cpu.machine_busy / cpu.wall:.2f} | {cpu.switches / max(cell.completed, 1):.0f} "
            f"| {'—' if cell.database_sessions is None else cell.database_sessions} | {register} |"
        )
    lines.append("")
    state = "warm (--warm-auth)" if args.warm_auth else "cold: each concurrent first Register verifies Argon2"
    lines.append(f"- Register: all {args.orchestrators} orchestrators at once; the servers' credential cache {state}.")
    lines.extend(f"- {cell.database} × {cell.servers} {cell.app}: {cell.verified}." for cell in cells)
    return "\n".join(lines)


# --- profile ----------------------------------------------------------------------------------------

CATEGORIES = (
    ("argon2 (password hashing)", ("argon2",)),
    ("psycopg (driver)", ("psycopg",)),
    ("sqlite3 (driver)", ("sqlite3",)),
    ("SQLAlchemy", ("sqlalchemy",)),
    ("orchjobs", ("orchjobs/",)),
    ("FastAPI / Starlette / pydantic", ("fastapi", "starlette", "pydantic")),
    ("anyio / threading (thread-pool hop)", ("anyio", "threading.py", "concurrent/futures", "queue.py")),
    ("uvicorn / httptools / asyncio", ("uvicorn", "httptools", "asyncio", "uvloop")),
    ("json / orjson", ("json", "orjson")),
)
# (label, a frame that marks the samples spent inside it); nested labels are indented.
STAGES = (
    ("event-loop thread: HTTP, routing, middleware, JSON", None),
    ("worker threads (run_in_threadpool): service and database", "WorkerThread.run (anyio"),
    ("Session/Heartbeat (sessions.heartbeat, hand-out)", "heartbeat (orchjobs/service/sessions.py"),
    ("Jobs/Configuration (job_calls.start_run)", "start_run (orchjobs/service/job_calls.py"),
    ("Jobs/Complete (job_calls.complete_run)", "complete_run (orchjobs/service/job_calls.py"),
    ("· the hot path's statements on the driver (store.driver)", "_execute (orchjobs/store/driver.py"),
    ("pool checkout, pre-ping included", "raw_connection (sqlalchemy/engine/base.py"),
    ("· pre-ping", "_do_ping_w_event (sqlalchemy"),
    ("SQLAlchemy statement cache keys", "_generate_cache_key (sqlalchemy"),
    ("driver calls (SQLAlchemy do_execute → psycopg / sqlite3)", "do_execute (sqlalchemy"),
    ("commits", "commit (sqlalchemy/engine/base.py"),
)


def summarize_profile(path: Path) -> str:
    """Where the sampled server's GIL holder was: by the library of the innermost frame, and by the stages the
    samples pass through."""
    own: Counter[str] = Counter()
    through: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        total += count
        leaf = stack.rsplit(";", 1)[-1]
        own[next((name for name, keys in CATEGORIES if any(key in leaf for key in keys)), "other")] += count
        for name, marker in STAGES:
            if marker is None:
                if "WorkerThread.run (anyio" not in stack:
                    through[name] += count
            elif marker in stack:
                through[name] += count
    if not total:
        return "py-spy recorded no samples."
    lines = [
        f"py-spy --gil: {total:,} samples of the one orchjobs server while a thread held the GIL.",
        "",
        "| Innermost frame in | Share of samples |",
        "|---|---|",
    ]
    lines += [f"| {name} | {count / total:.0%} |" for name, count in own.most_common()]
    lines += ["", "| Samples inside | Share |", "|---|---|"]
    lines += [f"| {name} | {through[name] / total:.0%} |" for name, _marker in STAGES if through[name]]
    return "\n".join(lines)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    main()
