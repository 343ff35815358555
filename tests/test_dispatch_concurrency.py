"""Many threads claim and sweep the same runs at once: every job is handed out, and every run failed, once.

Runs on PostgreSQL, where claims race under FOR UPDATE SKIP LOCKED; on SQLite only when no PostgreSQL is
configured (BEGIN IMMEDIATE serializes the claims there).
"""

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from sqlalchemy import Engine, insert, select, update

from orchjobs.service.dispatch import hand_out_due_jobs
from orchjobs.service.sweeper import fail_overdue_runs
from orchjobs.store.tables import agent, job_history, job_type, scheduled_job
from tests.conftest import BACKENDS

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
THREADS = 16
JOBS = 200
CAPABILITY = "CertStores.PEM.Inventory"

pytestmark = pytest.mark.parametrize("database_url", BACKENDS[-1:], indirect=True)

T = TypeVar("T")


def add_due_jobs(engine: Engine, count: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    agent_id = uuid.uuid4()
    job_ids = [uuid.uuid4() for _ in range(count)]
    with engine.begin() as conn:
        conn.execute(insert(agent).values(id=agent_id, client_machine="web01", username="o", status=2, last_seen=NOW))
        type_id = conn.execute(select(job_type.c.id).where(job_type.c.name == "Inventory")).scalar_one()
        rows = [
            {
                "id": job_id,
                "agent_id": agent_id,
                "job_type_id": type_id,
                "schedule": '{"Interval": {"Minutes": 60}}',
                "requested_at": NOW,
                "next_run_at": NOW - timedelta(seconds=index),
                "capability": CAPABILITY,
            }
            for index, job_id in enumerate(job_ids)
        ]
        conn.execute(insert(scheduled_job), rows)
    return agent_id, job_ids


def all_at_once(work: Callable[[], T]) -> list[T]:
    """Run `work` in THREADS threads released together; their results, and any error re-raised."""
    barrier = threading.Barrier(THREADS)
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            results.append(work())
        except BaseException as exc:  # surfaced below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(results) == THREADS
    return results


def runs_per_job(engine: Engine) -> Counter[uuid.UUID]:
    with engine.connect() as conn:
        return Counter(conn.execute(select(job_history.c.job_id)).scalars())


def test_every_due_job_is_handed_out_exactly_once(engine: Engine) -> None:
    agent_id, job_ids = add_due_jobs(engine, JOBS)

    handed = all_at_once(lambda: hand_out_due_jobs(engine, agent_id=agent_id, capabilities=[CAPABILITY], now=NOW))

    claimed = [job.job_id for batch in handed for job in batch]
    assert sorted(claimed) == sorted(job_ids)
    assert runs_per_job(engine) == dict.fromkeys(job_ids, 1)
    with engine.connect() as conn:
        history_ids = set(conn.execute(select(job_history.c.id)).scalars())
        running = set(conn.execute(select(scheduled_job.c.running_history_id)).scalars())
    assert running == history_ids  # each job points at its own run


def test_every_overdue_run_is_failed_exactly_once(engine: Engine) -> None:
    agent_id, job_ids = add_due_jobs(engine, JOBS)
    hand_out_due_jobs(engine, agent_id=agent_id, capabilities=[CAPABILITY], now=NOW)
    later = NOW + timedelta(hours=2)

    failed = all_at_once(lambda: fail_overdue_runs(engine, now=later, batch=7))

    assert sum(failed) == JOBS
    with engine.connect() as conn:
        states = Counter(tuple(row) for row in conn.execute(select(job_history.c.status, job_history.c.result)))
        jobs = Counter(
            tuple(row) for row in conn.execute(select(scheduled_job.c.retry_count, scheduled_job.c.running_history_id))
        )
    assert states == {(5, 4): JOBS}  # CompletedWillRetry, Failure
    assert jobs == {(1, None): JOBS}


def test_claims_and_sweeps_race_without_losing_a_run(engine: Engine) -> None:
    agent_id, job_ids = add_due_jobs(engine, JOBS)
    # Half the jobs have an overdue run in flight, half are simply due.
    with engine.begin() as conn:
        conn.execute(update(scheduled_job).values(next_run_at=NOW - timedelta(hours=3)))
    hand_out_due_jobs(engine, agent_id=agent_id, capabilities=[CAPABILITY], now=NOW - timedelta(hours=2))
    with engine.begin() as conn:
        conn.execute(update(scheduled_job).values(next_run_at=NOW - timedelta(minutes=1)))
        pending = conn.execute(select(scheduled_job.c.id).limit(JOBS // 2)).scalars().all()
        conn.execute(update(scheduled_job).where(scheduled_job.c.id.in_(pending)).values(running_history_id=None))
        conn.execute(update(job_history).where(job_history.c.job_id.in_(pending)).values(status=3, result=2))
    step = iter(range(THREADS))
    lock = threading.Lock()

    def work() -> int:
        with lock:
            mine = next(step)
        if mine % 2:
            return fail_overdue_runs(engine, now=NOW, batch=5)
        return len(hand_out_due_jobs(engine, agent_id=agent_id, capabilities=[CAPABILITY], now=NOW))

    all_at_once(work)

    with engine.connect() as conn:
        open_runs = Counter(
            conn.execute(select(job_history.c.job_id).where(job_history.c.status.in_((1, 2)))).scalars()
        )
        states = Counter(conn.execute(select(job_history.c.status)).scalars())
    # No job has two runs in flight, every overdue run was closed, and every job has at most one new run.
    assert all(count == 1 for count in open_runs.values())
    assert states[5] == JOBS // 2
    assert sum(runs_per_job(engine).values()) == JOBS + len(open_runs)
