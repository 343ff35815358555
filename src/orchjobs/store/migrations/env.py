"""Alembic environment: migrations run on the engine handed over in config.attributes."""

from alembic import context

from orchjobs.store.engine import lift_budget
from orchjobs.store.tables import exists_on, metadata

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:
        # A batch migration on SQLite copies a table and drops the old one; with foreign keys enforced, that drop
        # would cascade into the tables that point at it (a store's scheduled jobs). They are switched off for the
        # migration (outside its transaction, where the pragma takes effect) and checked once it is done.
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        connection.execution_options(sqlite_begin="IMMEDIATE")
    try:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=True,
            include_object=lambda item, *_: exists_on(item, engine.dialect.name),
        )
        with context.begin_transaction():
            # A migration may rewrite or index a table of millions of rows: no statement budget applies.
            lift_budget(connection)
            context.run_migrations()
        if connection.in_transaction():
            connection.commit()
    finally:
        if sqlite:
            raw = connection.connection.driver_connection
            raw.execute("PRAGMA foreign_keys=ON")
    if sqlite:
        broken = raw.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"The migration left rows that break foreign keys: {broken[:5]}")
