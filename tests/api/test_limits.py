"""Limits before the work, and a clean answer for every input (docs/limits.md): each bad input, sent to every route
of the app, is a 4xx in the route's error shape that changes nothing; a 405 names the methods the path takes."""

import base64
import json
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from orchjobs.api import paths
from orchjobs.api.limits import body_limits
from orchjobs.app import ROUTERS
from orchjobs.domain.jobs import MAX_NOTE_LENGTH
from orchjobs.settings import Settings
from orchjobs.store.tables import exists_on, metadata
from tests.api.test_authorization_matrix import MATRIX_REQUESTS
from tests.api.test_response_models import PATH_VALUES, arrange
from tests.conftest import api_client
from tests.factories import add_history
from tests.live import ADMIN, API_HEADERS

ROUTES = sorted(
    (method, route.path)
    for router in ROUTERS
    for route in router.routes
    if isinstance(route, APIRoute)
    for method in route.methods or ()
)
# The routes that read a body: those the matrix calls with one, and the orchestrator protocol's.
READING_A_BODY = [
    route for route in ROUTES if "json" in MATRIX_REQUESTS.get(route, {}) or route[1].startswith(paths.AGENTS)
]


def _strings_changed(value: Any, change: Callable[[str], str]) -> Any:
    """The route's own good request, with every string (keys too) changed: what reaches the database otherwise."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {change(key): _strings_changed(item, change) for key, item in value.items()}
    if isinstance(value, list):
        return [_strings_changed(item, change) for item in value]
    return value


def _with(change: Callable[[str], str]) -> Callable[[tuple[str, str], dict[str, str], Settings], dict[str, Any]]:
    def request(route: tuple[str, str], values: dict[str, str], _settings: Settings) -> dict[str, Any]:
        good = MATRIX_REQUESTS.get(route, {}).get("json") or _PROTOCOL_BODY
        body = _strings_changed(good, change)
        if body == good:  # no string to change: a list of ids, say
            body = [*good, change("x")] if isinstance(good, list) else {**good, change("Note"): change("n")}
        # json.dumps writes a lone surrogate as its \\ud800 escape, as a hostile client would.
        return {"content": json.dumps(_filled(body, values)).encode()}

    return request


_PROTOCOL_BODY = {"SessionToken": "token", "ClientMachine": "web01", "Note": "n", "Name": "n", "Message": "m"}


def _filled(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, text in values.items():
            value = value.replace("{" + name + "}", text)
        return value
    if isinstance(value, dict):
        return {_filled(key, values): _filled(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [_filled(item, values) for item in value]
    return value


def _too_large(route: tuple[str, str], _values: dict[str, str], settings: Settings) -> dict[str, Any]:
    return {"content": b" " * (body_limits(settings).for_path(route[1]) + 1)}


def _too_large_chunked(route: tuple[str, str], _values: dict[str, str], settings: Settings) -> dict[str, Any]:
    size = body_limits(settings).for_path(route[1]) + 1

    def chunks() -> Iterator[bytes]:
        for start in range(0, size, 65536):
            yield b" " * min(65536, size - start)

    return {"content": chunks()}


BODY_CASES: dict[str, Callable[[tuple[str, str], dict[str, str], Settings], dict[str, Any]]] = {
    "nested 100,000 deep": lambda *_: {"content": b'{"Note": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"},
    "nested 40 deep": lambda *_: {"content": b'{"Note": ' + b"[" * 40 + b"]" * 40 + b"}"},
    "a lone surrogate in every string": _with(lambda text: text + "\ud800"),
    "a NUL in every string": _with(lambda text: text + "\x00"),
    "invalid UTF-8": lambda *_: {"content": b'{"Note": "\xff\xfe", "Name": "\xc3("}'},
    "too large, with Content-Length": _too_large,
    "too large, chunked": _too_large_chunked,
}
# The orchestrator's reports of a run: a NUL in one of their strings is dealt with field by field
# (tests/api/test_agent_jobs.py, test_agent_discovery.py).
KEEPING_NUL = {("POST", "/KeyfactorAgents/Jobs/Complete"), ("POST", "/KeyfactorAgents/Jobs/Discovery")}
URL_CASES: dict[str, dict[str, Any]] = {
    "a NUL in the query string": {"params": {"pq.queryString": 'ClientMachine -eq "a\x00"', "accountName": "a\x00"}},
    "invalid UTF-8 in the query string": {"url_suffix": "?pq.queryString=%FF&accountName=%FF"},
    "a lone surrogate in the query string": {"url_suffix": "?pq.queryString=%ED%A0%80&accountName=%ED%A0%80"},
    "a NUL in the path": {"path_value": "a%00b"},
    "invalid UTF-8 in the path": {"path_value": "a%FFb"},
    "a NUL in a header": {"headers": {"x-note": b"a\x00b"}},
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Small limits, so that the bodies over them are quick to send; the arranged webhooks are not for delivering.
    return settings.model_copy(
        update={
            "webhook_poll_seconds": 3600.0,
            "max_body_bytes": 8192,
            "max_inventory_bytes": 16384,
            "max_bulk_ids": 100,
            "max_job_data_bytes": 4096,
        }
    )


def _arranged(engine: Engine) -> dict[str, str]:
    values = {**PATH_VALUES, **arrange(engine)}
    values.setdefault("failed_run_id", values.get("history_id", "1"))
    return values


def _snapshot(engine: Engine) -> dict[str, list[Any]]:
    with engine.connect() as conn:
        return {
            table.name: sorted(map(repr, conn.execute(select(table)).all()))
            for table in metadata.sorted_tables
            # open_failure_delta follows job_history, and the sweeper may fold its rows at any moment
            if exists_on(table, engine.dialect.name) and table.name not in ("alembic_version", "open_failure_delta")
        }


def assert_clean_refusal(route: tuple[str, str], answer: Any, statuses: tuple[int, ...] = (400, 413)) -> None:
    assert answer.status_code in statuses, (route, answer.status_code, answer.text)
    body = answer.json()
    if route[1].startswith(paths.AGENTS):
        assert body["Result"]["Status"] == 3, (route, body)
        assert set(body["Result"]["Error"]) == {"Code", "CodeString", "Message"}, (route, body)
    else:
        assert set(body) == {"ErrorCode", "Message"}, (route, body)
        assert body["ErrorCode"].startswith("0xA011"), (route, body)


@pytest.mark.parametrize("case", sorted(BODY_CASES))
def test_every_route_refuses_a_bad_body_cleanly_and_changes_nothing(
    settings: Settings, engine: Engine, case: str
) -> None:
    values = _arranged(engine)
    before = _snapshot(engine)
    answers = {}
    with api_client(settings) as client:
        # A route that takes no body does not read it, with one exception: a Content-Length over the limit.
        for route in ROUTES if case == "too large, with Content-Length" else READING_A_BODY:
            method, path = route
            options = BODY_CASES[case](route, values, settings)
            answers[route] = client.request(method, path.format(**values), **options)
    for route, answer in answers.items():
        # 200 KB of brackets is over most routes' limit (small in these tests) as well as too deep.
        expected = (413,) if case.startswith("too large") else (400, 413) if "100,000" in case else (400,)
        if case == "a NUL in every string" and route in KEEPING_NUL:
            # These read the body with its NULs (an orchestrator's report is not lost for one): the session token
            # holding one is no session, refused as the protocol refuses one.
            expected = (200,)
        # A bad id in the path or a missing orchestrator may be found first: still a clean 4xx, never the body.
        assert_clean_refusal(route, answer, expected if "{" not in route[1] else (*expected, 404))
    assert _snapshot(engine) == before


@pytest.mark.parametrize("case", sorted(URL_CASES))
def test_every_route_refuses_bad_text_in_the_url_or_headers_cleanly(
    settings: Settings, engine: Engine, case: str
) -> None:
    values = _arranged(engine)
    options = dict(URL_CASES[case])
    suffix = options.pop("url_suffix", "")
    path_value = options.pop("path_value", None)
    before = _snapshot(engine)
    answers = {}
    with api_client(settings) as client:
        for route in ROUTES:
            method, path = route
            if path_value is not None and "{" not in path:
                continue
            filled = dict.fromkeys(values, path_value) if path_value is not None else values
            body = _filled(MATRIX_REQUESTS.get(route, {}).get("json"), values)
            answers[route] = client.request(method, path.format(**filled) + suffix, json=body, **options)
    for route, answer in answers.items():
        assert_clean_refusal(route, answer, (400,))
    assert _snapshot(engine) == before


def test_a_405_names_every_method_the_path_takes(client: TestClient) -> None:
    by_path: dict[str, set[str]] = {}
    for method, path in ROUTES:
        by_path.setdefault(path.format(**PATH_VALUES, role_id="1", identity_id="1", webhook_id="1", store_id="1",
                                       certificate_id="1"), set()).add(method)  # fmt: skip
    for path, methods in by_path.items():
        answer = client.request("PATCH", path)
        assert answer.status_code == 405, (path, answer.text)
        assert set(answer.json()) == {"ErrorCode", "Message"}
        assert methods <= set(answer.headers["Allow"].split(", ")), (path, answer.headers["Allow"])
    assert client.request("PATCH", paths.WEBHOOKS).headers["Allow"] == "GET, POST"


def test_a_note_longer_than_the_limit_is_refused_and_changes_nothing(client: TestClient, engine: Engine) -> None:
    values = _arranged(engine)
    before = _snapshot(engine)
    body = {"JobAuditIds": [int(values["history_id"])], "Note": "n" * (MAX_NOTE_LENGTH + 1)}
    answer = client.post(f"{paths.ORCHESTRATOR_JOBS}/Acknowledge", json=body)
    assert_clean_refusal(("POST", paths.ORCHESTRATOR_JOBS), answer, (400,))
    assert f"at most {MAX_NOTE_LENGTH}" in answer.json()["Message"]
    assert _snapshot(engine) == before
    body["Note"] = "n" * MAX_NOTE_LENGTH
    assert client.post(f"{paths.ORCHESTRATOR_JOBS}/Acknowledge", json=body).status_code == 204


def test_bodies_within_their_route_limit_are_read(client: TestClient, engine: Engine, settings: Settings) -> None:
    """The limits are per route: a bulk request larger than the small bodies' limit is still taken."""
    ids = [add_history(engine, result=4, status=3) for _ in range(3)]
    padding = " " * settings.max_body_bytes
    answer = client.post(
        f"{paths.ORCHESTRATOR_JOBS}/Acknowledge", content=f'{{"JobAuditIds": {ids}, "Note": "n"}}{padding}'.encode()
    )
    assert answer.status_code == 204, answer.text
    refused = client.put(f"{paths.WEBHOOKS}/1", content=b"{}" + padding.encode())
    assert_clean_refusal(("PUT", paths.WEBHOOKS), refused, (413,))


