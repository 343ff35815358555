"""Database housekeeping after bulk loads."""

from sqlalchemy import Engine, text

from orchjobs.store.engine import lift_budget


def refresh_statistics(engine: Engine) -> None:
    """Give the planner fresh statistics (and PostgreSQL a visibility map for index-only counts)."""
    if engine.dialect.name == "postgresql":
        # VACUUM cannot run inside a transaction block.
        # VACUUM of a large table takes longer than any statement budget; SET LOCAL needs a transaction, so the
        # session's own setting is lifted and restored (to the budget given at connect time).
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("SET statement_timeout = 0")
            try:
                conn.execute(text("VACUUM ANALYZE"))
            finally:
                conn.exec_driver_sql("RESET statement_timeout")
    else:
        with engine.connect() as conn:
            conn.execution_options(sqlite_begin=None)
            lift_budget(conn)
            conn.execute(text("ANALYZE"))
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
