"""The job-history page in a real browser (Debian's Chromium, driven by Playwright) against a real server on
127.0.0.1 (tests/console/conftest.py: one server per database for the session, a fresh browser context per test)."""

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine

from orchjobs.api import paths
from orchjobs.service.users import create_user
from orchjobs.store.engine import make_engine
from tests.factories import add_history
from tests.live import ADMIN, API_HEADERS

# In the `test` extra (`make test` installs it); a virtualenv made before it was added skips this module, saying so.
pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install -e '.[test]'")
from playwright.sync_api import Page, expect  # noqa: E402

from tests.console.conftest import BROWSER, log_in  # noqa: E402

pytestmark = BROWSER

MY = f"{paths.SECURITY}/My"
# Runs of the last hours, inside the failure count's window: three failures, one warning, two successes.
STARTED = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
RUNS = [(4, 3), (4, 3), (4, 5), (3, 3), (2, 3), (2, 3)]


@pytest.fixture
def engine(console_database: str) -> Iterator[Engine]:
    engine = make_engine(console_database)
    yield engine
    engine.dispose()


@pytest.fixture
def runs(engine: Engine) -> list[int]:
    """The arranged runs' ids, in RUNS' order."""
    return [
        add_history(engine, result=result, status=status, operation_start=STARTED + timedelta(minutes=index))
        for index, (result, status) in enumerate(RUNS)
    ]


@pytest.fixture
def page(browser_page: Page, runs: list[int]) -> Page:
    return browser_page


def badge(page: Page) -> str:
    return page.locator("#failure-badge").inner_text()


