"""`make run` as a new user meets it: it serves on ORCHJOBS_PORT, runs the demo orchestrator against that port, and
the first SIGTERM (or Ctrl-C) stops everything it started, promptly."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from tests.live import ADMIN, API_HEADERS, answers, free_port, server_environment

REPO = Path(__file__).resolve().parents[1]
STOP_SECONDS = 8.0


@pytest.mark.parametrize("ctrl_c", [False, True], ids=["sigterm", "ctrl-c"])
def test_make_run_serves_on_the_configured_port_and_stops_on_the_first_signal(
    database_url: str, tmp_path: Path, ctrl_c: bool
) -> None:
    port, demo_dir = free_port(), tmp_path / "demo"
    env = {key: value for key, value in server_environment(database_url, tmp_path).items() if "MAKE" not in key}
    env |= {"ORCHJOBS_PORT": str(port), "ORCHJOBS_DEMO_DIR": str(demo_dir), "ORCHJOBS_ORCHESTRATOR_POLL_SECONDS": "1"}
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryFile() as log:
        make = subprocess.Popen(
            [
                "make",
                "-s",
                "-C",
                str(REPO),
                "-o",
                "install",
                "run",
                f"BIN={bin_dir}",
                f"ORCHJOBS_BOOTSTRAP_ADMIN={env['ORCHJOBS_BOOTSTRAP_ADMIN']}",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            orchestrator_log = demo_dir / "orchjobs-orchestrator.log"
            wait_for(
                lambda: (
                    answers(f"http://127.0.0.1:{port}") and "Registered as demo-orchestrator" in read(orchestrator_log)
                ),
                log,
            )
            assert (demo_dir / "web-app.pem").exists()
            if not ctrl_c:  # once is enough: the demo's runs arrive, a failure among them, for the console to show
                arrived = {"Inventory Success", "DiskUsage Success", "DiskUsage Failure"}
                wait_for(lambda: demo_runs(port) >= arrived, log)

            if ctrl_c:  # the terminal sends SIGINT to every process of the foreground group
                os.killpg(make.pid, signal.SIGINT)
            else:
                make.send_signal(signal.SIGTERM)
            make.wait(timeout=STOP_SECONDS)
            wait_for(lambda: not group_alive(make.pid), log, seconds=STOP_SECONDS)
        finally:
            if group_alive(make.pid):
                os.killpg(make.pid, signal.SIGKILL)
            make.wait(timeout=STOP_SECONDS)
    assert not answers(f"http://127.0.0.1:{port}")


def demo_runs(port: int) -> set[str]:
    """'JobType Result' of the demo orchestrator's finished runs (a recurring job's failure is CompletedWillRetry)."""
    answer = httpx.get(
        f"http://127.0.0.1:{port}/KeyfactorAPI/OrchestratorJobs/JobHistory",
        params={"pq.queryString": 'ClientMachine -eq "demo-orchestrator" AND Result -ge 2', "pq.returnLimit": "50"},
        headers=API_HEADERS,
        auth=ADMIN,
    )
    results = {2: "Success", 3: "Warning", 4: "Failure"}
    return {f"{run['JobType']} {results[run['Result']]}" for run in answer.json()}


def read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for(condition, log, seconds: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            log.seek(0)
            pytest.fail(log.read().decode("utf-8", "replace"))
        time.sleep(0.2)
