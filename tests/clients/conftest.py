"""Fixtures for the published-client tests: a real orchjobs server process on a free local port,
and a runner for the scripts under scripts/ in the clients' own virtualenv.

The clients pin an old httpx, so they live in `.venv-clients` (`make clients`), whose python
`make test` passes as ORCHJOBS_CLIENTS_PYTHON. Without it these tests fail rather than skip:
a skipped compatibility suite looks green while proving nothing.
"""

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from tests.conftest import ADMIN, API_HEADERS

SCRIPTS = Path(__file__).parent / "scripts"
STARTUP_SECONDS = 20.0
POLL_TIMEOUT_SECONDS = 0.5
SHUTDOWN_SECONDS = 10.0
SCRIPT_TIMEOUT_SECONDS = 60
PROBE_PATH = "/KeyfactorAPI/Status/Endpoints"


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


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_environment(database_url: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ORCHJOBS_")}
    env["ORCHJOBS_DATABASE_URL"] = database_url
    env["ORCHJOBS_BOOTSTRAP_ADMIN"] = f"{ADMIN[0]}:{ADMIN[1]}"
    env["ORCHJOBS_DB_POOL_SIZE"] = "2"
    return env


def read_log(log: IO[bytes]) -> str:
    log.flush()
    log.seek(0)
    return log.read().decode("utf-8", "replace")


def answers(base_url: str) -> bool:
    """Whether the server answers its login probe with 200 (what kfutil checks first)."""
    try:
        response = httpx.get(
            base_url + PROBE_PATH, headers=API_HEADERS, auth=ADMIN, timeout=POLL_TIMEOUT_SECONDS
        )
    except httpx.TransportError:
        return False
    return response.status_code == 200


def wait_until_answering(process: subprocess.Popen[bytes], base_url: str, log: IO[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"orchjobs exited with status {process.returncode} at start-up:\n{read_log(log)}")
        if answers(base_url):
            return
        time.sleep(0.1)
    pytest.fail(f"orchjobs did not answer {PROBE_PATH} within {STARTUP_SECONDS:.0f} s:\n{read_log(log)}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=SHUTDOWN_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def live_server(database_url: str, tmp_path: Path) -> Iterator[str]:
    """Base URL (http://127.0.0.1:<port>, without /KeyfactorAPI) of a real uvicorn process serving
    orchjobs on the test database, with the conftest ADMIN as bootstrap administrator."""
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "orchjobs.cli:app_factory", "--factory",
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    with (tmp_path / "server.log").open("w+b") as log:
        process = subprocess.Popen(
            command, env=server_environment(database_url), stdout=log, stderr=subprocess.STDOUT
        )
        try:
            wait_until_answering(process, base_url, log)
            yield base_url
        finally:
            stop(process)


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
