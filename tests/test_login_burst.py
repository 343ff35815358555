"""A burst of bad logins against a real server process: password checks wait for their own threads, so another
user's requests keep their pace, and a full queue is refused at once (503 with Retry-After).

The attacks come through a trusted proxy with a fresh X-Forwarded-For per guess (a distributed attack the login
limits let through, one guess per address), so that every bad login costs a real Argon2 verification at the
service's parameters: the victim is created by the service, not with the tests' cheap ADMIN hash.

Tests assert no timings but this one, which issue 9 asks for: p99 under 100 ms, or under ten times the p99 the same
user saw just before the attack when other tests load the machine. It samples a paced user (a request every 20 ms)
after a warm-up, for as long as the attack lasts (thousands of samples), so one slow moment of a machine shared with
other tests does not decide the 99th percentile. The attack takes 35 s on a quiet two-core machine and minutes on a busy
one: the hashing threads run niced, and yield to everything else."""

import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import Engine, select

from orchjobs.service.users import create_user
from orchjobs.store.engine import make_engine
from orchjobs.store.tables import user_account
from tests.conftest import BACKENDS
from tests.live import ADMIN, API_HEADERS, running_server

FAILURE_COUNT = "/KeyfactorAPI/OrchestratorJobs/JobHistory/FailureCount"
VICTIM = ("victim", "the-real-password")
BAD_LOGINS = 200
ATTACK_THREADS = 20
P99_BOUND_SECONDS = 0.100
LOAD_FACTOR = 10
WARM_UP = 50
PACE_SECONDS = 0.020


def _add_victim(engine: Engine) -> None:
    create_user(engine, username=VICTIM[0], password=VICTIM[1], roles=["Operator"], now=datetime.now(UTC))
    with engine.connect() as conn:
        stored = conn.execute(select(user_account.c.password_hash).where(user_account.c.username == VICTIM[0]))
        assert "m=65536,t=3,p=4" in stored.scalar_one()


def _bad_login(client: httpx.Client, thread: int, attempt: int) -> httpx.Response:
    return client.get(
        FAILURE_COUNT,
        auth=(VICTIM[0], f"guess-{thread}-{attempt}"),
        headers={"X-Forwarded-For": f"10.9.{thread}.{attempt + 1}"},
    )


def _attack(
    base_url: str, *, threads: int, per_thread: int, start: Callable[[], object] = lambda: None
) -> list[httpx.Response]:
    """`threads` × `per_thread` bad logins, each thread on a connection of its own, after `start()`."""

    def one_thread(thread: int) -> list[httpx.Response]:
        with httpx.Client(base_url=base_url, headers=API_HEADERS, timeout=120) as client:
            start()
            return [_bad_login(client, thread, attempt) for attempt in range(per_thread)]

    with ThreadPoolExecutor(threads) as pool:
        return [response for responses in pool.map(one_thread, range(threads)) for response in responses]


def _p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[98]


# One database: what is under test (the hashing pool, its niced threads, the login limits) lives in the server
# process, and the attack costs half a minute of a quiet machine's two cores for each run.
@pytest.mark.parametrize("database_url", BACKENDS[-1:], indirect=True)
def test_another_users_p99_stays_under_100_ms_during_200_bad_logins(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    _add_victim(engine)
    environment = {"ORCHJOBS_TRUSTED_PROXIES": "127.0.0.1"}
    with (
        running_server(database_url, tmp_path, environment=environment) as base_url,
        httpx.Client(base_url=base_url, headers=API_HEADERS, auth=ADMIN, timeout=10) as user,
    ):

        def timed() -> float:
            started = time.perf_counter()
            response = user.get(FAILURE_COUNT)
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, response.text
            return elapsed

        # The user is logged in (its credential verified and remembered) and the server warm.
        before = [timed() for _call in range(WARM_UP)]
        attack = ThreadPoolExecutor(1).submit(
            _attack, base_url, threads=ATTACK_THREADS, per_thread=BAD_LOGINS // ATTACK_THREADS
        )
        # A busy user, not a flood of its own: a request every PACE_SECONDS.
        during = []
        while not attack.done():
            during.append(timed())
            time.sleep(max(0.0, PACE_SECONDS - during[-1]))
        statuses = [response.status_code for response in attack.result()]
    # Every bad login was checked (none throttled, none refused): 200 Argon2 verifications ran meanwhile.
    assert statuses == [401] * BAD_LOGINS
    assert len(during) >= 100, f"only {len(during)} requests while the attack ran"
    summary = (
        f"p99 {_p99(during) * 1000:.1f} ms over {len(during)} requests during the attack "
        f"(before it: p99 {_p99(before) * 1000:.1f} ms, median {statistics.median(before) * 1000:.1f} ms)"
    )
    # 100 ms on a quiet machine; where other tests load the same two cores (a browser, say), the bound grows with what
    # the same user saw just before the attack, so that it still catches logins that stall everyone (seconds).
    assert _p99(during) < max(P99_BOUND_SECONDS, LOAD_FACTOR * _p99(before)), summary


@pytest.fixture(scope="module")
def small_queue_server(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with one hashing thread and no room to wait for it, behind a trusted proxy."""
    environment = {
        "ORCHJOBS_TRUSTED_PROXIES": "127.0.0.1",
        "ORCHJOBS_PASSWORD_HASH_WORKERS": "1",
        "ORCHJOBS_PASSWORD_HASH_QUEUE": "0",
    }
    with running_server(module_database_url, tmp_path_factory.mktemp("server"), environment=environment) as base_url:
        yield base_url


def test_a_full_password_queue_is_refused_at_once_with_503(small_queue_server: str, shared_database: str) -> None:
    engine = make_engine(shared_database)
    try:
        _add_victim(engine)
    finally:
        engine.dispose()
    barrier = threading.Barrier(8)
    responses = _attack(small_queue_server, threads=8, per_thread=1, start=barrier.wait)
    # One check runs; the others, arriving meanwhile, find no room and are refused without waiting.
    assert {response.status_code for response in responses} == {401, 503}
    for busy in (response for response in responses if response.status_code == 503):
        assert busy.json()["ErrorCode"] == "0xA0110064" and set(busy.json()) == {"ErrorCode", "Message"}
        assert int(busy.headers["retry-after"]) >= 1
    # Refused checks count for nothing, and the queue is empty again: the real user gets in.
    with httpx.Client(base_url=small_queue_server, headers=API_HEADERS, timeout=30) as client:
        assert client.get(FAILURE_COUNT, auth=VICTIM).status_code == 200


def test_raw_bytes_the_http_parser_refuses_are_400_not_500(small_queue_server: str, shared_database: str) -> None:
    """A NUL or a bare CR inside the Authorization header never reaches the app: the HTTP server answers 400."""
    address = urlsplit(small_queue_server)
    for value in (b"Basic YWRtaW46\x00YWRtaW4=", b"Basic \rYWRtaW46YWRtaW4="):
        request = (
            b"GET " + FAILURE_COUNT.encode() + b" HTTP/1.1\r\nHost: localhost\r\n"
            b"x-keyfactor-requested-with: APIClient\r\nAuthorization: " + value + b"\r\nConnection: close\r\n\r\n"
        )
        with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
            sock.sendall(request)
            answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
