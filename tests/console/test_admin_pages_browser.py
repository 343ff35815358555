"""The console's admin pages (certificate stores, settings, users and roles, the audit log) in a real browser against a
real server (tests/console/conftest.py): each test walks a story through the page and checks the outcome through the
JSON API."""

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from orchjobs.api import paths
from orchjobs.service.users import create_user
from orchjobs.store.engine import make_engine
from tests import factories
from tests.api.test_certificate_stores import add_agent
from tests.live import ADMIN, API_HEADERS
from tests.orchestrator.certificates import make_certificate

pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install -e '.[test]'")
from playwright.sync_api import Page, expect  # noqa: E402

from tests.console.conftest import BROWSER, log_in  # noqa: E402

pytestmark = BROWSER

ERROR = re.compile(r"\berror\b")
JOB_ID = re.compile(r"job ([0-9a-f-]{36})")


@pytest.fixture
def engine(console_database: str) -> Iterator[Engine]:
    engine = make_engine(console_database)
    yield engine
    engine.dispose()


def call(server: str, method: str, path: str, body: Any = None, user: tuple[str, str] = ADMIN) -> Any:
    response = httpx.request(method, f"{server}{path}", json=body, headers=API_HEADERS, auth=user)
    assert response.is_success, response.text
    return response.json() if response.content else None


def settings_by_name(server: str) -> dict[str, str]:
    return {item["ShortName"]: item["Value"] for item in call(server, "GET", paths.APP_SETTINGS)}


def scheduled_job_ids(server: str) -> set[str]:
    jobs = call(server, "GET", f"{paths.ORCHESTRATOR_JOBS}/ScheduledJobs?pq.returnLimit=100")
    return {job["Id"] for job in jobs}


def test_stores_query_inventory_and_jobs(browser_page: Page, engine: Engine, console_server: str) -> None:
    page = browser_page
    agent_id = add_agent(engine)
    store = call(
        console_server,
        "POST",
        paths.CERTIFICATE_STORES,
        {"Storepath": "/etc/ssl/app.pem", "CertStoreType": 2, "AgentId": str(agent_id)},
    )
    other = call(
        console_server,
        "POST",
        paths.CERTIFICATE_STORES,
        {"Storepath": "/etc/ssl/other.pem", "CertStoreType": 2, "AgentId": str(agent_id)},
    )
    # What the last inventories found: one certificate in the store, another in the other store.
    held, elsewhere = make_certificate("held.example"), make_certificate("added.example")
    factories.add_entry(engine, uuid.UUID(store["Id"]), held.alias, held.pem)
    factories.add_entry(engine, uuid.UUID(other["Id"]), elsewhere.alias, elsewhere.pem)

    log_in(page, path="/stores")
    expect(page.locator("#stores tbody tr")).to_have_count(2)
    page.get_by_label("Query").fill('Storepath -eq "/etc/ssl/app.pem"')
    expect(page.locator("#query-status")).not_to_have_class(ERROR)
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#stores tbody tr")).to_have_count(1)
    expect(page.locator(f'#stores tr[data-id="{store["Id"]}"]')).to_contain_text("PEM")

    page.get_by_role("button", name="Details of web01.example.com /etc/ssl/app.pem").click()
    inventory = page.locator("#inventory tbody tr")
    expect(inventory).to_have_count(1)
    expect(inventory.first).to_contain_text(held.alias)
    expect(inventory.first).to_contain_text("held.example")

    # Schedule an inventory every 30 minutes: the store names the job, and the page says which.
    page.get_by_label("Every").check()
    page.get_by_label("Interval in minutes").fill("30")
    page.get_by_role("button", name="Schedule inventory").click()
    message = page.locator("#details-message")
    expect(message).to_contain_text("Inventory scheduled (every 30 min)")
    scheduled = call(console_server, "GET", f"{paths.CERTIFICATE_STORES}/{store['Id']}")
    assert scheduled["InventorySchedule"] == {"Interval": {"Minutes": 30}}
    expect(message).to_contain_text(scheduled["CertStoreInventoryJobId"])

    # Add the other certificate, found by its subject.
    page.get_by_label("Find a certificate").fill("added.example")
    page.get_by_role("button", name="Find", exact=True).click()
    expect(message).to_have_text("1 certificate found.")
    page.get_by_label("Certificate", exact=True).select_option(index=0)
    page.get_by_label("Overwrite").check()
    page.get_by_role("button", name="Add to store").click()
    expect(message).to_contain_text("Add scheduled: job ")
    added = JOB_ID.search(message.inner_text())
    assert added and added.group(1) in scheduled_job_ids(console_server)

    # Remove the one it holds; then an alias the store does not hold is refused with the API's reason.
    page.get_by_role("button", name=f"Remove {held.alias}").click()
    expect(message).to_contain_text(f"Remove of {held.alias} scheduled: job ")
    removed = JOB_ID.search(message.inner_text())
    assert removed and removed.group(1) in scheduled_job_ids(console_server)
    page.get_by_label("Alias").fill("custom-alias")
    page.get_by_role("button", name="Add to store").click()
    expect(message).to_contain_text("Nothing was scheduled")
    expect(message).to_contain_text("custom aliases")
    expect(message).to_have_class(ERROR)


