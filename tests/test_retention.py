"""Retention of job history (docs/retention.md): `orchjobs prune` and the daily prune delete old runs, but never a run
in flight, never an unacknowledged failure or warning still inside the age-out window, and never the latest runs of
a job; what went is audited."""

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, update
from typer.testing import CliRunner

from orchjobs.cli import app
from orchjobs.settings import Settings
from orchjobs.store.tables import app_setting, audit_log, job_history, job_result_data
from tests.conftest import api_client
from tests.factories import add_history, add_result_data

runner = CliRunner()
NOW = datetime.now(UTC)
SUCCESS, WARNING, FAILURE = 2, 3, 4
IN_PROCESS, COMPLETED, ACKNOWLEDGED = 2, 3, 4


def run(engine: Engine, job_id: uuid.UUID, days_ago: float, *, result: int = SUCCESS, status: int = COMPLETED) -> int:
    start = NOW - timedelta(days=days_ago)
    return add_history(
        engine,
        job_id=job_id,
        operation_start=start,
        operation_end=start + timedelta(seconds=5),
        result=result,
        status=status,
    )


def arrange(engine: Engine) -> tuple[set[int], set[int]]:
    """Runs of three jobs, against a prune of what is older than 3 days keeping 2 runs per job (age-out 7 days):
    the ids that must go and the ids that must stay."""
    busy, quiet, failing = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    go = {run(engine, busy, 100), run(engine, busy, 90), run(engine, busy, 80)}
    stay = {run(engine, busy, 1), run(engine, busy, 2)}
    # Every run of this job is old: the latest two stay, whatever their age.
    go.add(run(engine, quiet, 200))
    stay |= {run(engine, quiet, 199), run(engine, quiet, 198)}
    stay |= {run(engine, failing, 0.1), run(engine, failing, 0.2)}
    stay.add(run(engine, failing, 5, result=FAILURE))  # unacknowledged, inside the age-out window
    stay.add(run(engine, failing, 4, result=WARNING, status=5))  # CompletedWillRetry: open too
    stay.add(run(engine, failing, 100, result=0, status=IN_PROCESS))  # in flight, however old
    go.add(run(engine, failing, 10, result=FAILURE))  # open but out of the window: it no longer counts
    go.add(run(engine, failing, 60, result=FAILURE, status=ACKNOWLEDGED))
    for history_id in sorted(go)[:2] + sorted(stay)[:1]:
        add_result_data(engine, history_id, "uploaded")
    return go, stay


def history_ids(engine: Engine) -> set[int]:
    with engine.connect() as conn:
        return set(conn.execute(select(job_history.c.id)).scalars())


def result_data_ids(engine: Engine) -> set[int]:
    with engine.connect() as conn:
        return set(conn.execute(select(job_result_data.c.job_history_id)).scalars())


def audit_entries(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return conn.execute(select(audit_log).order_by(audit_log.c.id)).all()


def set_setting(engine: Engine, short_name: str, value: str) -> None:
    with engine.begin() as conn:
        conn.execute(update(app_setting).where(app_setting.c.short_name == short_name).values(value=value))


def prune(database_url: str, *args: str) -> Any:
    return runner.invoke(app, ["prune", *args], env={"ORCHJOBS_DATABASE_URL": database_url})


def test_prune_deletes_old_runs_and_keeps_what_must_stay(database_url: str, engine: Engine) -> None:
    go, stay = arrange(engine)
    kept_data = result_data_ids(engine) - go

    dry = prune(database_url, "--older-than-days", "3", "--keep-runs", "2", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"{len(go)} runs" in dry.output and "Would delete" in dry.output
    assert history_ids(engine) == go | stay and audit_entries(engine) == []

    done = prune(database_url, "--older-than-days", "3", "--keep-runs", "2", "--batch-size", "2")

    assert done.exit_code == 0, done.output
    assert "Deleted" in done.output and f"{len(go)} runs" in done.output
    assert history_ids(engine) == stay
    assert result_data_ids(engine) == kept_data
    (entry,) = audit_entries(engine)
    assert (entry.action, entry.resource, entry.row_count) == ("PruneHistory", "JobHistory", len(go))
    assert entry.actor.startswith("(cli")
    details = json.loads(entry.details)
    assert details["KeepRuns"] == 2 and details["RetentionDays"] == 3 and details["Batches"] >= 2
    assert details["Cutoff"].startswith((NOW - timedelta(days=3)).date().isoformat())


def test_prune_reads_the_retention_settings(database_url: str, engine: Engine) -> None:
    go, stay = arrange(engine)

    off = prune(database_url)
    set_setting(engine, "JobHistoryRetentionDays", "3")
    set_setting(engine, "JobHistoryKeepRuns", "2")
    on = prune(database_url)

    assert off.exit_code == 0 and "Retention is off" in off.output
    assert on.exit_code == 0, on.output
    assert history_ids(engine) == stay
    assert [entry.row_count for entry in audit_entries(engine)] == [len(go)]


def test_a_negative_number_is_refused(database_url: str, engine: Engine) -> None:
    go, stay = arrange(engine)

    refused = [prune(database_url, "--older-than-days", "-1"), prune(database_url, "--keep-runs", "-5")]

    assert [answer.exit_code for answer in refused] == [2, 2]
    assert "--older-than-days" in refused[0].output and "--keep-runs" in refused[1].output
    assert history_ids(engine) == go | stay


def test_the_daily_prune_runs_once_among_the_servers(settings: Settings, engine: Engine) -> None:
    go, stay = arrange(engine)
    set_setting(engine, "JobHistoryRetentionDays", "3")
    set_setting(engine, "JobHistoryKeepRuns", "2")
    quick = settings.model_copy(update={"prune_interval_seconds": 0.05, "webhook_poll_seconds": 3600.0})

    # Two servers on one database, their clocks standing still: one of them prunes, and every later look of either
    # finds the day's prune done.
    with api_client(quick, clock=lambda: NOW), api_client(quick, clock=lambda: NOW):
        deadline = time.monotonic() + 20
        # The audit entry is written as the prune starts: wait for the runs to go.
        while history_ids(engine) != stay and time.monotonic() < deadline:
            time.sleep(0.05)
        remaining = history_ids(engine)
        time.sleep(0.2)
        entries = audit_entries(engine)

    assert remaining == stay
    assert [(entry.actor, entry.action, entry.row_count) for entry in entries] == [
        ("(system)", "PruneHistory", len(go))
    ]
