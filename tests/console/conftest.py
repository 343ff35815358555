"""What the console's browser tests share. A browser test takes `console_server` (one real server process per
database for every browser module of the session, on a database of its own) and `console_database` (that database,
emptied for the test), and drives Debian's Chromium (`chromium`, one per module) through Playwright.

The browser modules carry `BROWSER` (pytestmark): `make test` runs with `--dist loadgroup`, so they all run on one
xdist worker, which starts one server per database instead of one per module and worker."""

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import BACKENDS, empty_database, migrated_postgres
from tests.live import ADMIN, running_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = "/usr/bin/chromium"
BROWSER = pytest.mark.xdist_group("console-browser")


@pytest.fixture(scope="module")
def chromium() -> Iterator["Browser"]:
    """One Chromium per module, not per session: Playwright's sync API keeps an event loop running in the test
    thread while it is open, and a later module's asyncio.run() on the same worker would fail."""
    # Imported here: the modules that need no browser run where playwright is not installed (they skip, saying so).
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session", params=BACKENDS)
def console_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[str]:
    """A migrated database for the browser tests' server, one per database kind for the session."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("console") / "orchjobs.db"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    with migrated_postgres(f"orchjobs_test_{os.getpid()}_console") as url:
        yield url


@pytest.fixture(scope="session")
def console_server(console_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real server process per database for all the browser tests (a server takes seconds to start)."""
    with running_server(console_database_url, tmp_path_factory.mktemp("console-server")) as base_url:
        yield base_url


@pytest.fixture
def console_database(console_database_url: str) -> str:
    """The console server's database, emptied for this test (what the migrations install, and ADMIN, stay)."""
    empty_database(console_database_url)
    return console_database_url


@pytest.fixture
def browser_page(chromium: "Browser", console_server: str, console_database: str) -> Iterator["Page"]:
    """A fresh browser context (no cookies) on the console server, in Tokyo's time zone (nine hours from UTC, so
    that a time shown in UTC by mistake is seen)."""
    context = chromium.new_context(base_url=console_server, locale="en-US", timezone_id="Asia/Tokyo")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def log_in(page: "Page", user: tuple[str, str] = ADMIN, path: str = "/") -> None:
    """Logs in through the form and waits until the page at `path` has loaded what it shows."""
    from playwright.sync_api import expect

    page.goto(path)
    expect(page).to_have_url(re.compile(r"/login(\?next=.*)?$"))
    page.get_by_label("User name").fill(user[0])
    page.get_by_label("Password").fill(user[1])
    page.get_by_role("button", name="Log in").click()
    # Back at the page that sent the browser to log in.
    expect(page).to_have_url(re.compile(f"{re.escape(path)}$"))
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
