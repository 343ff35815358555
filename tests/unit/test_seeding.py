"""The synthetic data set (`orchjobs seed`) and the bulk loader under it, on real databases."""

import hashlib
import shutil
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Engine, Row, Table, func, insert, select, text

from orchjobs.service.seeding import HISTORY_DAYS, SeedSummary, seed_database
from orchjobs.store.bulk import copy_rows
from orchjobs.store.engine import make_engine, write_transaction
from orchjobs.store.tables import agent, agent_capability, job_history, job_type, scheduled_job

NOW = datetime(2025, 4, 1, 12, 0, tzinfo=UTC)
AGENTS = 20
HISTORY = 3_000


def seed(engine: Engine, *, seed: int = 7, **kwargs: Any) -> SeedSummary:
    options: dict[str, Any] = {"agents": AGENTS, "history": HISTORY, "seed": seed, "now": NOW, **kwargs}
    return seed_database(engine, **options)


@pytest.fixture
def fresh_sqlite(sqlite_template: Path, tmp_path: Path) -> Iterator[Engine]:
    """A second, empty migrated database (SQLite) to seed beside the one under test."""
    path = tmp_path / "second.db"
    shutil.copyfile(sqlite_template, path)
    second = make_engine(f"sqlite:///{path}")
    yield second
    second.dispose()


def table_digest(engine: Engine, table: Table, order_by: Sequence[Column[Any]]) -> str:
    """A hash of every row as SQLAlchemy reads it back, so it is comparable across databases."""
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for row in conn.execute(select(table).order_by(*order_by)):
            digest.update(repr(tuple(str(value) for value in row)).encode())
    return digest.hexdigest()


def history_digest(engine: Engine) -> str:
    return table_digest(engine, job_history, [job_history.c.id])


def all_history(engine: Engine) -> list[Row[Any]]:
    with engine.connect() as conn:
        return list(conn.execute(select(job_history).order_by(job_history.c.id)))


# --- seed_database --------------------------------------------------------------------------


def test_same_seed_and_now_give_identical_data(engine: Engine, fresh_sqlite: Engine) -> None:
    # On PostgreSQL this also shows that both databases receive the very same rows.
    first, second = seed(engine), seed(fresh_sqlite)
    assert first == second
    assert history_digest(engine) == history_digest(fresh_sqlite)
    assert table_digest(engine, agent, [agent.c.id]) == table_digest(fresh_sqlite, agent, [agent.c.id])
    assert table_digest(engine, scheduled_job, [scheduled_job.c.id]) == table_digest(
        fresh_sqlite, scheduled_job, [scheduled_job.c.id]
    )


def test_a_different_seed_gives_different_data(engine: Engine, fresh_sqlite: Engine) -> None:
    seed(engine, seed=7)
    seed(fresh_sqlite, seed=8)
    assert history_digest(engine) != history_digest(fresh_sqlite)


def test_summary_counts_the_rows_added(engine: Engine) -> None:
    summary = seed(engine)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(agent)) == summary.agents == AGENTS
        assert conn.scalar(select(func.count()).select_from(job_history)) == summary.history == HISTORY
        assert conn.scalar(select(func.count()).select_from(scheduled_job)) == summary.scheduled_jobs
        assert conn.scalar(select(func.count()).select_from(agent_capability)) == summary.capabilities
    assert summary.certificate_stores >= 1
    # The migrations install the five built-in job types; the seed adds its two custom ones.
    assert summary.job_types == 2


def test_every_status_and_result_appears_with_a_realistic_mix(engine: Engine) -> None:
    seed(engine)
    rows = all_history(engine)
    assert {r.status for r in rows} == {1, 2, 3, 4, 5}
    assert {r.result for r in rows} == {0, 2, 3, 4}
    eligible = sum(1 for r in rows if r.result in (3, 4) and r.status in (3, 5))
    assert 0.22 <= eligible / len(rows) <= 0.32
    assert 0.70 <= sum(1 for r in rows if r.status == 3) / len(rows) <= 0.85
    assert not [r for r in rows if r.result == 2 and r.status == 5]


def test_unfinished_runs_have_no_result_and_no_end(engine: Engine) -> None:
    seed(engine)
    for row in all_history(engine):
        finished = row.status not in (1, 2)
        assert (row.result != 0) == finished
        assert (row.operation_end is not None) == finished
        if finished:
            assert timedelta(0) <= row.operation_end - row.operation_start <= timedelta(seconds=600)


def test_acknowledged_rows_record_who_and_what_they_replaced(engine: Engine) -> None:
    seed(engine)
    acknowledged = [r for r in all_history(engine) if r.status == 4]
    assert acknowledged
    for row in acknowledged:
        assert row.result in (3, 4)
        assert row.acknowledged_by
        assert row.operation_end <= row.acknowledged_at <= NOW
        assert row.status_before_ack == 3
    others = [r for r in all_history(engine) if r.status != 4]
    assert all(r.acknowledged_at is None and r.acknowledged_by is None for r in others)


