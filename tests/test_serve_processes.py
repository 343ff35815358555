"""`orchjobs serve` as an operator runs it: /metrics over several worker processes, and the graceful shutdown
timeout, on a real process."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from orchjobs.store.engine import make_engine
from tests.api.test_agent_jobs import add_agent
from tests.api.test_observability import sample
from tests.conftest import POSTGRES_URL
from tests.live import ADMIN, read_log, serving

REQUESTS_TOTAL = "orchjobs_http_requests_total"
_SERIES_FILE = re.compile(r"(?:counter|histogram)_(\d+)\.db")


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """For what does not depend on the database: SQLite only, to keep the suite short."""
    path = tmp_path / "orchjobs.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


def processes_that_counted(directory: Path) -> set[int]:
    """The worker processes that have counted a request: prometheus-client keeps a file per process and kind."""
    return {int(found[1]) for path in directory.iterdir() if (found := _SERIES_FILE.fullmatch(path.name))}


def request_until_both_workers_answered(base_url: str, directory: Path) -> int:
    """GET /healthz, each on a new connection and several at once, until both workers have answered some; the
    number of requests made. The kernel hands each connection to one worker or the other."""
    made = 0
    with ThreadPoolExecutor(max_workers=8) as pool:
        while len(processes_that_counted(directory)) < 2:
            assert made < 800, f"one worker answered all of {made} requests"
            statuses = list(pool.map(lambda _: httpx.get(f"{base_url}/healthz").status_code, range(40)))
            assert statuses == [200] * 40
            made += 40
    return made


def test_metrics_of_several_workers_count_every_request_whichever_worker_answers(
    database_url: str, tmp_path: Path
) -> None:
    if database_url.startswith("sqlite") and POSTGRES_URL:
        pytest.skip("two workers take seconds to start: PostgreSQL, whose pools the metrics also sum, is enough")
    engine = make_engine(database_url)
    add_agent(engine)
    engine.dispose()
    temporary = tmp_path / "tmp"
    temporary.mkdir()

    with serving(
        database_url, tmp_path, arguments=["--workers", "2"], environment={"TMPDIR": str(temporary)}
    ) as served:
        (shared,) = temporary.glob("orchjobs-metrics-*")
        made = request_until_both_workers_answered(served.base_url, shared)

        for _ in range(8):
            text = httpx.get(f"{served.base_url}/metrics").text
            assert sample(text, REQUESTS_TOTAL, method="GET", route="/healthz", status="200") == made
            assert sample(text, "orchjobs_http_request_duration_seconds_count", route="/healthz") == made
            # Read from the database by the process that answers: not summed over the workers.
            assert sample(text, "orchjobs_orchestrators", status="approved") == 1
            if not database_url.startswith("sqlite"):
                # Each worker's pool (ORCHJOBS_DB_POOL_SIZE=2 in tests/live.py), summed.
                assert sample(text, "orchjobs_db_pool_size") == 4
            assert "process_cpu_seconds_total" not in text  # it would be the answering worker's alone

    assert served.process.returncode == 0, read_log(served.log_path.open("rb"))
    assert list(temporary.iterdir()) == []  # the directory `orchjobs serve` made is gone


def leave_stale_series(directory: Path) -> None:
    """What a previous run leaves in the operator's directory: 1000 requests to /healthz."""
    script = (
        "from prometheus_client import Counter\n"
        "requests = Counter('orchjobs_http_requests', '', ['method', 'route', 'status'])\n"
        "requests.labels('GET', '/healthz', '200').inc(1000)"
    )
    environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    subprocess.run([sys.executable, "-c", script], env=environment, check=True)
    assert processes_that_counted(directory)


def test_the_operators_metrics_directory_is_used_and_emptied_at_start(database_url: str, tmp_path: Path) -> None:
    if database_url.startswith("sqlite") and POSTGRES_URL:
        pytest.skip("PostgreSQL is enough: its pool gauges are the live ones a stopping process takes away")
    shared = tmp_path / "metrics"
    shared.mkdir()
    leave_stale_series(shared)

    with serving(database_url, tmp_path, environment={"PROMETHEUS_MULTIPROC_DIR": str(shared)}) as served:
        for _ in range(3):
            assert httpx.get(f"{served.base_url}/healthz").status_code == 200
        text = httpx.get(f"{served.base_url}/metrics").text
        live = sorted(path.name for path in shared.glob("gauge_live*.db"))

    assert sample(text, REQUESTS_TOTAL, method="GET", route="/healthz", status="200") == 3
    # The operator's directory: emptied at start, kept at exit with the counters, without the live gauges.
    assert processes_that_counted(shared) == {served.process.pid}
    assert list(shared.glob("gauge_live*.db")) == []
    if not database_url.startswith("sqlite"):
        assert live == [f"gauge_livesum_{served.process.pid}.db"]
        assert sample(text, "orchjobs_db_pool_size") == 2


