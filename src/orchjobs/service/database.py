"""The database as the layers above service hold it: open it, migrate it, ask whether it holds anything yet."""

from datetime import UTC, datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url

from orchjobs.service.partitions import roll_partitions
from orchjobs.settings import Settings
from orchjobs.store.cancellation import CancelToken, cancellable
from orchjobs.store.engine import StatementBudgets, make_engine, read_transaction
from orchjobs.store.maintenance import refresh_statistics
from orchjobs.store.migrate import upgrade
from orchjobs.store.tables import agent

# What service functions take as their database: the api and the command line hold one without using SQLAlchemy.
__all__ = [
    "CancelToken",
    "Engine",
    "cancellable",
    "describe",
    "has_orchestrators",
    "migrate",
    "open_engine",
    "refresh_statistics",
]


def open_engine(settings: Settings) -> Engine:
    budgets = StatementBudgets(
        read_seconds=settings.read_statement_seconds or None,
        write_seconds=settings.write_statement_seconds or None,
        export_seconds=settings.export_statement_seconds or None,
    )
    return make_engine(settings.database_url, pool_size=settings.db_pool_size, budgets=budgets)


def migrate(engine: Engine) -> None:
    """Create or upgrade the schema to the latest migration, and make job history's partitions of the coming months
    (PostgreSQL)."""
    upgrade(engine)
    roll_partitions(engine, now=datetime.now(UTC))


def has_orchestrators(engine: Engine) -> bool:
    with read_transaction(engine) as conn:
        return bool(conn.execute(select(func.count()).select_from(agent)).scalar_one())


def describe(url: str) -> str:
    """The database URL as a message may show it: without its password."""
    return make_url(url).render_as_string(hide_password=True)
