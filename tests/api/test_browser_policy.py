"""What browsers are told: security headers on every answer, no CORS unless ORCHJOBS_CORS_ORIGINS names origins, and
then exactly those origins with the headers Command's clients send."""

from collections.abc import Iterator

import pytest
from httpx2 import Response
from pydantic import ValidationError
from starlette.testclient import TestClient

from orchjobs.settings import Settings, load_settings
from tests.conftest import api_client
from tests.live import ADMIN, API_HEADERS

CONSOLE = "https://console.example.com"
ELSEWHERE = "https://evil.example.net"
ENDPOINTS = "/KeyfactorAPI/Status/Endpoints"
HEARTBEAT = "/KeyfactorAgents/Session/Heartbeat"
EVERY_ANSWER = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "x-frame-options": "DENY"}
SERVICE_ANSWER = {"cache-control": "no-store", "content-security-policy": "default-src 'none'; frame-ancestors 'none'"}
# What a browser asks before a console's POST with Command's headers.
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": ", ".join(
        ("Authorization", "Content-Type", "x-keyfactor-requested-with", "x-keyfactor-api-version")
    ),
}


@pytest.fixture
def plain(settings: Settings) -> Iterator[TestClient]:
    """A client without credentials or Command's headers: each test sends what it means to."""
    with api_client(settings, auth=None, headers=None) as client:
        yield client


def cors_headers(response: Response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name.startswith("access-control-")}


def assert_headers(response: Response, expected: dict[str, str]) -> None:
    assert {name: response.headers.get(name) for name in expected} == expected, response.headers


def test_every_answer_carries_the_security_headers(plain: TestClient) -> None:
    answers = {
        "ok": plain.get(ENDPOINTS, headers=API_HEADERS, auth=ADMIN),
        "unauthenticated": plain.get(ENDPOINTS, headers=API_HEADERS),
        "without x-keyfactor-requested-with": plain.get(ENDPOINTS, auth=ADMIN),
        "unknown API path": plain.get("/KeyfactorAPI/NoSuchThing", headers=API_HEADERS, auth=ADMIN),
        "case-insensitive path": plain.get(ENDPOINTS.lower(), headers=API_HEADERS, auth=ADMIN),
        "orchestrator protocol": plain.post(HEARTBEAT, json={"SessionToken": "nope"}),
    }
    assert [response.status_code for response in answers.values()] == [200, 401, 400, 404, 200, 200]
    for response in answers.values():
        assert_headers(response, EVERY_ANSWER | SERVICE_ANSWER)
        assert "strict-transport-security" not in response.headers  # plain HTTP
    # Pages outside the API (the interactive documentation) are not forbidden to cache or to load their own scripts.
    docs = plain.get("/docs")
    assert docs.status_code == 200
    assert_headers(docs, EVERY_ANSWER)
    assert "cache-control" not in docs.headers
    assert "script-src 'self'" in docs.headers["content-security-policy"]
    assert plain.get("/nowhere").headers["x-content-type-options"] == "nosniff"


def test_strict_transport_security_is_sent_over_https_only(settings: Settings) -> None:
    with api_client(settings) as client:
        client.base_url = "https://testserver"
        secure = client.get(ENDPOINTS)
    assert secure.status_code == 200
    assert secure.headers["strict-transport-security"] == "max-age=31536000"
    assert_headers(secure, EVERY_ANSWER | SERVICE_ANSWER)


def test_no_cors_by_default(plain: TestClient) -> None:
    simple = plain.get(ENDPOINTS, headers={**API_HEADERS, "Origin": CONSOLE}, auth=ADMIN)
    assert simple.status_code == 200
    assert cors_headers(simple) == {}
    for path in (ENDPOINTS, "/KeyfactorAPI/Agents/Approve", "/KeyfactorAgents/Session/Register"):
        preflight = plain.options(path, headers={"Origin": CONSOLE, **PREFLIGHT})
        assert preflight.status_code >= 400, preflight.text
        assert cors_headers(preflight) == {}
        assert_headers(preflight, EVERY_ANSWER)


def test_the_configured_origins_may_call_with_commands_headers(settings: Settings) -> None:
    configured = settings.model_copy(update={"cors_origins": f"{CONSOLE},http://localhost:3000"})
    with api_client(configured, auth=None, headers=None) as plain:
        preflight = plain.options("/KeyfactorAPI/Agents/Approve", headers={"Origin": CONSOLE, **PREFLIGHT})
        assert preflight.status_code == 200, preflight.text
        assert preflight.headers["access-control-allow-origin"] == CONSOLE
        allowed = {name.strip().lower() for name in preflight.headers["access-control-allow-headers"].split(",")}
        assert allowed >= {"authorization", "content-type", "x-keyfactor-requested-with", "x-keyfactor-api-version"}
        assert "POST" in preflight.headers["access-control-allow-methods"]
        assert "access-control-allow-credentials" not in preflight.headers
        assert_headers(preflight, EVERY_ANSWER)

        simple = plain.get(ENDPOINTS, headers={**API_HEADERS, "Origin": CONSOLE}, auth=ADMIN)
        assert simple.status_code == 200
        assert simple.headers["access-control-allow-origin"] == CONSOLE
        assert "x-keyfactor-product-version" in simple.headers["access-control-expose-headers"].lower()
        assert "origin" in simple.headers["vary"].lower()

        other = plain.options("/KeyfactorAPI/Agents/Approve", headers={"Origin": ELSEWHERE, **PREFLIGHT})
        assert other.status_code == 400
        assert "access-control-allow-origin" not in other.headers
        elsewhere = plain.get(ENDPOINTS, headers={**API_HEADERS, "Origin": ELSEWHERE}, auth=ADMIN)
        assert "access-control-allow-origin" not in elsewhere.headers
        # A header outside Command's is not allowed either.
        extra = plain.options(
            ENDPOINTS,
            headers={
                "Origin": CONSOLE,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "x-evil",
            },
        )
        assert extra.status_code == 400


def test_origins_are_normalized_and_anything_else_is_refused_at_start() -> None:
    loaded = load_settings({"ORCHJOBS_CORS_ORIGINS": " https://Console.Example.com/ ,https://console.example.com:443,"})
    assert loaded.cors_origins == "https://console.example.com,https://console.example.com"
    for bad in ("*", "https://console.example.com/app", "console.example.com", "ftp://files.example.com"):
        with pytest.raises(ValidationError, match="is not an origin"):
            load_settings({"ORCHJOBS_CORS_ORIGINS": bad})
