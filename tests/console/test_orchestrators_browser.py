"""The orchestrators page in a real browser against a real server (tests/console/conftest.py). The orchestrator is
this test, speaking the orchestrator protocol over HTTP (Session/Register, Heartbeat, Jobs/Configuration,
Jobs/Complete) as the reference orchestrator does."""

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, insert

from orchjobs.service.users import create_user
from orchjobs.store.engine import make_engine
from orchjobs.store.tables import agent, agent_capability
from tests.live import ADMIN

pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install -e '.[test]'")
from playwright.sync_api import Page, expect  # noqa: E402

from tests.console.conftest import BROWSER, log_in  # noqa: E402

pytestmark = BROWSER

AGENTS = "/KeyfactorAgents"
LOG_TEXT = "2026-11-30 09:00:01 INFO orchestrator started\n2026-11-30 09:00:02 INFO inventory done"


@pytest.fixture
def engine(console_database: str) -> Iterator[Engine]:
    engine = make_engine(console_database)
    yield engine
    engine.dispose()


class Orchestrator:
    """This test as an orchestrator: the protocol's calls, over HTTP, with Basic credentials."""

    def __init__(self, base_url: str, name: str) -> None:
        self.client = httpx.Client(base_url=f"{base_url}{AGENTS}", auth=ADMIN, timeout=10)
        self.name = name
        self.agent_id = ""
        self.token = ""

    def register(self) -> list[dict[str, Any]]:
        body = {
            "AgentId": self.agent_id,
            "ClientMachine": self.name,
            "AgentPlatform": 7,
            "AgentVersion": "10.4.0.0",
            "Capabilities": ["CertStores.PEM.Inventory", "Custom.FetchLogs"],
            "ClientParameters": {},
        }
        session = self.client.post("/Session/Register", json=body).json()["Session"]
        self.agent_id, self.token = session["AgentId"], session["Token"]
        jobs: list[dict[str, Any]] = session["Jobs"]
        return jobs

    def heartbeat(self) -> list[dict[str, Any]]:
        answer = self.client.post("/Session/Heartbeat", json={"SessionToken": self.token}).json()
        assert answer["SessionValid"] is True
        jobs: list[dict[str, Any]] = answer["Jobs"]
        return jobs

    def configuration(self, job_id: str) -> int:
        answer = self.client.post("/Jobs/Configuration", json={"SessionToken": self.token, "JobId": job_id}).json()
        audit_id: int = answer["AuditId"]
        return audit_id

    def complete(self, job_id: str, audit_id: int, log: str) -> None:
        body = {
            "SessionToken": self.token,
            "JobId": job_id,
            "AuditId": audit_id,
            "Status": 2,
            "Message": "",
            "Log": log,
        }
        assert self.client.post("/Jobs/Complete", json=body).json()["Result"]["Status"] == 1


def row(page: Page, agent_id: str) -> Any:
    return page.locator(f'#orchestrators tr[data-id="{agent_id}"]')