def test_settings_are_saved_together_or_not_at_all(browser_page: Page, console_server: str) -> None:
    page = browser_page
    log_in(page, path="/settings")
    retries = page.locator('tr[data-short-name="JobRetries"] input')
    auto = page.locator('tr[data-short-name="AutoAcknowledgeFailures"] input')
    delay = page.locator('tr[data-short-name="JobRetryDelay"] input')
    expect(retries).to_have_value("3")
    expect(retries).to_have_attribute("max", "100")
    retries.fill("7")
    auto.check()
    page.get_by_role("button", name="Save 2 changes").click()
    expect(page.locator("#message")).to_have_text("Saved 2 settings.")
    saved = settings_by_name(console_server)
    assert (saved["JobRetries"], saved["AutoAcknowledgeFailures"]) == ("7", "True")

    # One value out of range: its reason beside it, and nothing changes (the other value either).
    retries.fill("8")
    delay.fill("99999")
    page.get_by_role("button", name="Save 2 changes").click()
    expect(page.locator("#message")).to_contain_text("Nothing was saved")
    error = page.locator('tr[data-short-name="JobRetryDelay"] .field-error')
    expect(error).to_contain_text("10080")
    expect(delay).to_have_attribute("aria-invalid", "true")
    expect(page.locator('tr[data-short-name="JobRetries"] .field-error')).to_have_text("")
    now = settings_by_name(console_server)
    assert (now["JobRetries"], now["JobRetryDelay"]) == ("7", "5")


def test_add_an_identity_give_it_a_role_and_see_a_refusal(browser_page: Page, console_server: str) -> None:
    page = browser_page
    log_in(page, path="/security")
    page.get_by_label("Account name", exact=True).fill("alice")
    page.get_by_role("button", name="Add identity").click()
    expect(page.locator("#message")).to_contain_text("Identity alice added")
    expect(page.locator('#identities tr[data-account="alice"]')).to_contain_text("(none)")

    page.get_by_role("button", name="Details of role Operator").click()
    expect(page.locator("#role-title")).to_have_text("Role Operator (built in)")
    expect(page.locator("#permissions")).to_contain_text("/agents/management/read/")
    expect(page.locator("#permissions-form")).to_be_hidden()  # a built-in role's permissions are read-only
    page.get_by_label("Give it to (account name)").fill("alice")
    page.get_by_role("button", name="Add", exact=True).click()
    # Adding looks the account up first: save only once it is in the list.
    expect(page.locator("#role-message")).to_have_text("Not saved yet: Save holders.")
    page.get_by_role("button", name="Save holders").click()
    expect(page.locator("#role-message")).to_have_text("Operator is now held by alice.")
    expect(page.locator('#identities tr[data-account="alice"]')).to_contain_text("Operator")
    (alice,) = [
        identity
        for identity in call(console_server, "GET", f"{paths.SECURITY}/Identities")
        if identity["AccountName"] == "alice"
    ]
    assert [role["Name"] for role in alice["Roles"]] == ["Operator"]

    # A new role's permissions are editable.
    page.get_by_label("Role name").fill("Readers of the log")
    page.get_by_label("Description").fill("Reads the audit log")
    page.get_by_role("button", name="Create role").click()
    expect(page.locator("#role-title")).to_have_text("Role Readers of the log")
    page.get_by_label(re.compile(r"^/auditing/read/")).check()
    page.get_by_role("button", name="Save permissions").click()
    expect(page.locator("#role-message")).to_have_text("Readers of the log now grants 1 permission.")

    # The API refuses to remove the last identity that may change security; the page says why.
    page.get_by_role("button", name=f"Remove identity {ADMIN[0]}").click()
    expect(page.locator("#message")).to_have_class(ERROR)
    expect(page.locator("#message")).to_contain_text("Not removed:")
    expect(page.locator(f'#identities tr[data-account="{ADMIN[0]}"]')).to_have_count(1)


