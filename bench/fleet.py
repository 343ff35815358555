"""Benchmark: a fleet of orchestrators that check in every minute, against two orchjobs server processes.

Usage: .venv/bin/python bench/fleet.py [--orchestrators 5000] [--servers 2] [--database postgresql|sqlite]
           [--ramp-seconds 30] [--seconds 180] [--heartbeat-minutes 1] [--heartbeat-seconds S] [--job-minutes 5]
           [--one-shot-jobs 0] [--pool-size 10] [--keep-alive-seconds 5] [--quick]
           [--postgres-url postgresql://postgres@127.0.0.1:5432/test]

bench/protocol.py measures how fast the servers drain a backlog (every orchestrator busy all the time); this one
measures the load of a fleet at rest: many orchestrators, each mostly idle, checking in on a schedule.
1. a fresh database (the PostgreSQL scratch database `orchjobs_bench_fleet`, created and dropped here, or a SQLite
   temp file with `--database sqlite`), migrated, with AgentHeartbeatInterval set to `--heartbeat-minutes`;
2. `--servers` orchjobs processes (uvicorn, one worker each, as `orchjobs serve` runs it, ORCHJOBS_AUTO_APPROVE=1,
   ORCHJOBS_DB_POOL_SIZE=`--pool-size`); orchestrators are spread over them round-robin;
3. the ramp: the orchestrators start one after another over `--ramp-seconds`, each with its own keep-alive
   connection, and register (`Session/Register`, Basic auth as one administrator: the servers' credential cache
   means Argon2 runs a few times, not once per orchestrator). Each then heartbeats at the interval the server
   answered (or every `--heartbeat-seconds`), at its own phase (fixed seed), so that the fleet's heartbeats are
   spread evenly;
4. once every orchestrator is registered, each gets one FetchLogs job with an Interval schedule of `--job-minutes`,
   first due at a random moment of the next interval (so the fleet completes jobs at a steady rate), and
   `--one-shot-jobs` one-shot FetchLogs jobs due at random moments of the measured window. A heartbeat that hands
   out jobs is followed by Jobs/Configuration → Jobs/Complete for each, as an orchestrator runs them;
5. the measured window: `--seconds`, starting one heartbeat period after the jobs were scheduled (from then on jobs
   are handed out at the rate they come due). Calls started in it count: calls/s and p50/p99/max latency per call at
   the client (opening a connection counts in the call's latency: the client, like an HTTP client's idle timeout,
   does not reuse a connection idle for nearly the server's keep-alive, uvicorn's 5 s as `orchjobs serve` runs, so an
   orchestrator that heartbeats every minute opens a connection per check-in), CPU of the servers, of PostgreSQL's
   backends for the scratch database and of this client (/proc), and the database connections in use
   (pg_stat_activity, sampled twice a second);
6. after the window each orchestrator finishes the check-in it is in and stops; then, from the database: no job was
   handed out twice (no two runs of a job in flight at once, none started before the job's interval had passed since
   the previous one, every one-shot job run at most once), every run handed out was completed, and no job was left
   due at its orchestrator's last heartbeat.
It prints the command line and Markdown tables. `--quick`: 500 orchestrators, a 5 s ramp, heartbeats every 10 s,
jobs every minute (so that most run twice), one one-shot job each, 90 s measured.
Not a test: nothing here asserts timings.
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psycopg
from protocol import (
    ADMIN,
    AGENT_VERSION,
    CAPABILITY,
    RawConnection,
    basic_auth,
    cpu_snapshot,
    free_port,
    log,
    process_cpu,
    run_async,
    wait_until_ready,
)
from run import drop_postgres, prepare_database
from sqlalchemy import Engine, insert, select, text, update

from orchjobs.domain.schedules import schedule_type
from orchjobs.store.engine import make_engine
from orchjobs.store.migrate import upgrade
from orchjobs.store.tables import agent, app_setting, job_history, job_type, scheduled_job

SCRATCH_DATABASE = "orchjobs_bench_fleet"
SEED = 20250513
CALLS = ("Register", "Heartbeat", "Configuration", "Complete")
# Sockets: one per orchestrator here, as many again across the servers, plus files and the database's.
SPARE_FILES = 1024


@dataclass
class Call:
    name: str
    started: float  # perf_counter
    seconds: float
    ok: bool


@dataclass
class Fleet:
    """What the client saw, for the tables and the checks."""

    calls: list[Call] = field(default_factory=list)
    handed_out: int = 0  # JobIds received in Register and Heartbeat answers
    completed: int = 0  # Jobs/Complete answered with Status 1
    double_handouts: int = 0  # a JobId handed out while the client was still running it
    reconnects: int = 0  # connections opened again: the previous one was idle for nearly the keep-alive, or closed
    overruns: int = 0  # check-ins that took longer than the heartbeat period
    errors: list[str] = field(default_factory=list)  # the first few
    error_count: int = 0
    last_beat: dict[uuid.UUID, datetime] = field(default_factory=dict)  # wall clock before each one's last heartbeat
    registered: int = 0
    interval_minutes: int = 0  # HeartbeatInterval as the servers answered it
    window: tuple[float, float] = (0.0, 0.0)  # perf_counter bounds of the measured window
    ramp: tuple[float, float] = (0.0, 0.0)  # from the first Register to the last one answered


@dataclass
class Usage:
    """CPU seconds and samples over the measured window."""

    wall: float = 0.0
    client: float = 0.0
    servers: float = 0.0
    postgres: float | None = None
    machine: float = 0.0
    connections: list[tuple[int, int]] = field(default_factory=list)  # (all, active) for the scratch database
    backends: int = 0  # distinct PostgreSQL backends seen for the scratch database
    sessions_opened: int | None = None  # pg_stat_database.sessions during the window
    server_rss_mb: float = 0.0  # peak, summed over the servers
    ramp_servers: float = 0.0  # the servers' CPU seconds during the ramp (Registers, and the first heartbeats)
    ramp_machine: float = 0.0  # the whole machine's, likewise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orchestrators", type=int, default=5000)
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--ramp-seconds", type=float, default=30.0, help="the orchestrators start over this long")
    parser.add_argument(
        "--seconds", type=float, default=180.0, help="the measured window, after the ramp and a heartbeat period"
    )
    parser.add_argument(
        "--heartbeat-minutes", type=int, default=1, help="AgentHeartbeatInterval, as the servers answer it"
    )
    parser.add_argument("--heartbeat-seconds", type=float, help="heartbeat this often instead of what servers answer")
    parser.add_argument("--job-minutes", type=int, default=5, help="each orchestrator's recurring job runs this often")
    parser.add_argument("--one-shot-jobs", type=int, default=0, help="one-shot jobs per orchestrator in the window")
    parser.add_argument("--pool-size", type=int, default=10, help="ORCHJOBS_DB_POOL_SIZE of each server process")
    parser.add_argument(
        "--keep-alive-seconds", type=int, default=5, help="uvicorn's --timeout-keep-alive (5 as orchjobs serve)"
    )
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--quick", action="store_true", help="500 orchestrators, heartbeats every 10 s, 90 s")
    args = parser.parse_args()
    if args.quick:
        args.orchestrators, args.ramp_seconds, args.seconds = 500, 5.0, 90.0
        args.heartbeat_seconds, args.job_minutes, args.one_shot_jobs = 10.0, 1, 1
    if args.database == "sqlite" and args.servers != 1:
        raise SystemExit("SQLite takes one server process (--servers 1)")
    raise_file_limit(2 * args.orchestrators + SPARE_FILES)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="orchjobs-bench-fleet-") as scratch:
        url, _path = prepare_database(args.database, Path(scratch), args.postgres_url, name=SCRATCH_DATABASE)
        try:
            fleet, usage, checks = run(url, args)
        finally:
            if args.database == "postgresql":
                drop_postgres(args.postgres_url, name=SCRATCH_DATABASE)
    print(render(fleet, usage, checks, args))
    print(f"\nWhole run: {time.perf_counter() - started:.0f} s.")


def raise_file_limit(needed: int) -> None:
    """5,000 orchestrators are 5,000 sockets here and 5,000 across the servers, which inherit this limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise SystemExit(f"{needed} open files needed, the hard limit is {hard}: raise it (ulimit -Hn)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def run(url: str, args: argparse.Namespace) -> tuple[Fleet, Usage, list[str]]:
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            update(app_setting)
            .where(app_setting.c.short_name == "AgentHeartbeatInterval")
            .values(value=str(args.heartbeat_minutes))
        )
    names = [f"fleet-{index:05d}.example.com" for index in range(args.orchestrators)]
    processes = [start_server(url, args) for _ in range(args.servers)]
    fleet, usage = Fleet(), Usage()
    try:
        bases = [wait_until_ready(process, port, "orchjobs", warm_auth=False) for process, port in processes]
        pids = [process.pid for process, _port in processes]
        run_async(drive(bases, names, engine, pids, fleet, usage, args))
    finally:
        for process, _port in processes:
            process.terminate()
        for process, _port in processes:
            process.wait(timeout=60)
    checks = verify(engine, fleet, args)
    engine.dispose()
    return fleet, usage, checks