# -- Graceful shutdown ---------------------------------------------------------------------------------------------
# The request in flight is an orchestrator's call whose body is still arriving (a slow link): the server has read
# its headers and is waiting for the rest when it is told to stop.

BODY = b'{"SessionToken": "not-a-session"}'
# How long a stopping server may take to exit before the test calls it hung: a bound on a hang, not a timing.
PROCESS_EXIT_SECONDS = 60


def start_slow_request(base_url: str) -> socket.socket:
    """A heartbeat whose headers and first byte of body have been sent; the rest is the caller's to send."""
    port = int(base_url.rsplit(":", 1)[1])
    connection = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = (
        "POST /KeyfactorAgents/Session/Heartbeat HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(BODY)}\r\n\r\n"
    )
    connection.sendall(head.encode() + BODY[:1])
    time.sleep(0.3)  # the server has the request, and waits for its body
    return connection


def read_answer(connection: socket.socket) -> bytes:
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


def test_a_request_in_flight_at_sigterm_finishes_within_the_shutdown_timeout(sqlite_url: str, tmp_path: Path) -> None:
    # A timeout far longer than the wait below: a server that waited it out would not have exited in time.
    with serving(sqlite_url, tmp_path, environment={"ORCHJOBS_SHUTDOWN_TIMEOUT_SECONDS": "600"}) as served:
        connection = start_slow_request(served.base_url)
        served.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        with pytest.raises(httpx.TransportError):  # no new connections while it stops
            httpx.get(f"{served.base_url}/healthz", timeout=1)

        connection.sendall(BODY[1:])
        answer = read_answer(connection)
        connection.close()
        # Once its last request is answered, it does not wait out the timeout.
        served.process.wait(timeout=PROCESS_EXIT_SECONDS)
        log = read_log(served.log_path.open("rb"))

    assert answer.startswith(b"HTTP/1.1 200 "), answer
    assert answer.endswith(b'"SessionValid":false,"Jobs":[],"Result":{"Status":1}}')  # the heartbeat's real answer
    assert b"connection: close" in answer.lower()
    # uvicorn, once stopped, raises the signal again for whoever started it to see.
    assert served.process.returncode in (0, -signal.SIGTERM)
    assert "Finished server process" in log


def test_a_request_that_outlasts_the_shutdown_timeout_is_cut_off_and_the_server_exits(
    sqlite_url: str, tmp_path: Path
) -> None:
    with serving(sqlite_url, tmp_path, environment={"ORCHJOBS_SHUTDOWN_TIMEOUT_SECONDS": "1"}) as served:
        connection = start_slow_request(served.base_url)
        served.process.send_signal(signal.SIGTERM)
        served.process.wait(timeout=PROCESS_EXIT_SECONDS)
        answer = read_answer(connection)  # the rest of the body never comes
        connection.close()
        log = read_log(served.log_path.open("rb"))

    assert not answer.startswith(b"HTTP/1.1 200"), answer
    assert "timeout graceful shutdown exceeded" in log


def test_an_open_console_event_stream_ends_at_sigterm_and_does_not_hold_the_shutdown(
    sqlite_url: str, tmp_path: Path
) -> None:
    with serving(sqlite_url, tmp_path, environment={"ORCHJOBS_SHUTDOWN_TIMEOUT_SECONDS": "600"}) as served:
        client = httpx.Client(base_url=served.base_url, timeout=10)
        assert client.post("/login", data={"username": ADMIN[0], "password": ADMIN[1]}).status_code == 303
        with client.stream("GET", "/console/events") as stream:
            lines = stream.iter_lines()
            assert next(line for line in lines if line.startswith("event:")) == "event: ready"
            served.process.send_signal(signal.SIGTERM)
            rest = list(lines)  # the stream ends: the server closed it
        client.close()
        served.process.wait(timeout=PROCESS_EXIT_SECONDS)
        log = read_log(served.log_path.open("rb"))

    assert not any(line.startswith("event: history") for line in rest)
    assert "timeout graceful shutdown exceeded" not in log
    assert "Finished server process" in log