def test_the_audit_log_lists_the_changes_and_a_query_filters_them(browser_page: Page, console_server: str) -> None:
    page = browser_page
    settings = call(console_server, "GET", paths.APP_SETTINGS)
    retries = next(item for item in settings if item["ShortName"] == "JobRetries")
    call(console_server, "PUT", paths.APP_SETTINGS, [{"Id": retries["Id"], "Value": "9"}])
    call(console_server, "POST", f"{paths.SECURITY}/Identities", {"AccountName": "bob"})
    log_in(page, path="/audit")
    rows = page.locator("#audit tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("CreateIdentity")  # newest first
    expect(page.locator("#paging-status")).to_have_text("Page 1 of 1 · 2 entries")

    page.get_by_label("Query").fill('Action -eq "SetAppSetting"')
    expect(page.locator("#query-status")).not_to_have_class(ERROR)
    page.get_by_role("button", name="Search", exact=True).click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(ADMIN[0])
    rows.first.get_by_role("button").click()
    expect(page.locator("#details-data")).to_contain_text('"NewValue": "9"')
    expect(page.locator("#details-data")).to_contain_text('"OldValue": "3"')

    page.get_by_label("Query").fill("Actionn -eq 1")
    expect(page.locator("#query-status")).to_have_class(ERROR)
    page.get_by_label("Query").fill("")
    page.get_by_role("button", name="Search", exact=True).click()
    page.get_by_role("button", name="When").click()
    expect(page.locator('th[data-sort="At"]')).to_have_attribute("aria-sort", "ascending")
    expect(rows.first).to_contain_text("SetAppSetting")


def test_roles_without_a_page_or_its_changes(browser_page: Page, engine: Engine, console_server: str) -> None:
    """An Operator reads stores and settings but not security or the audit log; an Auditor reads every page and
    changes nothing."""
    page = browser_page
    now = datetime.now(UTC)
    operator, auditor = ("operator", "operator-password"), ("auditor", "auditor-password")
    create_user(engine, username=operator[0], password=operator[1], roles=["Operator"], now=now)
    create_user(engine, username=auditor[0], password=auditor[1], roles=["Auditor"], now=now)
    agent_id = add_agent(engine)
    store = call(
        console_server,
        "POST",
        paths.CERTIFICATE_STORES,
        {"Storepath": "/etc/ssl/app.pem", "CertStoreType": 2, "AgentId": str(agent_id)},
    )
    held = make_certificate("held.example")
    factories.add_entry(engine, uuid.UUID(store["Id"]), held.alias, held.pem)

    log_in(page, operator, path="/stores")
    nav = page.get_by_role("navigation", name="Pages")
    expect(nav.get_by_role("link")).to_have_text(
        ["Job history", "Failure groups", "Orchestrators", "Scheduled jobs", "Certificate stores", "Settings"]
    )
    page.get_by_role("button", name="Details of web01.example.com /etc/ssl/app.pem").click()
    expect(page.locator("#inventory tbody tr")).to_have_count(1)
    expect(page.locator("#schedule-form")).to_be_hidden()
    expect(page.locator("#add-form")).to_be_hidden()
    expect(page.get_by_role("button", name=f"Remove {held.alias}")).to_have_count(0)
    for path, title in (("/audit", "Audit log"), ("/security", "Users and roles")):
        response = page.goto(path)
        assert response is not None and response.status == 403
        expect(page.get_by_role("alert")).to_contain_text("Your roles do not allow this page")
        expect(page.get_by_role("heading", level=1)).to_have_text(title)
    page.goto("/settings")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.locator("#settings tbody input")).to_have_count(0)
    expect(page.locator('tr[data-short-name="JobRetries"] .value')).to_have_text("3")
    expect(page.locator("#save-bar")).to_be_hidden()

    page.get_by_role("button", name="Log out").click()
    log_in(page, auditor, path="/security")
    expect(page.get_by_role("navigation", name="Pages").get_by_role("link")).to_have_count(8)
    expect(page.locator(f'#identities tr[data-account="{ADMIN[0]}"]')).to_have_count(1)
    expect(page.locator("#identity-form")).to_be_hidden()
    expect(page.locator("#role-form")).to_be_hidden()
    expect(page.get_by_role("button", name=re.compile("^Remove identity"))).to_have_count(0)
    page.get_by_role("button", name="Details of role Operator").click()
    expect(page.locator("#holders-form")).to_be_hidden()
    expect(page.locator("#permissions-form")).to_be_hidden()
    expect(page.locator("#permissions")).to_contain_text("/certificate_stores/read/")