def start_server(url: str, args: argparse.Namespace) -> tuple[subprocess.Popen[bytes], int]:
    """An orchjobs process as protocol.py starts one, with uvicorn's idle keep-alive set (5 s unless told)."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ORCHJOBS_", "BENCH_"))}
    env |= {
        "ORCHJOBS_DATABASE_URL": url,
        "ORCHJOBS_BOOTSTRAP_ADMIN": ":".join(ADMIN),
        "ORCHJOBS_AUTO_APPROVE": "1",
        "ORCHJOBS_DB_POOL_SIZE": str(args.pool_size),
    }
    command = [sys.executable, "-m", "uvicorn", "orchjobs.cli:app_factory", "--factory"]
    command += ["--http", "orchjobs.serving:ClientCertHttpToolsProtocol", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--no-access-log", "--log-level", "warning", "--timeout-keep-alive", str(args.keep_alive_seconds)]
    with tempfile.TemporaryFile() as log_file:
        return subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT), port


# --- the fleet --------------------------------------------------------------------------------------------------


class FleetConnection(RawConnection):
    """protocol.py's minimal client, which knows when the server has closed it (after its idle keep-alive)."""

    closed = False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        super().connection_lost(exc)


async def drive(
    bases: Sequence[str],
    names: Sequence[str],
    engine: Engine,
    server_pids: Sequence[int],
    fleet: Fleet,
    usage: Usage,
    args: argparse.Namespace,
) -> None:
    loop = asyncio.get_running_loop()
    rng = random.Random(SEED)
    phases = [rng.random() for _ in names]
    origin = time.perf_counter()
    stop_at = [float("inf")]
    stopping = asyncio.Event()  # set at the end of the window: orchestrators waiting for their next beat stop
    all_registered = asyncio.Event()
    register_headers = b"authorization: %s\r\n" % basic_auth().encode()
    in_flight: set[str] = set()
    warm_up = args.heartbeat_seconds or args.heartbeat_minutes * 60.0
    idle_limit = max(0.5, args.keep_alive_seconds - 1.0)
    states: list[dict[str, object]] = []  # each orchestrator's connection, to close at the end

    def note(error: str) -> None:
        fleet.error_count += 1
        if len(fleet.errors) < 20:
            fleet.errors.append(error)

    async def sleep_until(moment: float) -> None:
        delay = moment - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)

    async def call(state: dict[str, object], base: str, name: str, body: dict[str, object], headers: bytes = b""):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        ok = False
        try:
            connection = state.get("connection")
            idle = start - state.get("used", start)  # type: ignore[operator]
            # Like an HTTP client's own idle timeout, shorter than the server's: a connection the server may be
            # closing right now is not used (a request sent as it closes would be reset, answered or not).
            if connection is not None and idle > idle_limit:
                await connection.close()  # type: ignore[attr-defined]
                connection.closed = True  # type: ignore[attr-defined]
            if connection is None or connection.closed:  # type: ignore[attr-defined]
                if connection is not None:
                    fleet.reconnects += 1
                host, port = base.removeprefix("http://").split(":")
                _transport, connection = await loop.create_connection(FleetConnection, host, int(port))
                state["connection"] = connection
            status, content = await connection.post(f"/KeyfactorAgents/{name}", orjson.dumps(body), headers)  # type: ignore[union-attr]
            if status != 200:
                raise RuntimeError(f"HTTP {status} {content[:200]!r}")
            answer = orjson.loads(content)
            ok = True
            state["used"] = time.perf_counter()
            return answer
        except Exception as exc:  # noqa: BLE001 - counted and reported; the orchestrator tries again at its next beat
            note(f"{name}: {exc}")
            state["connection"] = None
            return None
        finally:
            fleet.calls.append(Call(name.rsplit("/", 1)[1], start, time.perf_counter() - start, ok))

    async def run_jobs(state: dict[str, object], base: str, token: str, jobs: list[dict[str, object]]) -> None:
        fleet.handed_out += len(jobs)
        for job in jobs:
            job_id = str(job["JobId"])
            if job_id in in_flight:
                fleet.double_handouts += 1
            in_flight.add(job_id)
        for job in jobs:
            job_id = str(job["JobId"])
            config = await call(state, base, "Jobs/Configuration", {"SessionToken": token, "JobId": job_id})
            if config is None or config["Result"]["Status"] != 1:
                note(f"Configuration of {job_id}: {config}")
                continue
            body = {
                "SessionToken": token,
                "JobId": job_id,
                "AuditId": config["AuditId"],
                "Status": 2,
                "Message": "Fetched 42 lines of log.",
            }
            done = await call(state, base, "Jobs/Complete", body)
            in_flight.discard(job_id)
            if done is None or done["Result"]["Status"] != 1:
                note(f"Complete of {job_id}: {done}")
                continue
            fleet.completed += 1

    async def orchestrator(index: int) -> None:
        base = bases[index % len(bases)]
        state: dict[str, object] = {}
        states.append(state)
        await sleep_until(origin + args.ramp_seconds * index / len(names))
        registration = {
            "ClientMachine": names[index],
            "AgentId": "",
            "Capabilities": [CAPABILITY],
            "AgentPlatform": 5,
            "AgentVersion": AGENT_VERSION,
            "TenantId": "00000000-0000-0000-0000-000000000000",
            "CSR": None,
            "ClientParameters": {},
        }
        answer = None
        while answer is None:  # a refused or failed registration is tried again, as the agent does
            answer = await call(state, base, "Session/Register", registration, register_headers)
            if answer is None or answer["Result"]["Status"] != 1:
                answer = None
                await asyncio.sleep(5)
        session = answer["Session"]
        token, agent_id = session["Token"], uuid.UUID(session["AgentId"])
        fleet.interval_minutes = session["HeartbeatInterval"]
        period = args.heartbeat_seconds or session["HeartbeatInterval"] * 60.0
        await run_jobs(state, base, token, answer.get("Jobs") or [])
        fleet.registered += 1
        if fleet.registered == len(names):
            all_registered.set()
        beat = {"SessionToken": token, "ClientMachine": names[index], "AgentPlatform": 5}
        moment = origin + phases[index] * period
        while moment <= time.perf_counter():
            moment += period
        while True:
            if moment >= stop_at[0]:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), max(0.0, moment - time.perf_counter()))
            if moment >= stop_at[0]:
                return
            fleet.last_beat[agent_id] = datetime.now(UTC)
            answer = await call(state, base, "Session/Heartbeat", beat)
            if answer is not None:
                if answer.get("SessionValid") is not True:
                    note(f"Heartbeat of {names[index]}: {answer}")
                    return
                await run_jobs(state, base, token, answer.get("Jobs") or [])
            moment += period
            if moment <= time.perf_counter():
                fleet.overruns += 1
                while moment <= time.perf_counter():
                    moment += period

    async def conductor() -> None:
        ramp_before = cpu_snapshot(server_pids)
        await all_registered.wait()
        ramp_after = cpu_snapshot(server_pids)
        usage.ramp_servers, usage.ramp_machine = ramp_after[1] - ramp_before[1], ramp_after[2] - ramp_before[2]
        fleet.ramp = (origin, time.perf_counter())
        log(f"{len(names)} orchestrators registered in {time.perf_counter() - origin:.1f} s; scheduling jobs")
        agent_ids = await asyncio.to_thread(_agent_ids, engine)
        await asyncio.to_thread(insert_jobs, engine, agent_ids, args, warm_up)
        await asyncio.to_thread(engine.dispose)  # its connection is not the servers' (nor counted with theirs)
        # One heartbeat period before the window: a job that came due is handed out at the next heartbeat, so the
        # rate of hand-outs is the rate jobs come due only from one period after they were scheduled.
        log(f"jobs scheduled; warming up for {warm_up:.0f} s")
        await asyncio.sleep(warm_up)
        start = time.perf_counter()
        stop_at[0] = start + args.seconds
        fleet.window = (start, stop_at[0])
        sampler = Sampler(args, server_pids)
        before = cpu_snapshot(server_pids)
        sampler.start()
        await sleep_until(stop_at[0])
        stopping.set()
        after = cpu_snapshot(server_pids)
        sampler.stop()
        usage.wall = time.perf_counter() - start
        usage.client, usage.servers, usage.machine = (after[0] - before[0], after[1] - before[1], after[2] - before[2])
        sampler.fill(usage)
        log(f"window of {usage.wall:.0f} s over; the orchestrators finish their check-ins")

    try:
        await asyncio.gather(conductor(), *(orchestrator(index) for index in range(len(names))))
    finally:
        for state in states:
            connection = state.get("connection")
            if connection is not None:
                await connection.close()  # type: ignore[attr-defined]


