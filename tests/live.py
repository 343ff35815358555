"""A real orchjobs server process on a free local port, for tests that need a real socket."""

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
import pytest

STARTUP_SECONDS = 20.0
POLL_TIMEOUT_SECONDS = 0.5
SHUTDOWN_SECONDS = 10.0
PROBE_PATH = "/KeyfactorAPI/Status/Endpoints"
ADMIN = ("admin", "admin-password")
API_HEADERS = {"x-keyfactor-requested-with": "APIClient"}
# How Python prints a warning: `path:line: SomeWarning: message`. Not a ResourceWarning: uvicorn's parent process of
# --workers leaves its listening socket to the interpreter's exit, which says so (as pytest's configuration, ignored).
WARNING_LINE = re.compile(r":\d+: (?!ResourceWarning)\w*Warning: ")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_environment(database_url: str, directory: Path) -> dict[str, str]:
    """The environment of a server process on the database; `directory` holds the orchestrator CA's key file when the
    database is PostgreSQL (a SQLite database keeps it beside its own file)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ORCHJOBS_")}
    env["ORCHJOBS_DATABASE_URL"] = database_url
    if not database_url.startswith("sqlite"):
        env["ORCHJOBS_CA_KEY_FILE"] = str(directory / "orchjobs-ca.key")
    env["ORCHJOBS_BOOTSTRAP_ADMIN"] = f"{ADMIN[0]}:{ADMIN[1]}"
    env["ORCHJOBS_DB_POOL_SIZE"] = "2"
    # Every warning printed (once per place), deprecations included, for running_server to find.
    env["PYTHONWARNINGS"] = "default"
    return env


def read_log(log: IO[bytes]) -> str:
    log.flush()
    log.seek(0)
    return log.read().decode("utf-8", "replace")


def answers(base_url: str) -> bool:
    """Whether the server answers its login probe with 200 (what kfutil checks first)."""
    try:
        response = httpx.get(base_url + PROBE_PATH, headers=API_HEADERS, auth=ADMIN, timeout=POLL_TIMEOUT_SECONDS)
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


@contextmanager
def running_server(
    database_url: str, tmp_path: Path, *, name: str = "server", environment: Mapping[str, str] | None = None
) -> Iterator[str]:
    """Base URL (http://127.0.0.1:<port>, without /KeyfactorAPI) of a real uvicorn process serving
    orchjobs on the test database, with the conftest ADMIN as bootstrap administrator; `environment` adds or
    overrides ORCHJOBS_* settings."""
    with server_process(database_url, tmp_path, name=name, environment=environment) as (_process, base_url):
        yield base_url


@contextmanager
def server_process(
    database_url: str, tmp_path: Path, *, name: str = "server", environment: Mapping[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`running_server`, with the process itself, for a test that kills it."""
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "orchjobs.cli:app_factory", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--no-proxy-headers",
        # What `orchjobs serve` runs: the client certificate in the scope and the header limit.
        "--http", "orchjobs.serving:ClientCertHttpToolsProtocol",
    ]  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    with (tmp_path / f"{name}.log").open("w+b") as log:
        env = {**server_environment(database_url, tmp_path), **(environment or {})}
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_answering(process, base_url, log)
            yield process, base_url
        finally:
            stop(process)
        assert_no_warnings(read_log(log))


def assert_no_warnings(log_text: str) -> None:
    """A served process prints no Python warning: a deprecated call can hide a cost paid on every request (a pool
    listener of an old signature once went through warnings.warn at each connection check-in)."""
    warned = [line for line in log_text.splitlines() if WARNING_LINE.search(line)]
    assert not warned, "the server printed warnings:\n" + "\n".join(warned)


@dataclass
class Served:
    """An `orchjobs serve` process: where it answers, the process (to signal it) and its log file."""

    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path


@contextmanager
def serving(
    database_url: str,
    tmp_path: Path,
    *,
    arguments: Sequence[str] = (),
    environment: Mapping[str, str] | None = None,
    name: str = "serve",
) -> Iterator[Served]:
    """`orchjobs serve` itself (what an operator runs: its --workers, its shutdown timeout), on a free port, with
    `arguments` added; stopped with SIGTERM at the end if it still runs."""
    port = free_port()
    command = [sys.executable, "-m", "orchjobs", "serve", "--host", "127.0.0.1", "--port", str(port), *arguments]
    base_url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / f"{name}.log"
    with log_path.open("w+b") as log:
        env = {**server_environment(database_url, tmp_path), **(environment or {})}
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_answering(process, base_url, log)
            yield Served(base_url, process, log_path)
        finally:
            stop(process)
        assert_no_warnings(read_log(log))
