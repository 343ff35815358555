"""`run(...)`: the reference orchestrator's main loop, as the `orchjobs orchestrator` command runs it.

Register, run the jobs handed out, then heartbeat every HeartbeatInterval minutes (or `poll_seconds`) and run
what each heartbeat hands out, until SIGINT/SIGTERM. With `once`, register, heartbeat once, run those jobs and
exit. Everything is logged to `orchjobs-orchestrator.log` in the store directory: that file is what FetchLogs
returns.
"""

import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import httpx

from orchjobs.domain.capabilities import FETCH_LOGS
from orchjobs.orchestrator.agent import Orchestrator
from orchjobs.orchestrator.client import ProtocolClient
from orchjobs.orchestrator.custom import DEFAULT_MAX_DATA_BYTES, CustomJobTypes

DEFAULT_CAPABILITIES = [
    "CertStores.PEM.Inventory",
    "CertStores.PEM.Management",
    "CertStores.PEM.Discovery",
    "CertStores.JKS.Discovery",
    FETCH_LOGS,
]
LOG_FILE = "orchjobs-orchestrator.log"
POLL_SECONDS_ENV = "ORCHJOBS_ORCHESTRATOR_POLL_SECONDS"
CAPABILITIES_ENV = "ORCHJOBS_ORCHESTRATOR_CAPABILITIES"  # extra capabilities, comma-separated
RETRY_SECONDS = 60.0  # how long to wait before registering again when the server could not be reached
EXIT_OK, EXIT_NOT_REGISTERED = 0, 1

logger = logging.getLogger("orchjobs.orchestrator")


def run(
    *,
    url: str,
    name: str,
    store_dir: str | Path | None = None,
    username: str | None = None,
    password: str | None = None,
    once: bool = False,
    capabilities: list[str] | None = None,
    custom_jobs: CustomJobTypes | None = None,
    max_data_bytes: int = DEFAULT_MAX_DATA_BYTES,
    poll_seconds: float | None = None,
    stop: threading.Event | None = None,
    transport: httpx.BaseTransport | None = None,
) -> int:
    """Run the orchestrator; the exit code is 0, or 1 when `once` could not register or heartbeat.

    `custom_jobs` are the custom job types to report and run with their handlers; `capabilities` are reported
    besides the defaults (e.g. `Custom.Echo`, run by the default handler), as are those in
    ORCHJOBS_ORCHESTRATOR_CAPABILITIES. A custom job's result data over `max_data_bytes` fails the run instead of
    being sent. `stop` ends the loop from another thread; `transport` is for tests.
    """
    custom_jobs = custom_jobs or CustomJobTypes()
    directory = Path(store_dir) if store_dir else Path.cwd()
    directory.mkdir(parents=True, exist_ok=True)
    stop = stop or threading.Event()
    with (
        _logging_to(directory / LOG_FILE),
        _stopping_on_signals(stop),
        ProtocolClient(url, username=username, password=password, transport=transport) as client,
    ):
        orchestrator = Orchestrator(
            client,
            name=name,
            directory=directory,
            capabilities=reported_capabilities([*custom_jobs.capabilities, *(capabilities or [])]),
            log_path=directory / LOG_FILE,
            custom_jobs=custom_jobs,
            max_data_bytes=max_data_bytes,
        )
        logger.info("Orchestrator %s starting against %s with store directory %s", name, url, directory)
        _log_custom_jobs(custom_jobs)
        if once:
            return _run_once(orchestrator)
        _run_until_stopped(orchestrator, stop, _poll_override(poll_seconds))
        logger.info("Orchestrator %s stopped", name)
        return EXIT_OK


def reported_capabilities(extra: list[str] | None) -> list[str]:
    """The defaults, then `extra` and those in the environment, each once."""
    from_env = [item.strip() for item in os.environ.get(CAPABILITIES_ENV, "").split(",")]
    names = [*DEFAULT_CAPABILITIES, *(extra or []), *from_env]
    unique: dict[str, str] = {}
    for item in names:
        if item:
            unique.setdefault(item.lower(), item)
    return list(unique.values())


def _log_custom_jobs(custom_jobs: CustomJobTypes) -> None:
    for job_type in custom_jobs:
        module = getattr(job_type.handler, "__module__", "?")
        function = getattr(job_type.handler, "__qualname__", repr(job_type.handler))
        logger.info("Custom job type %s (%s) runs %s:%s", job_type.name, job_type.capability, module, function)


def _run_once(orchestrator: Orchestrator) -> int:
    handed_out = orchestrator.register()
    if handed_out is None:
        return EXIT_NOT_REGISTERED
    orchestrator.run_jobs(handed_out)
    handed_out = orchestrator.heartbeat()
    if handed_out is None:
        return EXIT_NOT_REGISTERED
    orchestrator.run_jobs(handed_out)
    return EXIT_OK


def _run_until_stopped(orchestrator: Orchestrator, stop: threading.Event, poll_seconds: float | None) -> None:
    while not stop.is_set():
        handed_out = orchestrator.heartbeat()  # registers first when there is no session
        if handed_out is not None:
            orchestrator.run_jobs(handed_out, stopping=stop)
        stop.wait(_wait_seconds(orchestrator, poll_seconds, checked_in=handed_out is not None))


def _wait_seconds(orchestrator: Orchestrator, poll_seconds: float | None, *, checked_in: bool) -> float:
    if poll_seconds is not None:
        return poll_seconds
    return orchestrator.heartbeat_minutes * 60.0 if checked_in else RETRY_SECONDS


def _poll_override(poll_seconds: float | None) -> float | None:
    if poll_seconds is not None:
        return max(0.0, poll_seconds)
    text = os.environ.get(POLL_SECONDS_ENV, "").strip()
    try:
        return max(0.0, float(text)) if text else None
    except ValueError:
        logger.warning("Ignoring %s=%r: not a number of seconds", POLL_SECONDS_ENV, text)
        return None


@contextmanager
def _logging_to(path: Path) -> Iterator[None]:
    """Log to the file FetchLogs reads, and to stderr, for the duration of one run."""
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    handlers: list[logging.Handler] = [logging.FileHandler(path, encoding="utf-8"), logging.StreamHandler(sys.stderr)]
    for handler in handlers:
        handler.setFormatter(formatter)
        logger.addHandler(handler)
    previous_level, previous_propagate = logger.level, logger.propagate
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
            handler.close()
        logger.setLevel(previous_level)
        logger.propagate = previous_propagate


@contextmanager
def _stopping_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT and SIGTERM set `stop`: the job in hand finishes, then the loop ends. Only the main thread can
    install signal handlers; elsewhere the caller stops the loop through the event."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        logger.info("Received %s: stopping after the current job", signal.Signals(signum).name)
        stop.set()

    previous = {signum: signal.signal(signum, request_stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
