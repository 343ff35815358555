"""The migrations build exactly the tables the code declares, on both databases."""

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, select

from orchjobs.domain.app_settings import ServiceSettings
from orchjobs.store.tables import app_setting, metadata


def test_migrated_schema_matches_the_declared_tables(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


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
