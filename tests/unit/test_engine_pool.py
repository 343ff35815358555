"""The engine's pool keeps its connections: the listeners the statement budgets and cancellation put on it must not
make it throw a connection away at each check-in."""

import warnings

from orchjobs.store.engine import StatementBudgets, make_engine


def test_a_returned_connection_is_reused_with_warnings_as_errors(database_url: str) -> None:
    # SQLAlchemy took the SQLite deadline's reset listener for its pre-2.0 form and warned at each check-in; as an
    # error (as the suite runs), that discarded the connection, so every request of a test opened a new one.
    engine = make_engine(database_url, pool_size=1, budgets=StatementBudgets(read_seconds=10, write_seconds=300))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with engine.connect() as conn:
                first = conn.connection.dbapi_connection
            with engine.connect() as conn:
                assert conn.connection.dbapi_connection is first
    finally:
        engine.dispose()
