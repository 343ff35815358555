"""Fixtures for the published-client tests: a runner for the scripts under scripts/ in the clients'
own virtualenv, against one real server per test module (`shared_server` of tests/conftest.py).

The clients pin an old httpx, so they live in `.venv-clients` (`make clients`), whose python
`make test` passes as ORCHJOBS_CLIENTS_PYTHON. Without it these tests fail rather than skip:
a skipped compatibility suite looks green while proving nothing.
"""

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from orchjobs.store.engine import make_engine

SCRIPTS = Path(__file__).parent / "scripts"
SCRIPT_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class ClientScripts:
    """Runs scripts/<name> with the clients' python against one server and returns its JSON output."""

    python: str
    server_url: str

    def run(self, script: str, *args: str | int) -> Any:
        command = [self.python, str(SCRIPTS / script), self.server_url, *map(str, args)]
        completed = subprocess.run(command, timeout=SCRIPT_TIMEOUT_SECONDS, capture_output=True, text=True)
        if completed.returncode != 0:
            pytest.fail(
                f"{' '.join(command[1:])} exited with status {completed.returncode}\n"
                f"--- stdout ---\n{completed.stdout}\n--- stderr ---\n{completed.stderr}",
                pytrace=False,
            )
        return json.loads(completed.stdout)


@pytest.fixture
def client_scripts(clients_python: str, live_server: str) -> ClientScripts:
    return ClientScripts(python=clients_python, server_url=live_server)


@pytest.fixture
def live_server(shared_server: str, shared_database: str) -> str:
    """The client tests of a module share one server (tests/conftest.py `shared_server`); each test gets its
    database emptied."""
    return shared_server


@pytest.fixture
def engine(shared_database: str) -> Iterator[Engine]:
    """An engine on the shared server's database, for arranging what the clients then read."""
    eng = make_engine(shared_database)
    yield eng
    eng.dispose()
