"""Takes docs/screenshots/<page>.png of every console page: `make run`'s demo (six orchestrators, a week of synthetic
history, the demo orchestrator, which runs its jobs for a few seconds first), `orchjobs serve` on a free port, and
Debian's Chromium logged in to the console. Run it once after a page changes:

    PYTHONPATH=src .venv/bin/python scripts/console_screenshot.py
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "docs" / "screenshots"
# (path, file name): every page of api/console/pages.py.
PAGES = [
    ("/", "job-history"),
    ("/failure-groups", "failure-groups"),
    ("/orchestrators", "orchestrators"),
    ("/scheduled-jobs", "scheduled-jobs"),
    ("/stores", "certificate-stores"),
    ("/settings", "settings"),
    ("/security", "users-and-roles"),
    ("/audit", "audit-log"),
]
ADMIN = ("admin", "orchjobs-admin")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        env = {key: value for key, value in os.environ.items() if not key.startswith("ORCHJOBS_")}
        env["ORCHJOBS_DATABASE_URL"] = f"sqlite:///{directory}/orchjobs.db"
        env["ORCHJOBS_BOOTSTRAP_ADMIN"] = ":".join(ADMIN)
        orchjobs = [sys.executable, "-m", "orchjobs"]
        stores = f"{directory}/demo-stores"
        subprocess.run([*orchjobs, "migrate"], env=env, check=True, capture_output=True)
        subprocess.run(
            [*orchjobs, "seed", "--demo", "--demo-store-dir", stores], env=env, check=True, capture_output=True
        )
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        server = subprocess.Popen([*orchjobs, "serve", "--port", str(port)], env=env, **quiet)
        orchestrator = None
        try:
            for _ in range(100):
                try:
                    if httpx.get(f"{base_url}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            demo = ["orchestrator", "--url", f"{base_url}/KeyfactorAgents", "--name", "demo-orchestrator"]
            demo += ["--store-dir", stores, "--username", ADMIN[0], "--password", ADMIN[1]]
            demo += ["--capability", "DiskUsage=orchjobs.orchestrator.examples:disk_usage"]
            orchestrator_env = {**env, "ORCHJOBS_ORCHESTRATOR_POLL_SECONDS": "1"}
            orchestrator = subprocess.Popen([*orchjobs, *demo], env=orchestrator_env, **quiet)
            time.sleep(8)  # the demo's jobs run once: an inventory, a disk check, a failing disk check
            shoot(base_url)
        finally:
            for process in (orchestrator, server):
                if process is not None:
                    process.terminate()
                    process.wait()


def shoot(base_url: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True)
        page = browser.new_page(base_url=base_url, viewport={"width": 1280, "height": 860}, locale="en-US")
        page.goto("/login")
        page.get_by_label("User name").fill(ADMIN[0])
        page.get_by_label("Password").fill(ADMIN[1])
        page.get_by_role("button", name="Log in").click()
        expect(page.locator("body")).to_have_attribute("data-ready", "true")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for path, name in PAGES:
            page.goto(path)
            expect(page.locator("body")).to_have_attribute("data-ready", "true")
            if path == "/":
                page.get_by_label("Query").fill('Result -in (Failure, Warning) AND OperationStart -ge "%TODAY-2%"')
                page.get_by_role("button", name="Search").click()
                expect(page.locator("#query-status")).not_to_be_empty()
            page.wait_for_load_state("networkidle")
            target = SCREENSHOTS / f"{name}.png"
            page.screenshot(path=str(target))
            print(f"wrote {target.relative_to(ROOT)}")
        browser.close()


if __name__ == "__main__":
    main()
