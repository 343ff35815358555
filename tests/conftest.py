"""Fixtures: every test that takes `database_url` runs on SQLite and, when
ORCHJOBS_TEST_POSTGRES_URL is set, on PostgreSQL too.

SQLite: a fresh file per test, copied from a migrated template. PostgreSQL: one database per
xdist worker, migrated once, emptied (DELETE) before each test.
"""

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Connection, Engine, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from starlette.testclient import TestClient

from orchjobs.app import create_app
from orchjobs.settings import Settings
from orchjobs.store.engine import make_engine, normalize_url
from orchjobs.store.migrate import upgrade
from orchjobs.store.tables import metadata, open_failure_delta, security_identity, security_identity_role, user_account
from tests.live import ADMIN, API_HEADERS, running_server

POSTGRES_URL = os.environ.get("ORCHJOBS_TEST_POSTGRES_URL")
# Tests build their settings explicitly; a developer's own ORCHJOBS_* variables must not leak in.
for _name in [name for name in os.environ if name.startswith("ORCHJOBS_")]:
    if _name not in ("ORCHJOBS_TEST_POSTGRES_URL", "ORCHJOBS_CLIENTS_PYTHON"):
        del os.environ[_name]
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]
# Application settings as the migrations install them; tests that change one get them back.
_APP_SETTING_DEFAULTS: dict[int, str] = {}
# Argon2 at the service's cost takes about 0.2 s to hash and as long to verify, and nearly every test starts an app
# and logs in as ADMIN. So every test database already holds ADMIN, hashed with the cheapest parameters (a verify
# reads them from the hash): the bootstrap finds it and skips hashing, and logging in is fast. Hashes the service
# makes itself keep its cost; tests/api/test_transport.py covers the bootstrap that creates the administrator.
_ADMIN_HASH = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(ADMIN[1])


def _add_admin(conn: Connection) -> None:
    now = datetime.now(UTC)
    conn.execute(insert(user_account).values(username=ADMIN[0], password_hash=_ADMIN_HASH, created_at=now))
    identity = conn.execute(
        insert(security_identity)
        .values(account_name=ADMIN[0], account_key=ADMIN[0].casefold(), identity_type="User", created_at=now)
        .returning(security_identity.c.id)
    ).scalar_one()
    # Role 1 is the built-in Administrator (migration 0005).
    conn.execute(insert(security_identity_role).values(identity_id=identity, role_id=1))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.begin() as conn:
        _add_admin(conn)
        settings = conn.execute(text("SELECT id, value FROM app_setting")).all()
    _APP_SETTING_DEFAULTS.update((row.id, row.value) for row in settings)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@contextmanager
