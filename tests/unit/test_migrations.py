"""The migrations build exactly the tables the code declares, on both databases."""

import warnings
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, insert, select

from orchjobs.domain.app_settings import ServiceSettings
from orchjobs.store.engine import make_engine
from orchjobs.store.migrate import downgrade, upgrade
from orchjobs.store.tables import app_setting, exists_on, job_history, metadata
from tests.factories import history_row


def _compared(item: object, name: str | None, type_: str, reflected: bool, _other: object, *, dialect: str) -> bool:
    if type_ == "table" and reflected and name is not None and name.startswith("job_history_"):
        return False  # a partition of job_history (PostgreSQL): checked apart
    return exists_on(item, dialect)


def test_migrated_schema_matches_the_declared_tables(engine: Engine) -> None:
    dialect = engine.dialect.name
    with engine.connect() as conn, warnings.catch_warnings():
        # SQLite's reflection skips expression indexes (and alembic says so): they are checked by name below.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index")
        context = MigrationContext.configure(
            conn, opts={"include_object": lambda *args: _compared(*args, dialect=dialect)}
        )
        diff = compare_metadata(context, metadata)
        indexes = {index.name for index in job_history.indexes if exists_on(index, dialect)}
        if dialect == "sqlite":
            found = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'").scalars().all()
        else:
            found = (
                conn.exec_driver_sql("SELECT indexname FROM pg_indexes WHERE tablename = 'job_history'").scalars().all()
            )
    assert diff == []
    assert indexes <= set(found)


def test_migrations_install_the_default_application_settings(engine: Engine) -> None:
    with engine.connect() as conn:
        rows = dict(conn.execute(select(app_setting.c.short_name, app_setting.c.value)).all())
    assert rows["JobFailuresAndWarningsAgeOut"] == "7"


def test_the_installed_settings_are_the_defaults_the_service_falls_back_to(engine: Engine) -> None:
    with engine.connect() as conn:
        rows = dict(conn.execute(select(app_setting.c.short_name, app_setting.c.value)).all())
    defaults = ServiceSettings().as_values()
    assert {name: rows.get(name) for name in defaults} == defaults
    documented = (Path(__file__).resolve().parents[2] / "docs" / "settings.md").read_text()
    assert all(f"| `{name}` | {value} |" in documented for name, value in defaults.items())


def test_schedule_types_are_rewritten_in_the_orchestrators_compact_form(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        downgrade(engine, "0002")
        schedules = {
            '{"Daily": {"Time": "2026-01-01T08:30:00Z"}}': ("D_0830", "D_08:30"),
            '{"Weekly": {"Days": [1, 3], "Time": "2026-01-01T13:05:00Z"}}': ("W_13_1305", "W_24_13:05"),
            '{"Monthly": {"Day": 31, "Time": "2026-01-01T23:45:00Z"}}': ("M_31_2345", "M_31_23:45"),
            '{"Interval": {"Minutes": 60}}': ("I_60", "I_60"),
            '{"ExactlyOnce": {"Time": "2026-12-01T08:30:00Z"}}': ("O_2026-12-01T08:30:00Z", "O_2026-12-01T08:30"),
            '{"Immediate": true}': (None, None),
        }
        with engine.begin() as conn:
            for schedule, (old, _new) in schedules.items():
                conn.execute(insert(job_history).values(history_row(schedule=schedule, schedule_type=old)))
        upgrade(engine)
        with engine.connect() as conn:
            stored = dict(conn.execute(select(job_history.c.schedule, job_history.c.schedule_type)).all())
        assert stored == {schedule: new for schedule, (_old, new) in schedules.items()}
    finally:
        upgrade(engine)
        engine.dispose()
