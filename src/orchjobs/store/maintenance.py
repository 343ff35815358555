"""Database housekeeping after bulk loads."""

from sqlalchemy import Engine, text


def refresh_statistics(engine: Engine) -> None:
    """Give the planner fresh statistics (and PostgreSQL a visibility map for index-only counts)."""
    if engine.dialect.name == "postgresql":
        # VACUUM cannot run inside a transaction block.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.connect() as conn:
            conn.execution_options(sqlite_begin=None)
            conn.execute(text("ANALYZE"))
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