def _agent_ids(engine: Engine) -> list[uuid.UUID]:
    with engine.connect() as conn:
        return list(conn.execute(select(agent.c.id).order_by(agent.c.client_machine)).scalars())


def insert_jobs(engine: Engine, agent_ids: Sequence[uuid.UUID], args: argparse.Namespace, warm_up: float) -> None:
    """Each orchestrator's recurring FetchLogs job, first due at a random moment of the next interval, and its
    one-shot jobs due at random moments of the window, which starts `warm_up` seconds from now (its last heartbeat
    period left free, so that all are handed out in it)."""
    rng = random.Random(SEED + 1)
    now = datetime.now(UTC)
    schedule = {"Interval": {"Minutes": args.job_minutes}}
    period = args.heartbeat_seconds or args.heartbeat_minutes * 60.0
    spread = max(args.seconds - period, 1.0)
    with engine.begin() as conn:
        fetch_logs = conn.execute(select(job_type.c.id).where(job_type.c.name == "FetchLogs")).scalar_one()
        common = {"job_type_id": fetch_logs, "capability": CAPABILITY, "requested_at": now}
        rows = [
            {
                **common,
                "id": uuid.uuid4(),
                "agent_id": agent_id,
                "schedule": json.dumps(schedule),
                "schedule_type": schedule_type(schedule),
                "next_run_at": now + timedelta(seconds=rng.uniform(0, args.job_minutes * 60)),
            }
            for agent_id in agent_ids
        ]
        rows += [
            {
                **common,
                "id": uuid.uuid4(),
                "agent_id": agent_id,
                "schedule": None,
                "schedule_type": None,
                "next_run_at": now + timedelta(seconds=warm_up + rng.uniform(0, spread)),
            }
            for agent_id in agent_ids
            for _ in range(args.one_shot_jobs)
        ]
        conn.execute(insert(scheduled_job), rows)
        conn.execute(text("ANALYZE"))


