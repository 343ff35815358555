"""The migrations build exactly the tables the code declares, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, select

from orchjobs.store.tables import app_setting, metadata


def test_migrated_schema_matches_the_declared_tables(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_migrations_install_the_default_application_settings(engine: Engine) -> None:
    with engine.connect() as conn:
        rows = dict(conn.execute(select(app_setting.c.short_name, app_setting.c.value)).all())
    assert rows["JobFailuresAndWarningsAgeOut"] == "7"
