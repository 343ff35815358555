"""The console's login, session cookie and CSRF protection over HTTP (docs/console.md): what a browser is sent, and
what the JSON API accepts from it."""

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient
from typer.testing import CliRunner

from orchjobs.api import paths
from orchjobs.app import create_app
from orchjobs.cli import app
from orchjobs.settings import Settings
from tests.factories import add_history, history_state
from tests.live import ADMIN

MY = f"{paths.SECURITY}/My"
ACKNOWLEDGE = f"{paths.ORCHESTRATOR_JOBS}/Acknowledge"
BROWSER = {"x-keyfactor-requested-with": "XMLHttpRequest"}
runner = CliRunner()


@pytest.fixture
def browser(settings: Settings) -> Iterator[TestClient]:
    """A client as a browser is: no credentials but the cookies it was given, following no redirects."""
    with TestClient(create_app(settings), follow_redirects=False) as client:
        yield client


def log_in(browser: TestClient, user: tuple[str, str] = ADMIN) -> str:
    """Logs in; the CSRF token the job-history page carries."""
    answer = browser.post("/login", data={"username": user[0], "password": user[1]})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/"
    page = browser.get("/")
    assert page.status_code == 200
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert found
    return found.group(1)


def test_an_unauthenticated_browser_is_sent_to_login(browser: TestClient) -> None:
    answer = browser.get("/")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login"
    login = browser.get("/login")
    assert login.status_code == 200
    assert '<label for="username">' in login.text


def test_the_session_cookie_is_httponly_strict_and_not_secure_over_http(browser: TestClient) -> None:
    answer = browser.post("/login", data={"username": ADMIN[0], "password": ADMIN[1]})
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("orchjobs_session=")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite", "path", "max-age"} <= attributes
    assert "samesite=strict" in cookie.lower()
    assert "path=/" in cookie.lower()
    assert "secure" not in attributes


def test_the_session_cookie_is_secure_over_https(settings: Settings) -> None:
    with TestClient(create_app(settings), base_url="https://testserver", follow_redirects=False) as browser:
        answer = browser.post("/login", data={"username": ADMIN[0], "password": ADMIN[1]})
        assert answer.status_code == 303
        assert "secure" in answer.headers["set-cookie"].lower().split("; ")


def test_the_page_loads_only_its_own_scripts_and_styles(browser: TestClient) -> None:
    log_in(browser)
    page = browser.get("/")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text
    for asset in re.findall(r'(?:src|href)="(/console/static/[^"]+)"', page.text):
        assert browser.get(asset).status_code == 200, asset


def test_the_api_takes_the_cookie_only_with_its_csrf_token(browser: TestClient, engine: Engine) -> None:
    csrf = log_in(browser)
    failed = add_history(engine, result=4, status=3)
    before = history_state(engine)

    assert browser.get(MY, headers={**BROWSER, "x-csrf-token": csrf}).json()["AccountName"] == ADMIN[0]
    for token in (None, "", csrf[:-1] + ("A" if csrf[-1] != "A" else "B")):
        headers = BROWSER if token is None else {**BROWSER, "x-csrf-token": token}
        refused = browser.post(ACKNOWLEDGE, json={"JobAuditIds": [failed]}, headers=headers)
        assert refused.status_code == 403
        assert refused.json()["ErrorCode"] == "0xA0110012"
        assert "X-CSRF-Token" in refused.json()["Message"]
        assert browser.get(MY, headers=headers).status_code == 403
    assert history_state(engine) == before

    # Command's header is still required with the cookie.
    missing = browser.post(ACKNOWLEDGE, json={"JobAuditIds": [failed]}, headers={"x-csrf-token": csrf})
    assert missing.status_code == 400
    assert history_state(engine) == before

    done = browser.post(ACKNOWLEDGE, json={"JobAuditIds": [failed]}, headers={**BROWSER, "x-csrf-token": csrf})
    assert done.status_code == 204
    assert history_state(engine)[failed][0] == 4


def test_logout_ends_the_session_on_the_api_too(browser: TestClient) -> None:
    csrf = log_in(browser)
    cookie = browser.cookies["orchjobs_session"]
    assert browser.post("/logout", data={"csrf": "wrong"}).status_code == 403
    assert browser.get(MY, headers={**BROWSER, "x-csrf-token": csrf}).status_code == 200

    answer = browser.post("/logout", data={"csrf": csrf})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login"
    assert "orchjobs_session" not in browser.cookies

    browser.cookies.set("orchjobs_session", cookie)
    refused = browser.get(MY, headers={**BROWSER, "x-csrf-token": csrf})
    assert refused.status_code == 401
    assert refused.json()["ErrorCode"]
    # No Basic challenge: the browser must not prompt for a password over the page.
    assert "www-authenticate" not in refused.headers
    assert browser.get("/").headers["location"] == "/login"


def test_login_is_throttled_like_basic_authentication(settings: Settings) -> None:
    throttled = settings.model_copy(update={"login_failures_per_address": 2})
    with TestClient(create_app(throttled), follow_redirects=False) as browser:
        for _ in range(2):
            wrong = browser.post("/login", data={"username": ADMIN[0], "password": "not-the-password"})
            assert wrong.status_code == 401
            assert "incorrect" in wrong.text
        refused = browser.post("/login", data={"username": ADMIN[0], "password": ADMIN[1]})
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) > 0
        assert "Too many failed logins" in refused.text
        assert "orchjobs_session" not in browser.cookies
        # Basic authentication counts the same failures.
        basic = browser.get(MY, headers=BROWSER, auth=ADMIN)
        assert basic.status_code == 429


def test_a_login_form_of_another_site_is_refused(browser: TestClient) -> None:
    answer = browser.post(
        "/login", data={"username": ADMIN[0], "password": ADMIN[1]}, headers={"origin": "https://evil.example"}
    )
    assert answer.status_code == 403
    assert "orchjobs_session" not in browser.cookies


def test_basic_authentication_is_unchanged(browser: TestClient) -> None:
    assert browser.get(MY, headers=BROWSER, auth=ADMIN).json()["AccountName"] == ADMIN[0]
    challenged = browser.get(MY, headers=BROWSER)
    assert challenged.status_code == 401
    assert challenged.headers["www-authenticate"].startswith("Basic")


def test_a_changed_password_or_a_removed_user_ends_its_console_sessions(settings: Settings) -> None:
    env = {"ORCHJOBS_DATABASE_URL": settings.database_url}
    user = ("rotating", "first-pass")
    added = runner.invoke(app, ["user", "add", user[0], "--password", user[1], "--role", "Operator"], env=env)
    assert added.exit_code == 0, added.output
    with TestClient(create_app(settings), follow_redirects=False) as browser:
        csrf = log_in(browser, user)
        headers = {**BROWSER, "x-csrf-token": csrf}
        assert browser.get(MY, headers=headers).json()["AccountName"] == user[0]
        changed = runner.invoke(app, ["user", "password", user[0], "--password", "second-pass"], env=env)
        assert changed.exit_code == 0, changed.output
        assert browser.get(MY, headers=headers).status_code == 401

        csrf = log_in(browser, (user[0], "second-pass"))
        headers = {**BROWSER, "x-csrf-token": csrf}
        assert browser.get(MY, headers=headers).status_code == 200
        assert runner.invoke(app, ["user", "remove", user[0]], env=env).exit_code == 0
        assert browser.get(MY, headers=headers).status_code == 401
        assert browser.get("/").headers["location"] == "/login"
