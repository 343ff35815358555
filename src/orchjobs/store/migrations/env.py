"""Alembic environment: migrations run on the engine handed over in config.attributes."""

from alembic import context

from orchjobs.store.tables import metadata

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    if engine.dialect.name == "sqlite":
        connection.execution_options(sqlite_begin="IMMEDIATE")
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
    if connection.in_transaction():
        connection.commit()