def test_approve_an_orchestrator_then_fetch_its_logs_live_then_disapprove_and_reset(
    browser_page: Page, console_server: str
) -> None:
    page = browser_page
    web = Orchestrator(console_server, "web-01.corp.example.com")
    assert web.register() == []
    other = Orchestrator(console_server, "db-01.corp.example.com")
    other.register()

    log_in(page, path="/orchestrators")
    expect(page.locator("#orchestrators tbody tr")).to_have_count(2)
    expect(row(page, web.agent_id).locator(".pill.agent-new")).to_have_text("New")
    expect(row(page, web.agent_id).locator(".pill.health-ok")).to_have_text("OK")
    expect(row(page, web.agent_id)).to_contain_text("10.4.0.0 · Universal Orchestrator")
    expect(page.locator("#health-legend")).to_contain_text("more than 10 minutes")
    # Capabilities: a count that opens into the list.
    capabilities = row(page, web.agent_id).locator("details")
    expect(capabilities.locator("summary")).to_have_text("3 capabilities")
    expect(capabilities.get_by_text("Custom.FetchLogs")).to_be_hidden()
    capabilities.locator("summary").click()
    expect(capabilities.get_by_text("Custom.FetchLogs")).to_be_visible()

    # The query box is checked against the Agents fields; a search narrows the list.
    page.get_by_label("Query").fill("ClientMachin -eq 1")
    expect(page.locator("#query")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Query").fill('ClientMachine -contains "web"')
    expect(page.locator("#query")).to_have_attribute("aria-invalid", "false")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#orchestrators tbody tr")).to_have_count(1)

    # A New orchestrator may not fetch logs yet: the panel offers no button.
    page.get_by_role("button", name=f"Logs of {web.name}").click()
    expect(page.locator("#logs-state")).to_have_text("No logs fetched yet.")
    expect(page.get_by_role("button", name="Fetch logs")).to_be_hidden()

    page.get_by_label(f"Select {web.name}").check()
    page.get_by_role("button", name="Approve 1 selected", exact=True).click()
    expect(page.locator("#message")).to_have_text("Approved 1 orchestrator.")
    expect(row(page, web.agent_id).locator(".pill.agent-approved")).to_have_text("Approved")

    # Fetch logs: the job waits for the orchestrator, which picks it up and completes it; the page follows live.
    expect(page.locator("#live")).to_have_text("live")
    page.get_by_role("button", name="Fetch logs").click()
    expect(page.locator("#logs-state")).to_have_text("A FetchLogs job waits for the orchestrator to check in…")
    (job,) = web.heartbeat()
    audit_id = web.configuration(job["JobId"])
    expect(page.locator("#logs-state")).to_have_text("The orchestrator is fetching its logs (InProcess)…")
    web.complete(job["JobId"], audit_id, LOG_TEXT)
    expect(page.locator("#logs-data")).to_have_text(LOG_TEXT)
    expect(page.locator("#logs-state")).to_contain_text("Latest FetchLogs run: Success")
    expect(page.locator("#logs-run")).to_contain_text(str(audit_id))

    # Disapprove, then reset after confirming: New again.
    page.get_by_label(f"Select {web.name}").check()
    page.get_by_role("button", name="Disapprove 1 selected").click()
    expect(row(page, web.agent_id).locator(".pill.agent-disapproved")).to_have_text("Disapproved")
    expect(page.get_by_role("button", name="Fetch logs")).to_be_hidden()
    page.get_by_label(f"Select {web.name}").check()
    page.get_by_role("button", name="Reset 1 selected…").click()
    expect(page.locator("#reset-text")).to_contain_text("Reset 1 orchestrator")
    page.get_by_role("button", name="Reset them").click()
    expect(page.locator("#message")).to_have_text("Reset 1 orchestrator.")
    expect(row(page, web.agent_id).locator(".pill.agent-new")).to_have_text("New")


def add_agent(engine: Engine, name: str, last_seen: datetime) -> str:
    agent_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(
            insert(agent).values(
                id=agent_id,
                client_machine=name,
                username="svc",
                platform=1,
                version="1.0",
                status=2,
                last_seen=last_seen,
            )
        )
        conn.execute(insert(agent_capability).values(agent_id=agent_id, capability="Custom.FetchLogs"))
    return str(agent_id)


def test_health_and_a_viewer_without_modify_or_without_read(browser_page: Page, engine: Engine) -> None:
    """Health against the default 5-minute heartbeat: Late past 10 minutes, Silent past 50. An Auditor reads the
    list but sees no action; a user without /agents/management/read/ is not shown the pages and gets the 403 page."""
    now = datetime.now(UTC)
    fresh = add_agent(engine, "fresh", now - timedelta(minutes=1))
    late = add_agent(engine, "late", now - timedelta(minutes=20))
    silent = add_agent(engine, "silent", now - timedelta(days=2))
    auditor = ("auditor", "auditor-password")
    create_user(engine, username=auditor[0], password=auditor[1], roles=["Auditor"], now=now)
    nobody = ("nobody", "nobody-password")
    create_user(engine, username=nobody[0], password=nobody[1], roles=[], now=now)
    page = browser_page

    log_in(page, auditor, "/orchestrators")
    expect(row(page, fresh).locator(".pill.health-ok")).to_have_text("OK")
    expect(row(page, late).locator(".pill.health-late")).to_have_text("Late")
    expect(row(page, silent).locator(".pill.health-silent")).to_have_text("Silent")
    expect(page.locator("#actions")).to_be_hidden()
    expect(page.get_by_label("Select fresh")).to_be_hidden()
    page.get_by_role("button", name="Logs of fresh").click()
    expect(page.locator("#logs-state")).to_have_text("No logs fetched yet.")
    expect(page.get_by_role("button", name="Fetch logs")).to_be_hidden()
    nav = page.get_by_role("navigation", name="Pages")
    expect(nav.get_by_role("link", name="Scheduled jobs")).to_be_visible()
    page.get_by_role("button", name="Log out").click()

    page.goto("/orchestrators")
    page.get_by_label("User name").fill(nobody[0])
    page.get_by_label("Password").fill(nobody[1])
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/orchestrators$"))
    expect(page.get_by_role("alert")).to_contain_text("Your roles do not allow this page")
    expect(nav.get_by_role("link")).to_have_count(0)
    response = page.goto("/scheduled-jobs")
    assert response is not None and response.status == 403