def migrated_postgres(name: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database `name` on ORCHJOBS_TEST_POSTGRES_URL's server, dropped afterwards."""
    assert POSTGRES_URL
    admin = make_engine(POSTGRES_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(normalize_url(POSTGRES_URL)).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_database(worker_id: str) -> Iterator[str]:
    """A migrated PostgreSQL database of this worker's own, dropped at the end of the session."""
    # The process id keeps two pytest sessions on one server (developers side by side) apart.
    with migrated_postgres(f"orchjobs_test_{os.getpid()}_{worker_id}") as url:
        engine = make_engine(url)
        with engine.connect() as conn:
            _APP_SETTING_DEFAULTS.update(
                (row.id, row.value) for row in conn.execute(text("SELECT id, value FROM app_setting"))
            )
        engine.dispose()
        yield url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty, migrated database (application settings at their defaults)."""
    if request.param == "sqlite":
        path = tmp_path / "orchjobs.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_database")
    _empty_postgres(url)
    return url


def _empty_postgres(url: str) -> None:
    empty_database(url)


# What the migrations install (application settings, built-in job and store types and roles, the Default Agent
# Pool) stays.
_KEPT = {
    "app_setting",
    "alembic_version",
    "job_type",
    "certificate_store_type",
    "agent_pool",
    "security_role",
    "security_role_permission",
    # PostgreSQL's open failures per day: emptied after job history (whose DELETE adds rows to it), below.
    "open_failure_delta",
}


# One engine per PostgreSQL database for emptying it between tests, kept for the session: a fresh connection costs
# more than the emptying itself.
_RESET_ENGINES: dict[str, Engine] = {}
# Per PostgreSQL database: the sequences of the emptied tables, restarted as TRUNCATE ... RESTART IDENTITY would.
_EMPTIED_SEQUENCES: dict[str, list[str]] = {}
_EMPTIED = [table for table in reversed(metadata.sorted_tables) if table.name not in _KEPT]


def empty_database(url: str) -> None:
    """Back to a freshly migrated database holding ADMIN: every table emptied but what the migrations install.
    DELETE, child tables first, rather than TRUNCATE: a test leaves a few rows, and TRUNCATE's fixed cost per table
    (new files, catalog updates) made it 75 ms of every PostgreSQL test's setup, DELETE 10 ms."""
    if url.startswith("sqlite"):
        engine = make_engine(url)
        _delete_what_tests_added(engine, url)
        engine.dispose()
        return
    engine = _RESET_ENGINES.get(url)
    if engine is None:
        engine = _RESET_ENGINES[url] = make_engine(url)
    try:
        _delete_what_tests_added(engine, url)
    except OperationalError:  # the kept connection was closed (a test restarted or killed something): once more
        engine.dispose()
        _delete_what_tests_added(engine, url)


def _delete_what_tests_added(engine: Engine, url: str) -> None:
    with engine.begin() as conn:
        for table in _EMPTIED:
            conn.execute(table.delete())
        if engine.dialect.name == "postgresql":
            # History is empty now, so its open failures are none, whatever a failed test left in the counts.
            conn.execute(open_failure_delta.delete())
            for sequence in _emptied_sequences(conn, url):
                conn.execute(text("SELECT setval(:sequence, 1, false)"), {"sequence": sequence})
        conn.execute(
            text(
                "DELETE FROM job_type WHERE name NOT IN "
                "('Inventory', 'Management', 'Discovery', 'Reenrollment', 'FetchLogs')"
            )
        )
        conn.execute(text("DELETE FROM certificate_store_type WHERE NOT built_in"))
        conn.execute(text("DELETE FROM agent_pool WHERE id <> '00000000-0000-0000-0000-000000000000'"))
        conn.execute(text("DELETE FROM security_role WHERE NOT immutable"))
        _add_admin(conn)
        for setting_id, value in _APP_SETTING_DEFAULTS.items():
            conn.execute(
                text("UPDATE app_setting SET value = :value WHERE id = :id"), {"value": value, "id": setting_id}
            )


def _emptied_sequences(conn: Connection, url: str) -> list[str]:
    if url not in _EMPTIED_SEQUENCES:
        owned = conn.execute(
            text(
                "SELECT sequence.relname AS sequence, owner.relname AS owner FROM pg_class sequence "
                "JOIN pg_depend link ON link.objid = sequence.oid AND link.deptype IN ('a', 'i') "
                "JOIN pg_class owner ON owner.oid = link.refobjid WHERE sequence.relkind = 'S'"
            )
        ).all()
        emptied = {table.name for table in _EMPTIED}
        _EMPTIED_SEQUENCES[url] = [row.sequence for row in owned if row.owner in emptied]
    return _EMPTIED_SEQUENCES[url]


@pytest.fixture(scope="session", autouse=True)
def _close_reset_engines() -> Iterator[None]:
    yield
    for engine in _RESET_ENGINES.values():
        engine.dispose()


@pytest.fixture(scope="module", params=BACKENDS)
def module_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database of the test module's own, for a server the module's tests share (`shared_server`)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("module") / "orchjobs.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    with migrated_postgres(f"orchjobs_test_{os.getpid()}_{request.module.__name__.rsplit('.', 1)[-1]}"[:63]) as url:
        yield url


@pytest.fixture(scope="module")
def shared_server(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real server process for all the tests of a module, on `module_database_url` (a server takes seconds to
    start). Take it with `shared_database`, which empties the database before each test."""
    with running_server(module_database_url, tmp_path_factory.mktemp("server")) as base_url:
        yield base_url


@pytest.fixture
def shared_database(module_database_url: str) -> str:
    """The shared server's database, emptied for this test (what the migrations install, and ADMIN, stay)."""
    empty_database(module_database_url)
    return module_database_url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on the test database, for arranging data the API under test then reads."""
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def live_server(database_url: str, tmp_path: Path) -> Iterator[str]:
    """Base URL (http://127.0.0.1:<port>, without /KeyfactorAPI) of a real uvicorn process serving
    orchjobs on the test database, with ADMIN as bootstrap administrator."""
    with running_server(database_url, tmp_path) as base_url:
        yield base_url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # The orchestrator CA's key file: beside a SQLite database (in tmp_path) by default; the test's own for PostgreSQL.
    key_file = None if database_url.startswith("sqlite") else str(tmp_path / "orchjobs-ca.key")
    return Settings(
        database_url=database_url,
        bootstrap_admin=f"{ADMIN[0]}:{ADMIN[1]}",
        db_pool_size=2,
        ca_key_file=key_file,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """An in-process HTTP client, logged in as the bootstrap administrator, sending Command's header."""
    with api_client(settings) as test_client:
        yield test_client


def api_client(
    settings: Settings,
    *,
    auth: tuple[str, str] | None = ADMIN,
    headers: dict[str, str] | None = API_HEADERS,
    clock: Callable[[], datetime] | None = None,
) -> TestClient:
    """A TestClient on a fresh app whose clock is `clock` (the real one by default); use it as a context manager so
    start-up (bootstrap admin) runs."""
    app = create_app(settings) if clock is None else create_app(settings, clock=clock)
    test_client = TestClient(app, headers=headers)
    test_client.auth = auth
    return test_client


class SteppingClock:
    """A clock that stands still until a test moves it on: what the app takes as now."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="session")
def clients_python() -> str:
    """The python of the virtualenv holding keyfactor-v-1-client and keyfactor-command-sdk."""
    python = os.environ.get("ORCHJOBS_CLIENTS_PYTHON")
    if not python:
        pytest.fail(
            "ORCHJOBS_CLIENTS_PYTHON is not set: run `make test`, or run `make clients` and set "
            "ORCHJOBS_CLIENTS_PYTHON=$PWD/.venv-clients/bin/python",
            pytrace=False,
        )
    if not Path(python).is_file():
        pytest.fail(f"ORCHJOBS_CLIENTS_PYTHON={python} does not exist: run `make clients`", pytrace=False)
    return python