def test_log_in_and_a_bad_query_is_marked_where_it_is_wrong(page: Page, runs: list[int]) -> None:
    log_in(page)
    expect(page.locator("#failure-badge")).to_have_text("4 failed or warning runs to acknowledge")
    expect(page.locator("#history tbody tr")).to_have_count(len(RUNS))
    # Times in the viewer's time zone: Tokyo is nine hours ahead of UTC.
    first = page.locator(f'tr[data-id="{runs[0]}"] td').nth(5)
    expect(first).to_contain_text(f"{(STARTED + timedelta(hours=9)).hour % 12 or 12}:00:00")
    expect(page.locator(f'tr[data-id="{runs[0]}"] .pill.result-failure')).to_have_text("Failure")

    query = 'JobType -eq "Inventory" AND Statuss -eq 3'
    page.get_by_label("Query").fill(query)
    status = page.locator("#query-status")
    expect(status).to_have_class(re.compile(r"\berror\b"))
    expect(status).to_contain_text("Statuss")
    expect(page.locator("#query")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#query-mark mark")).to_have_text("S")
    expect(page.locator("#query-mark")).to_have_text(query)

    page.get_by_label("Query").fill("Result -eq Failure")
    expect(status).not_to_have_class(re.compile(r"\berror\b"))
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#history tbody tr")).to_have_count(3)
    # Sorting by a column: Id ascending puts the first run first.
    page.get_by_role("button", name="Id", exact=True).click()
    expect(page.locator("#history tbody tr").first).to_have_attribute("data-id", str(runs[0]))
    expect(page.locator('th[data-sort="JobHistoryId"]')).to_have_attribute("aria-sort", "ascending")


def test_acknowledge_selected_runs_then_unacknowledge_one(page: Page, runs: list[int]) -> None:
    log_in(page)
    page.get_by_label(f"Select run {runs[0]}").check()
    page.get_by_label(f"Select run {runs[1]}").check()
    page.get_by_label("Note").fill("disk replaced")
    page.get_by_role("button", name="Acknowledge 2 selected").click()
    expect(page.locator("#message")).to_have_text("Acknowledged 2 runs.")
    expect(page.locator("#failure-badge")).to_have_text("2 failed or warning runs to acknowledge")
    expect(page.locator(f'tr[data-id="{runs[0]}"] .pill.status-acknowledged')).to_have_text("Acknowledged")

    page.get_by_role("button", name=f"Details of run {runs[0]}").click()
    expect(page.locator("#details-ack")).to_contain_text(f"Acknowledged by {ADMIN[0]}")
    expect(page.locator("#details-ack")).to_contain_text("disk replaced")
    page.get_by_role("button", name="Unacknowledge").click()
    expect(page.locator("#failure-badge")).to_have_text("3 failed or warning runs to acknowledge")
    expect(page.locator(f'tr[data-id="{runs[0]}"] .pill.status-completed')).to_have_text("Completed")


def test_acknowledge_all_matching_after_the_preview(page: Page, runs: list[int], console_server: str) -> None:
    log_in(page)
    page.get_by_label("Query").fill("Result -eq Failure")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("button", name="Acknowledge all matching…").click()
    preview = page.locator("#preview-text")
    expect(preview).to_have_text("The query selects 3 runs; 3 will be acknowledged.")

    # Someone else acknowledges one of them meanwhile: the commit changes nothing and says why.
    acknowledged = httpx.post(
        f"{console_server}{paths.ORCHESTRATOR_JOBS}/Acknowledge",
        json={"JobAuditIds": [runs[0]]},
        headers=API_HEADERS,
        auth=ADMIN,
    )
    assert acknowledged.status_code == 204
    page.get_by_role("button", name="Acknowledge them").click()
    expect(page.locator("#message")).to_contain_text("changed meanwhile")
    expect(page.locator("#failure-badge")).to_have_text("3 failed or warning runs to acknowledge")

    page.get_by_role("button", name="Acknowledge all matching…").click()
    expect(preview).to_have_text("The query selects 3 runs; 2 will be acknowledged.")
    page.get_by_role("button", name="Acknowledge them").click()
    expect(page.locator("#message")).to_have_text("Acknowledged 2 runs.")
    expect(page.locator("#failure-badge")).to_have_text("1 failed or warning run to acknowledge")

    # The badge lists exactly what it counts.
    page.locator("#failure-badge").click()
    expect(page.locator("#history tbody tr")).to_have_count(1)
    expect(page.locator(f'tr[data-id="{runs[3]}"]')).to_have_count(1)


def test_a_viewer_who_may_not_acknowledge_sees_no_such_control(page: Page, engine: Engine, runs: list[int]) -> None:
    auditor = ("auditor", "auditor-password")
    create_user(engine, username=auditor[0], password=auditor[1], roles=["Auditor"], now=datetime.now(UTC))
    log_in(page, auditor)
    expect(page.locator("#history tbody tr")).to_have_count(len(RUNS))
    expect(page.locator("#actions")).to_be_hidden()
    expect(page.get_by_label(f"Select run {runs[0]}")).to_be_hidden()
    page.get_by_role("button", name=f"Details of run {runs[0]}").click()
    expect(page.locator("#details")).to_be_visible()
    expect(page.get_by_role("button", name="Unacknowledge")).to_have_count(0)


def test_log_out_and_be_refused(page: Page, console_server: str) -> None:
    log_in(page)
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert csrf
    (cookie,) = [cookie for cookie in page.context.cookies() if cookie["name"] == "orchjobs_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    headers = {**API_HEADERS, "x-csrf-token": csrf, "cookie": f"orchjobs_session={cookie['value']}"}
    assert httpx.get(f"{console_server}{MY}", headers=headers).status_code == 200

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login$"))
    assert httpx.get(f"{console_server}{MY}", headers=headers).status_code == 401


def test_a_run_completed_by_an_orchestrator_appears_without_a_reload(page: Page, engine: Engine) -> None:
    """The write comes from this test's process, not the server's: on PostgreSQL it reaches the server through the
    change sequence."""
    log_in(page)
    page.get_by_label("Query").fill("Result -eq Failure")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#history tbody tr")).to_have_count(3)
    expect(page.locator("#live")).to_have_text("live")
    new = add_history(engine, result=4, status=3, operation_start=STARTED + timedelta(minutes=30))
    expect(page.locator(f'tr[data-id="{new}"]')).to_have_count(1)
    expect(page.locator("#history tbody tr")).to_have_count(4)  # the query is kept
    expect(page.locator("#failure-badge")).to_have_text("5 failed or warning runs to acknowledge")
