"""Persistence: SQLAlchemy Core tables, the engine, migrations and read/write functions that never commit."""