# --- what the machine and the database did in the window -------------------------------------------------------


class Sampler:
    """Twice a second: the scratch database's connections (all, active) and its backends' CPU; the servers' RSS.
    A backend seen for the first time counts from zero (it was started in the window), one gone counts until it was
    last seen."""

    def __init__(self, args: argparse.Namespace, server_pids: Sequence[int]) -> None:
        self.postgres_url = args.postgres_url if args.database == "postgresql" else None
        self.server_pids = server_pids
        self.done = threading.Event()
        self.samples: list[tuple[int, int]] = []
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.rss = 0.0
        self.sessions: list[int] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.done.set()
        self.thread.join()

    def _run(self) -> None:
        conn = psycopg.connect(self.postgres_url, autocommit=True) if self.postgres_url else None
        try:
            first = True
            while True:
                self._sample(conn, first=first)
                first = False
                if self.done.wait(0.5):
                    self._sample(conn, first=False)
                    return
        finally:
            if conn is not None:
                conn.close()

    def _sample(self, conn: psycopg.Connection | None, *, first: bool) -> None:
        self.rss = max(self.rss, sum(_rss_mb(pid) for pid in self.server_pids))
        if conn is None:
            return
        rows = conn.execute(
            "SELECT pid, state FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'",
            (SCRATCH_DATABASE,),
        ).fetchall()
        self.samples.append((len(rows), sum(1 for _pid, state in rows if state == "active")))
        for pid, _state in rows:
            cpu = process_cpu(pid)
            if pid not in self.first:
                self.first[pid] = cpu if first else 0.0
            self.last[pid] = cpu
        found = conn.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", (SCRATCH_DATABASE,))
        self.sessions.append(found.fetchone()[0])  # type: ignore[index]

    def fill(self, usage: Usage) -> None:
        usage.server_rss_mb = self.rss
        usage.connections = self.samples
        if self.postgres_url:
            usage.postgres = sum(self.last[pid] - self.first[pid] for pid in self.last)
            usage.backends = len(self.last)
            usage.sessions_opened = self.sessions[-1] - self.sessions[0] if self.sessions else None


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


