"""The failure-groups page in a real browser against a real server (tests/console/conftest.py): groups largest first,
a group's runs listed in the job history by its own query, and a group acknowledged in one step after its preview."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from orchjobs.domain.failure_groups import message_group
from orchjobs.service.users import create_user
from orchjobs.store.engine import make_engine
from tests.factories import add_history, history_state
from tests.live import ADMIN

pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install -e '.[test]'")
from playwright.sync_api import Page, expect  # noqa: E402

from tests.console.conftest import BROWSER, log_in  # noqa: E402

pytestmark = BROWSER
STARTED = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
TIMEOUTS = [f"Connection to 10.0.0.{host}:5986 timed out after {seconds} s" for host, seconds in ((8, 31), (9, 30))]


@pytest.fixture
def engine(console_database: str) -> Iterator[Engine]:
    engine = make_engine(console_database)
    yield engine
    engine.dispose()


def failure(engine: Engine, message: str, minutes: int, *, result: int = 4) -> int:
    return add_history(
        engine,
        result=result,
        status=3,
        message=message,
        message_group=message_group(message),
        operation_start=STARTED + timedelta(minutes=minutes),
    )


@pytest.fixture
def groups(engine: Engine) -> dict[str, list[int]]:
    """Three timeouts that differ only in address and seconds (one group), and one access refusal (another)."""
    timeouts = [failure(engine, TIMEOUTS[index % 2], index) for index in range(3)]
    denied = [failure(engine, "Access denied to /etc/ssl/app.pem", 10, result=3)]
    add_history(engine, result=2, status=3, operation_start=STARTED)  # a success: in no group
    return {"timeouts": timeouts, "denied": denied}


def test_a_group_is_listed_then_acknowledged_in_one_step(
    browser_page: Page, engine: Engine, groups: dict[str, list[int]]
) -> None:
    page = browser_page
    log_in(page, path="/failure-groups")
    expect(page.get_by_role("navigation", name="Pages").get_by_role("link", name="Failure groups")).to_have_attribute(
        "aria-current", "page"
    )
    rows = page.locator("#groups tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first.locator("td").first).to_have_text("3")
    expect(rows.first).to_contain_text("Connection to <address> timed out after <n> s")
    expect(rows.nth(1)).to_contain_text("Access denied")

    # The group's runs, in the job history, by the group's own query.
    page.get_by_role("link", name="List the 3 runs of group 1").click()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.locator("#history tbody tr")).to_have_count(3)
    for run in groups["timeouts"]:
        expect(page.locator(f'tr[data-id="{run}"]')).to_have_count(1)
    assert "MessageGroup" in page.locator("#query").input_value()

    page.go_back()
    expect(page.locator("#groups tbody tr")).to_have_count(2)
    page.get_by_label("Note for acknowledgements").fill("firewall rule fixed")
    page.get_by_role("button", name="Acknowledge group 1").click()
    expect(page.locator("#preview-text")).to_contain_text("selects 3 runs; 3 will be acknowledged")
    page.get_by_role("button", name="Acknowledge them").click()
    expect(page.locator("#message")).to_have_text("Acknowledged 3 runs.")
    expect(page.locator("#groups tbody tr")).to_have_count(1)
    state = history_state(engine)
    assert [state[run][:3] for run in groups["timeouts"]] == [(4, 4, ADMIN[0])] * 3
    assert state[groups["denied"][0]][:2] == (3, 3)

    # Narrowing the runs: a query that leaves none says so; a bad one is marked.
    page.get_by_label("Narrow the runs").fill('JobType -eq "Management"')
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#groups tbody td.empty")).to_contain_text("nothing to group")
    page.get_by_label("Narrow the runs").fill("JobTyp -eq 1")
    expect(page.locator("#query-status")).to_contain_text("JobTyp")


def test_a_viewer_who_may_not_acknowledge_sees_groups_without_the_action(
    browser_page: Page, engine: Engine, groups: dict[str, list[int]]
) -> None:
    auditor = ("groups-auditor", "auditor-password")
    create_user(engine, username=auditor[0], password=auditor[1], roles=["Auditor"], now=datetime.now(UTC))
    page = browser_page
    log_in(page, auditor, path="/failure-groups")
    expect(page.locator("#groups tbody tr")).to_have_count(2)
    expect(page.get_by_role("button", name="Acknowledge group 1")).to_have_count(0)
    expect(page.locator("#actions")).to_be_hidden()
