"""Job history's monthly partitions (PostgreSQL; SQLite keeps one table): the months ahead are made, a run of a month
without a partition waits in DEFAULT and moves into its month's partition when that is made, and pages read every
partition alike."""

from datetime import UTC, datetime

from sqlalchemy import Engine, text
from starlette.testclient import TestClient

from orchjobs.service.partitions import ensure_months, roll_partitions
from tests.factories import add_history, add_result_data

URL = "/KeyfactorAPI/OrchestratorJobs/JobHistory"
# Far from the months the tests' clock and `orchjobs migrate` make.
LATER = datetime(2031, 5, 17, 8, 0, tzinfo=UTC)


def _where(engine: Engine, history_id: int) -> str | None:
    """The partition that holds the run (None on SQLite)."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT tableoid::regclass::text FROM job_history WHERE id = :id"), {"id": history_id}
        ).scalar_one()


def _drop(engine: Engine, *names: str) -> None:
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for name in names:
                conn.execute(text(f"DROP TABLE IF EXISTS {name}"))


def test_a_run_waits_in_default_and_moves_into_its_month(client: TestClient, engine: Engine) -> None:
    _drop(engine, "job_history_2031_05", "job_history_2031_06", "job_history_2031_07", "job_history_2031_08")
    try:
        waiting = add_history(engine, operation_start=LATER, result=4)
        add_result_data(engine, waiting, "data")
        before = client.get(URL, params={"QueryString": "Result -eq 4"}).json()
        if engine.dialect.name == "postgresql":
            assert _where(engine, waiting) == "job_history_default"

        made = roll_partitions(engine, now=LATER)
        again = ensure_months(engine, first=LATER, last=LATER)

        assert again == []
        if engine.dialect.name == "postgresql":
            assert [f"{month:%Y-%m}" for month in made] == ["2031-05", "2031-06", "2031-07", "2031-08"]
            assert _where(engine, waiting) == "job_history_2031_05"
        else:
            assert made == []
        assert client.get(URL, params={"QueryString": "Result -eq 4"}).json() == before
        assert (
            client.get(f"{URL.replace('JobHistory', 'JobStatus/Data')}?jobHistoryId={waiting}").json()["Data"] == "data"
        )
        # A run of a month that has its partition goes straight there.
        later = add_history(engine, operation_start=LATER.replace(month=7))
        assert _where(engine, later) in ("job_history_2031_07", None)
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM job_result_data"))
            conn.execute(text("DELETE FROM job_history"))
        _drop(engine, "job_history_2031_05", "job_history_2031_06", "job_history_2031_07", "job_history_2031_08")