def _exchange(base_url: str, head: bytes, body_chunks: Iterable[bytes] = ()) -> tuple[bytes, int, float]:
    """Sends a raw request (the head, then the body's chunks until the server answers) to the live server; its
    answer, how many body bytes were sent, and how long the answer took."""
    host, port = base_url.removeprefix("http://").split(":")
    started = time.monotonic()
    sent = 0
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        try:
            sock.sendall(head)
            for chunk in body_chunks:
                sock.sendall(chunk)
                sent += len(chunk)
                sock.setblocking(False)
                try:
                    if sock.recv(1, socket.MSG_PEEK):
                        break
                except BlockingIOError:
                    pass
                finally:
                    sock.setblocking(True)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        try:
            while not _complete(answer) and (chunk := sock.recv(65536)):
                answer += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    return answer, sent, time.monotonic() - started


def _complete(answer: bytes) -> bool:
    head, separator, body = answer.partition(b"\r\n\r\n")
    if not separator:
        return False
    length = next(
        (int(line.split(b":")[1]) for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")), 0
    )
    return len(body) >= length


_BASIC = "Authorization: Basic " + base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode()


def _head(method: str, path: str, *lines: str) -> bytes:
    return "\r\n".join([f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *lines, "", ""]).encode()


def test_a_live_server_refuses_large_heads_and_bodies_before_reading_them(live_server: str) -> None:
    register = f"{paths.SESSION}/Register"
    # A 1 MB header: 431 once 64 KB have come, well before the rest.
    answer, _, seconds = _exchange(live_server, _head("GET", paths.STATUS + "/Endpoints", "X-Big: " + "a" * 1_000_000))
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
    assert seconds < 2
    # A body announced larger than the route takes: 413 at once, nothing of it read.
    answer, _, _ = _exchange(live_server, _head("POST", register, "Content-Length: 500000000"))
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"CodeString":"A0110003"' in answer
    # The same body sent in chunks without a length: 413 once the limit (256 KB by default) has passed.
    chunk = b"10000\r\n" + b" " * 65536 + b"\r\n"
    answer, sent, _ = _exchange(
        live_server, _head("POST", register, "Transfer-Encoding: chunked", _BASIC), iter([chunk] * 8000)
    )
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 16 * 1024 * 1024
    # Text that is not UTF-8 in a header: a 400 in Command's shape.
    bad = b"GET /KeyfactorAPI/Status/Endpoints HTTP/1.1\r\nHost: x\r\nx-keyfactor-requested-with: APIClient\r\n"
    answer, _, _ = _exchange(live_server, bad + b"X-Note: a\xff\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b'"ErrorCode":"0xA0110001"' in answer
    # The server is still there for everyone else.
    assert httpx.get(live_server + paths.STATUS + "/Endpoints", headers=API_HEADERS, auth=ADMIN).status_code == 200
