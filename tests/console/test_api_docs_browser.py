"""/docs in a real browser with no network beyond the server: Swagger UI loads from the app's own files, and its
"Authorize" then "Try it out" make real calls that succeed, on JobHistory and on Acknowledge."""

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from orchjobs.store.engine import make_engine
from tests.factories import add_history, history_state
from tests.live import ADMIN

pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install -e '.[test]'")
from playwright.sync_api import Browser, Locator, Page, Route, expect  # noqa: E402

from tests.console.conftest import BROWSER  # noqa: E402

pytestmark = BROWSER

JOBS = "/KeyfactorAPI/OrchestratorJobs"


@pytest.fixture
def engine(console_database: str) -> Iterator[Engine]:
    engine = make_engine(console_database)
    yield engine
    engine.dispose()


@pytest.fixture
def page(chromium: Browser, console_server: str, engine: Engine) -> Iterator[Page]:
    context = chromium.new_context(base_url=console_server)
    context.set_default_timeout(15_000)
    # Offline: any request to another origin fails, as it would on a machine without internet.
    context.route(lambda url: not url.startswith(console_server), lambda route: _refuse(route))
    page = context.new_page()
    yield page
    context.close()


def _refuse(route: Route) -> None:
    route.abort("internetdisconnected")


def _authorize(page: Page) -> None:
    page.goto("/docs")
    page.get_by_role("button", name="Authorize").first.click()
    dialog = page.locator(".dialog-ux")
    dialog.locator("#auth-basic-username").fill(ADMIN[0])
    dialog.locator("#auth-basic-password").fill(ADMIN[1])
    dialog.get_by_role("button", name="Apply credentials").click()
    dialog.get_by_role("button", name="Close").first.click()


def _operation(page: Page, method: str, path: str) -> Locator:
    """Opens the operation's tag (the page opens none at first), the operation, and its Try it out."""
    tag = page.locator("h3.opblock-tag").filter(has_text=path.split("/")[2]).first
    if tag.get_attribute("data-is-open") != "true":
        tag.click()
    block = page.locator(f".opblock-{method}").filter(has=page.locator(f'.opblock-summary-path[data-path="{path}"]'))
    block.locator(".opblock-summary").first.click()
    block.get_by_role("button", name="Try it out").click()
    return block


def test_try_it_out_lists_job_history_then_acknowledges(page: Page, engine: Engine) -> None:
    """One test: Swagger UI takes seconds to load the whole document, so both calls share one load."""
    failed = add_history(engine, result=4, status=3)
    _authorize(page)
    listing = _operation(page, "get", f"{JOBS}/JobHistory")
    listing.get_by_role("button", name="Execute").click()
    expect(listing.locator(".live-responses-table tr.response .response-col_status").first).to_have_text("200")
    expect(listing.locator(".live-responses-table tr.response .response-col_description").first).to_contain_text(
        "JobHistoryId"
    )

    acknowledge = _operation(page, "post", f"{JOBS}/Acknowledge")
    acknowledge.locator("textarea.body-param__text").fill(json.dumps({"JobAuditIds": [failed], "Note": "from /docs"}))
    acknowledge.get_by_role("button", name="Execute").click()
    expect(acknowledge.locator(".live-responses-table tr.response .response-col_status").first).to_have_text("204")
    assert history_state(engine)[failed][:3] == (4, 4, ADMIN[0])