# --- checks -----------------------------------------------------------------------------------------------------


def verify(engine: Engine, fleet: Fleet, args: argparse.Namespace) -> list[str]:
    """From the database, once the servers have stopped: no job handed out twice, every run completed, no job left
    due at its orchestrator's last heartbeat. The findings, each a line; problems are marked FAILED."""
    interval = timedelta(minutes=args.job_minutes)
    with engine.connect() as conn:
        jobs = {row.id: row for row in conn.execute(select(scheduled_job)).all()}
        runs = conn.execute(
            select(
                job_history.c.job_id,
                job_history.c.agent_id,
                job_history.c.schedule_type,
                job_history.c.operation_start,
                job_history.c.operation_end,
                job_history.c.status,
            ).order_by(job_history.c.job_id, job_history.c.operation_start, job_history.c.id)
        ).all()
    by_job: dict[uuid.UUID, list] = {}  # type: ignore[type-arg]
    for row in runs:
        by_job.setdefault(row.job_id, []).append(row)
    overlapping = too_soon = one_shot_twice = 0
    for job_runs in by_job.values():
        recurring = job_runs[0].schedule_type is not None
        if not recurring and len(job_runs) > 1:
            one_shot_twice += 1
        for before, after in zip(job_runs, job_runs[1:], strict=False):
            if before.operation_end is None or before.operation_end > after.operation_start:
                overlapping += 1
            if recurring and after.operation_start - before.operation_start < interval:
                too_soon += 1
    statuses = Counter(row.status for row in runs)
    left_in_flight = statuses[1] + statuses[2]
    overdue = sum(
        1
        for job in jobs.values()
        if job.next_run_at is not None
        and job.agent_id in fleet.last_beat
        and job.next_run_at < fleet.last_beat[job.agent_id]
    )
    recurring_runs = sum(1 for row in runs if row.schedule_type is not None)
    problems = {
        "runs of the same job in flight at once": overlapping,
        f"runs of a recurring job started less than {args.job_minutes} min after the previous one": too_soon,
        "one-shot jobs run more than once": one_shot_twice,
        "JobIds handed out while the client was still running them": fleet.double_handouts,
        "runs left Waiting or InProcess": left_in_flight,
        "jobs still due after their orchestrator's last heartbeat": overdue,
    }
    lines = [
        f"{len(runs):,} runs of {len(by_job):,} jobs ({recurring_runs:,} of recurring jobs, "
        f"{len(runs) - recurring_runs:,} one-shot); {fleet.handed_out:,} JobIds handed out to the client, "
        f"{fleet.completed:,} completions acknowledged, {statuses[3]:,} runs Completed in the database."
    ]
    if fleet.handed_out != len(runs) or fleet.completed != statuses[3]:
        lines.append("FAILED: the client's counts and the database's differ.")
    for label, count in problems.items():
        lines.append(f"{'FAILED: ' if count else ''}{count} {label}.")
    return lines


