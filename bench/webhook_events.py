"""Benchmark: what `Jobs/Complete` pays for webhooks, measured on the service function alone (no HTTP).

Usage: PYTHONPATH=src .venv/bin/python bench/webhook_events.py [--databases sqlite,postgresql] [--calls 2000]
           [--blocks 10] [--postgres-url postgresql://postgres@127.0.0.1:5432/test]

On a fresh migrated database (a SQLite temp file; the PostgreSQL scratch database `orchjobs_bench_webhooks`) one
approved orchestrator with a session gets `--calls` recurring jobs, each handed out and made InProcess beforehand.
Then `job_calls.complete_run` (Status 2) is timed call by call (wall time, and this process's CPU time, which the
rest of a busy machine disturbs less), in `--blocks` alternating blocks of the `--variants`:
- *none*: no webhook exists;
- *webhook*: one enabled webhook subscribed to RunCompleted exists, so each completion also writes its event
  (this process's subscription snapshot is refreshed when the variant changes).
Run it once with PYTHONPATH pointing at an older checkout to get that code's *none* figure (the *webhook* variant
needs `orchjobs.service.webhook_events` and is skipped there). Prints the median and mean of each variant. Not a
test: nothing here asserts timings.
"""

import argparse
import importlib.util
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import Engine, delete, insert, select, update

from orchjobs.domain.jobs import JobResult
from orchjobs.service.dispatch import hand_out_due_jobs
from orchjobs.service.job_calls import Completion, JobCall, complete_run
from orchjobs.store.agents import insert_session
from orchjobs.store.engine import make_engine
from orchjobs.store.migrate import upgrade
from orchjobs.store.tables import (
    agent,
    agent_capability,
    job_history,
    job_type,
    scheduled_job,
    webhook,
)

SCRATCH_DATABASE = "orchjobs_bench_webhooks"
CAPABILITY = "Custom.FetchLogs"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
HAS_WEBHOOKS = importlib.util.find_spec("orchjobs.service.webhook_events") is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--blocks", type=int, default=10)
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--variants", default="none,webhook", help="none, webhook or both")
    args = parser.parse_args()
    variants = tuple(name for name in args.variants.split(",") if HAS_WEBHOOKS or name == "none")
    with tempfile.TemporaryDirectory(prefix="orchjobs-bench-webhooks-") as scratch:
        for kind in args.databases.split(","):
            url = fresh_database(kind, Path(scratch), args.postgres_url)
            engine = make_engine(url)
            try:
                upgrade(engine)
                timings = measure(engine, calls=args.calls, blocks=args.blocks, variants=variants)
            finally:
                engine.dispose()
                if kind == "postgresql":
                    drop_postgres(args.postgres_url)
            for variant, (wall, cpu) in timings.items():
                print(
                    f"{kind} {variant}: {len(wall)} completions, wall median {statistics.median(wall) * 1000:.3f} ms "
                    f"(mean {statistics.fmean(wall) * 1000:.3f}), this process's CPU median "
                    f"{statistics.median(cpu) * 1000:.3f} ms (mean {statistics.fmean(cpu) * 1000:.3f})"
                )


def measure(
    engine: Engine, *, calls: int, blocks: int, variants: tuple[str, ...]
) -> dict[str, tuple[list[float], list[float]]]:
    """Per variant: the wall time and this process's CPU time of each completion."""
    token, runs = arrange(engine, calls=calls)
    timings: dict[str, tuple[list[float], list[float]]] = {variant: ([], []) for variant in variants}
    per_block = calls // (blocks * len(variants))
    for block in range(blocks * len(variants)):
        variant = variants[block % len(variants)]
        use_variant(engine, variant)
        for job_id, audit_id in runs[block * per_block : (block + 1) * per_block]:
            call = JobCall(name="Complete", token=token, job_id=job_id)
            completion = Completion(audit_id=audit_id, result=JobResult.SUCCESS, message="done", data=None)
            started, cpu = time.perf_counter(), time.process_time()
            complete_run(engine, call, completion, now=NOW)
            timings[variant][0].append(time.perf_counter() - started)
            timings[variant][1].append(time.process_time() - cpu)
    return timings


def arrange(engine: Engine, *, calls: int) -> tuple[str, list[tuple[uuid.UUID, int]]]:
    """An approved orchestrator, its session, and `calls` recurring jobs with their runs InProcess."""
    agent_id, token = uuid.uuid4(), str(uuid.uuid4())
    with engine.begin() as conn:
        conn.execute(
            insert(agent).values(id=agent_id, client_machine="bench", username="bench", status=2, last_seen=NOW)
        )
        conn.execute(insert(agent_capability).values(agent_id=agent_id, capability=CAPABILITY))
        insert_session(conn, token=token, agent_id=agent_id, created_at=NOW, expires_at=NOW + timedelta(days=1))
        type_id = conn.execute(select(job_type.c.id).where(job_type.c.name == "FetchLogs")).scalar_one()
        conn.execute(
            insert(scheduled_job),
            [
                {
                    "id": uuid.uuid4(),
                    "agent_id": agent_id,
                    "job_type_id": type_id,
                    "schedule": '{"Interval": {"Minutes": 60}}',
                    "schedule_type": "I_60",
                    "requested_at": NOW,
                    "next_run_at": NOW,
                    "capability": CAPABILITY,
                }
                for _ in range(calls)
            ],
        )
    hand_out_due_jobs(engine, agent_id=agent_id, capabilities=(CAPABILITY,), now=NOW)
    with engine.begin() as conn:
        conn.execute(update(job_history).values(status=2))
        runs = conn.execute(select(scheduled_job.c.id, scheduled_job.c.running_history_id)).all()
    return token, [(job_id, audit_id) for job_id, audit_id in runs]


def use_variant(engine: Engine, variant: str) -> None:
    if not HAS_WEBHOOKS:
        return
    from orchjobs.service.webhook_events import refresh_subscriptions  # not in older checkouts

    with engine.begin() as conn:
        conn.execute(delete(webhook))
        if variant == "webhook":
            conn.execute(
                insert(webhook).values(
                    id=uuid.uuid4(),
                    url="http://127.0.0.1:9/",
                    secret="bench-secret-0123456789",
                    query="",
                    events="RunCompleted",
                    enabled=True,
                    created_at=NOW,
                )
            )
    refresh_subscriptions(engine)


def fresh_database(kind: str, scratch: Path, postgres_url: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{scratch / f'webhooks-{uuid.uuid4().hex[:8]}.db'}"
    if kind != "postgresql":
        raise SystemExit(f"unknown database {kind!r}: sqlite or postgresql")
    drop_postgres(postgres_url)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {SCRATCH_DATABASE}")
    return postgres_url.rsplit("/", 1)[0] + "/" + SCRATCH_DATABASE


def drop_postgres(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {SCRATCH_DATABASE} WITH (FORCE)")


if __name__ == "__main__":
    main()