def test_history_lies_in_the_90_days_before_now_in_id_order(engine: Engine) -> None:
    seed(engine)
    starts = [r.operation_start for r in all_history(engine)]
    assert all(NOW - timedelta(days=HISTORY_DAYS) <= start < NOW for start in starts)
    assert starts == sorted(starts)
    # Spread over the whole window, not bunched at one end.
    assert starts[0] < NOW - timedelta(days=HISTORY_DAYS - 1) and starts[-1] > NOW - timedelta(days=1)


def test_history_refers_to_existing_agents_jobs_and_job_types(engine: Engine) -> None:
    seed(engine)
    with engine.connect() as conn:
        machines = dict(conn.execute(select(agent.c.id, agent.c.client_machine)).all())
        jobs = set(conn.execute(select(scheduled_job.c.id)).scalars())
        type_names = set(conn.execute(select(job_type.c.name)).scalars())
    rows = all_history(engine)
    assert all(machines[r.agent_id] == r.client_machine for r in rows)
    assert {r.job_id for r in rows} <= jobs
    assert {r.job_type for r in rows} <= type_names
    assert {"Inventory", "Management", "Discovery", "Reenrollment"} <= {r.job_type for r in rows}


def test_seeding_again_appends_and_keeps_one_row_per_job_type(engine: Engine) -> None:
    seed(engine, seed=1)
    again = seed(engine, seed=2, history=100)
    assert again.job_types == 0 and again.job_type_fields == 0
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(agent)) == 2 * AGENTS
        assert conn.scalar(select(func.count()).select_from(job_history)) == HISTORY + 100
        names = list(conn.execute(select(job_type.c.name)).scalars())
    assert len(names) == len(set(names)) == 7


def test_progress_reports_every_chunk_of_history(engine: Engine) -> None:
    reported: list[int] = []
    seed(engine, history=25_000, progress=reported.append)
    assert sum(reported) == 25_000
    assert reported == [10_000, 10_000, 5_000]


def test_history_without_agents_is_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="agent"):
        seed(engine, agents=0)


# --- copy_rows ------------------------------------------------------------------------------

CAPABILITY_COLUMNS = ("agent_id", "capability")


def insert_one_agent(engine: Engine) -> uuid.UUID:
    agent_id = uuid.UUID(int=1, version=4)
    with write_transaction(engine) as conn:
        conn.execute(insert(agent).values(id=agent_id, client_machine="h", username="u", last_seen=NOW))
    return agent_id


def capability_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(agent_capability)) or 0


def test_copy_rows_consumes_a_generator_chunk_by_chunk(engine: Engine) -> None:
    agent_id = insert_one_agent(engine)
    produced = 0

    def rows() -> Iterator[tuple[uuid.UUID, str]]:
        nonlocal produced
        for n in range(7):
            produced += 1
            yield agent_id, f"Cap{n}"

    produced_at_each_chunk: list[int] = []
    with write_transaction(engine) as conn:
        written = copy_rows(
            conn,
            agent_capability,
            CAPABILITY_COLUMNS,
            rows(),
            chunk_rows=3,
            on_chunk=lambda n: produced_at_each_chunk.append(produced),
        )
    assert written == 7
    assert produced_at_each_chunk == [3, 6, 7]
    assert capability_count(engine) == 7


def test_copy_rows_leaves_the_commit_to_the_caller(engine: Engine) -> None:
    agent_id = insert_one_agent(engine)
    with pytest.raises(RuntimeError), write_transaction(engine) as conn:
        copy_rows(conn, agent_capability, CAPABILITY_COLUMNS, iter([(agent_id, "LOGS")]))
        raise RuntimeError("roll back")
    assert capability_count(engine) == 0


def test_copy_rows_stores_what_an_ordinary_insert_stores(engine: Engine) -> None:
    agent_id = insert_one_agent(engine)
    moments = [
        datetime(2025, 3, 1, 8, 30, 15, 123456, tzinfo=UTC),
        datetime(2025, 3, 1, 10, 30, 15, tzinfo=timezone(timedelta(hours=2))),  # no microseconds
        datetime(2025, 3, 1, 8, 30, 15, 5),  # naive: taken as UTC
    ]
    values = {
        "job_id": uuid.UUID(int=99, version=4),
        "agent_id": agent_id,
        "client_machine": "h",
        "job_type": "Inventory",
        "result": 4,
        "status": 3,
        "acknowledged_by": "CORP\\x",
        "message": "Access is denied to C:\\certs",
    }
    columns = (*values, "operation_start", "operation_end")
    with write_transaction(engine) as conn:
        for moment in moments:
            conn.execute(insert(job_history).values(**values, operation_start=moment, operation_end=None))
            copy_rows(conn, job_history, columns, [(*values.values(), moment, None)])
    with engine.connect() as conn:
        # The raw stored text/values, as the database itself renders them.
        stored = conn.execute(
            text("SELECT CAST(job_id AS TEXT), CAST(operation_start AS TEXT), message FROM job_history ORDER BY id")
        ).all()
    inserted, copied = stored[0::2], stored[1::2]
    assert inserted == copied
    assert [r.operation_start for r in all_history(engine)][1::2] == [
        m if m.tzinfo else m.replace(tzinfo=UTC) for m in moments
    ]
