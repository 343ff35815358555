"""The admin pages over HTTP (no browser): each sends a browser without a session to log in and back, and renders, for
a session, its script and the values it shows beside the API's (the settings' ranges, the permission catalogue)."""

import html
import json
import re

import pytest
from starlette.testclient import TestClient

from orchjobs.domain.app_settings import ServiceSettings
from orchjobs.domain.permissions import CATALOGUE
from tests.console.test_console_http import browser, log_in

__all__ = ["browser"]

PAGES = [("/stores", "stores.js"), ("/settings", "settings.js"), ("/security", "security.js"), ("/audit", "audit.js")]


@pytest.mark.parametrize(("path", "script"), PAGES)
def test_a_page_needs_a_session_and_loads_its_script(browser: TestClient, path: str, script: str) -> None:
    answer = browser.get(path)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/login?next=%2F{path[1:]}"
    log_in(browser)
    page = browser.get(path)
    assert page.status_code == 200
    assert f'<script type="module" src="/console/static/{script}"></script>' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert browser.get(f"/console/static/{script}").status_code == 200


def _attribute(text: str, name: str) -> object:
    found = re.search(rf"{name}='([^']*)'", text)
    assert found, name
    return json.loads(html.unescape(found.group(1)))


def test_the_ranges_and_the_catalogue_are_the_apis_own(browser: TestClient) -> None:
    log_in(browser)
    ranges = _attribute(browser.get("/settings").text, "data-ranges")
    assert ranges == {name: list(bounds) for name, bounds in ServiceSettings.ranges().items()}
    catalogue = _attribute(browser.get("/security").text, "data-catalogue")
    assert [each["Path"] for each in catalogue] == [each.path for each in CATALOGUE]  # type: ignore[union-attr]