# --- output -----------------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000 if ordered else float("nan")


def render(fleet: Fleet, usage: Usage, checks: list[str], args: argparse.Namespace) -> str:
    start, stop = fleet.window
    in_window = [call for call in fleet.calls if start <= call.started < stop]
    wall = usage.wall or (stop - start)
    period = args.heartbeat_seconds or fleet.interval_minutes * 60
    ramp_wall = max(fleet.ramp[1] - fleet.ramp[0], 1e-9)
    ramp_calls = sum(1 for call in fleet.calls if call.started < fleet.ramp[1])
    lines = [
        "Command: `PYTHONPATH=src:bench python bench/fleet.py " + " ".join(sys.argv[1:]) + "`",
        "",
        f"{args.orchestrators:,} orchestrators on {args.servers} orchjobs server process(es), {args.database}, "
        f"ORCHJOBS_DB_POOL_SIZE={args.pool_size}; heartbeat every {period:g} s (server answers "
        f"HeartbeatInterval {fleet.interval_minutes} min), one recurring job every {args.job_minutes} min per "
        f"orchestrator, {args.one_shot_jobs} one-shot job(s) each; keep-alive {args.keep_alive_seconds:g} s. "
        f"Measured window {wall:.0f} s, one heartbeat period after the jobs were scheduled, after a "
        f"{args.ramp_seconds:g} s ramp (the last Register answered after {ramp_wall:.0f} s). Latency at the client.",
        "",
        "| Call | Calls | Calls/s | p50 ms | p99 ms | max ms | Failed |",
        "|---|---|---|---|---|---|---|",
    ]
    registers = [call for call in fleet.calls if call.name == "Register"]
    for name in CALLS:
        chosen = registers if name == "Register" else [call for call in in_window if call.name == name]
        times = [call.seconds for call in chosen]
        rate = f"{len(chosen) / ramp_wall:,.1f} (ramp)" if name == "Register" else f"{len(chosen) / wall:,.1f}"
        lines.append(
            f"| {name} | {len(chosen):,} | {rate} | {percentile(times, 0.5):.1f} | {percentile(times, 0.99):.1f} "
            f"| {max(times, default=0) * 1000:.1f} | {sum(1 for call in chosen if not call.ok)} |"
        )
    calls = len(in_window)
    completes = sum(1 for call in in_window if call.name == "Complete" and call.ok)
    all_times = [call.seconds for call in in_window]
    lines.append(
        f"| **all (window)** | {calls:,} | **{calls / wall:,.1f}** | {percentile(all_times, 0.5):.1f} "
        f"| **{percentile(all_times, 0.99):.1f}** | {max(all_times, default=0) * 1000:.1f} "
        f"| {sum(1 for call in in_window if not call.ok)} |"
    )
    per_call = 1000 / max(calls, 1)
    lines += [
        "",
        "| Resource (measured window) | Cores busy | CPU ms per call | CPU ms per completed job (all calls) |",
        "|---|---|---|---|",
        f"| orchjobs servers | {usage.servers / wall:.3f} | {usage.servers * per_call:.2f} "
        f"| {usage.servers * 1000 / max(completes, 1):.2f} |",
    ]
    if usage.postgres is not None:
        lines.append(
            f"| PostgreSQL backends of the scratch database | {usage.postgres / wall:.3f} "
            f"| {usage.postgres * per_call:.2f} | {usage.postgres * 1000 / max(completes, 1):.2f} |"
        )
    lines += [
        f"| this client ({args.orchestrators:,} connections, one process) | {usage.client / wall:.3f} "
        f"| {usage.client * per_call:.2f} | — |",
        f"| whole machine (2 cores, shared) | {usage.machine / wall:.3f} | {usage.machine * per_call:.2f} | — |",
        f"| orchjobs servers during the ramp ({ramp_calls:,} calls in {ramp_wall:.0f} s, mostly Register) "
        f"| {usage.ramp_servers / ramp_wall:.3f} | {usage.ramp_servers * 1000 / max(ramp_calls, 1):.2f} | — |",
        f"| whole machine during the ramp | {usage.ramp_machine / ramp_wall:.3f} | — | — |",
        "",
    ]
    if usage.connections:
        counts = [total for total, _active in usage.connections]
        active = [busy for _total, busy in usage.connections]
        lines.append(
            f"- Database connections to the scratch database (pg_stat_activity, {len(counts)} samples): peak "
            f"{max(counts)}, mean {sum(counts) / len(counts):.1f} open; active peak {max(active)}, mean "
            f"{sum(active) / len(active):.2f}; {usage.backends} distinct backends seen; "
            f"{usage.sessions_opened} sessions opened in the window. Pool limit: {args.servers} × "
            f"({args.pool_size} + {args.pool_size} overflow)."
        )
    lines += [
        f"- Completed jobs in the window: {completes:,} ({completes / wall:.1f}/s).",
        f"- Servers' peak resident memory, summed: {usage.server_rss_mb:.0f} MB.",
        f"- Connections opened again (the previous one idle for nearly the keep-alive, or closed): "
        f"{fleet.reconnects:,} (all calls).",
        f"- Check-ins that overran their heartbeat period: {fleet.overruns}.",
    ]
    if fleet.errors:
        lines.append(f"- Errors: {fleet.error_count} in all; the first: " + "; ".join(fleet.errors[:5]))
    lines += ["", "Exactly once:", ""] + [f"- {line}" for line in checks]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
