"""The scheduled-jobs page in a real browser against a real server (tests/console/conftest.py): schedule a custom
job from the form, find it with the query box, unschedule (selected, and all matching after a preview), reschedule a
failed run; and what a viewer without the permissions sees."""

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine, insert, select

from orchjobs.api import paths
from orchjobs.service.users import create_user
from orchjobs.store.engine import make_engine
from orchjobs.store.tables import agent, agent_capability, scheduled_job
from tests.factories import add_history, add_job
from tests.live import ADMIN, API_HEADERS

pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install -e '.[test]'")
from playwright.sync_api import Page, expect  # noqa: E402

from tests.console.conftest import BROWSER, log_in  # noqa: E402

pytestmark = BROWSER

NOW = datetime.now(UTC)
DISK_USAGE = {
    "JobTypeName": "DiskUsage",
    "Description": "How full a disk is",
    "JobTypeFields": [
        {"Name": "Path", "Type": 1, "Required": True},
        {"Name": "Limit", "Type": 2, "DefaultValue": "90"},
        {"Name": "Verbose", "Type": 4, "DefaultValue": "false"},
    ],
}


@pytest.fixture
def engine(console_database: str) -> Iterator[Engine]:
    engine = make_engine(console_database)
    yield engine
    engine.dispose()


@pytest.fixture
def agent_id(engine: Engine, console_server: str) -> uuid.UUID:
    """An approved orchestrator that runs DiskUsage and FetchLogs, and the DiskUsage job type (through the API)."""
    created = httpx.post(f"{console_server}{paths.CUSTOM_JOB_TYPES}", json=DISK_USAGE, headers=API_HEADERS, auth=ADMIN)
    assert created.status_code == 200, created.text
    found = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(
            insert(agent).values(
                id=found, client_machine="web-01", username="svc", platform=7, version="1.0", status=2, last_seen=NOW
            )
        )
        conn.execute(
            insert(agent_capability),
            [{"agent_id": found, "capability": name} for name in ("Custom.DiskUsage", "Custom.FetchLogs")],
        )
    return found


def rows(page: Page) -> object:
    return page.locator("#jobs tbody tr")


def test_schedule_find_unschedule_and_reschedule(browser_page: Page, engine: Engine, agent_id: uuid.UUID) -> None:
    page = browser_page
    logs = add_job(
        engine,
        agent_id,
        next_run_at=NOW,
        requested_at=NOW - timedelta(hours=1),
        type_name="FetchLogs",
        capability="Custom.FetchLogs",
        target_path=None,
    )
    # A weekly custom job whose last run failed: Reschedule makes it due now.
    weekly = add_job(
        engine,
        agent_id,
        next_run_at=NOW + timedelta(days=5),
        requested_at=NOW - timedelta(days=2),
        type_name="Weekly",
        capability="Custom.Weekly",
        target_path=None,
        schedule={"Weekly": {"Days": [2], "Time": "2026-11-30T08:30:00Z"}},
    )
    add_history(engine, job_id=weekly, agent_id=agent_id, result=4, status=3, job_type="Weekly")

    log_in(page, path="/scheduled-jobs")
    expect(rows(page)).to_have_count(2)
    expect(page.locator("#paging-status")).to_have_text("Page 1 of 1 · 2 jobs")
    expect(page.locator(f'tr[data-id="{logs}"]')).to_contain_text("Immediately")

    # The form: one input per field of the job type, its default filled in; the API's 400 shown beside it.
    expect(page.get_by_label("Job type", exact=True)).to_have_value("DiskUsage")
    expect(page.get_by_label("Orchestrator", exact=True)).to_have_value(str(agent_id))
    expect(page.get_by_label("Limit")).to_have_value("90")
    expect(page.get_by_label("Verbose")).not_to_be_checked()
    page.get_by_label("Schedule", exact=True).select_option("Interval")
    page.get_by_label("Minutes").fill("30")
    page.get_by_label("Limit").fill("80")
    page.get_by_label("Verbose").check()
    page.get_by_role("button", name="Schedule the job").click()
    expect(page.locator("#custom-error")).to_contain_text("Path")
    page.get_by_label("Path (required)").fill("/var")
    page.get_by_role("button", name="Schedule the job").click()
    expect(page.locator("#custom-error")).to_have_text("")
    expect(page.locator("#custom-message")).to_contain_text("Scheduled DiskUsage job")
    expect(rows(page)).to_have_count(3)
    with engine.connect() as conn:
        stored = conn.execute(select(scheduled_job.c.id, scheduled_job.c.fields, scheduled_job.c.schedule_type)).all()
    (disk,) = [each for each in stored if each.schedule_type == "I_30"]
    assert json.loads(disk.fields) == {"Path": "/var", "Limit": "80", "Verbose": "true"}
    expect(page.locator(f'tr[data-id="{disk.id}"]')).to_contain_text("Every 30 minutes")

    # The query box: a bad query is marked; a good one narrows the list.
    page.get_by_label("Query", exact=True).fill('JobTyp -eq "DiskUsage"')
    expect(page.locator("#query")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#query-mark mark")).to_have_text("J")
    page.get_by_label("Query", exact=True).fill('JobType -eq "DiskUsage"')
    expect(page.locator("#query")).to_have_attribute("aria-invalid", "false")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(rows(page)).to_have_count(1)

    # Unschedule the selected job.
    page.get_by_label("Select DiskUsage job on web-01").check()
    page.get_by_role("button", name="Unschedule 1 selected").click()
    expect(page.locator("#message")).to_have_text("Unscheduled 1 job.")
    expect(page.locator("#jobs td.empty")).to_have_text("No scheduled jobs match.")

    # Unschedule all matching, after the preview.
    page.get_by_label("Query", exact=True).fill('JobType -eq "FetchLogs"')
    page.get_by_role("button", name="Search", exact=True).click()
    expect(rows(page)).to_have_count(1)
    page.get_by_role("button", name="Unschedule all matching…").click()
    expect(page.locator("#preview-text")).to_have_text("The query selects 1 job; 1 will be unscheduled.")
    page.get_by_role("button", name="Unschedule them").click()
    expect(page.locator("#message")).to_have_text("Unscheduled 1 job.")
    expect(page.locator(f'tr[data-id="{logs}"]')).to_have_count(0)

    # Reschedule the failed run, after the preview: its job is due now.
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#reschedule-preview-text")).to_have_text("The query selects 1 run; 1 job will become due now.")
    page.get_by_role("button", name="Reschedule them").click()
    expect(page.locator("#message")).to_have_text("Rescheduled 1 job.")
    with engine.connect() as conn:
        due = conn.execute(select(scheduled_job.c.next_run_at).where(scheduled_job.c.id == weekly)).scalar_one()
    assert due <= datetime.now(UTC)


def test_a_viewer_without_the_schedule_permissions_sees_the_list_only(
    browser_page: Page, engine: Engine, agent_id: uuid.UUID
) -> None:
    job = add_job(
        engine,
        agent_id,
        next_run_at=NOW,
        requested_at=NOW,
        type_name="FetchLogs",
        capability="Custom.FetchLogs",
        target_path=None,
    )
    operator = ("operator", "operator-password")
    create_user(engine, username=operator[0], password=operator[1], roles=["Operator"], now=NOW)
    page = browser_page
    log_in(page, operator, "/scheduled-jobs")
    expect(page.locator(f'tr[data-id="{job}"]')).to_contain_text("FetchLogs")
    for hidden in ("#actions", "#reschedule", "#custom"):
        expect(page.locator(hidden)).to_be_hidden()
    expect(page.get_by_label("Select FetchLogs job on web-01")).to_be_hidden()
