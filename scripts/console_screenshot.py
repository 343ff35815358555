"""Takes docs/screenshots/job-history.png: a seeded database (a week of synthetic history), `orchjobs serve` on a free
port, and Debian's Chromium logged in to the console. Run it once after the page changes:

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
TARGET = ROOT / "docs" / "screenshots" / "job-history.png"
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
        subprocess.run([*orchjobs, "migrate"], env=env, check=True, capture_output=True)
        seed = ["seed", "--agents", "6", "--history", "600", "--days", "7", "--seed", "3"]
        subprocess.run([*orchjobs, *seed], env=env, check=True, capture_output=True)
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([*orchjobs, "serve", "--port", str(port)], env=env, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    if httpx.get(f"{base_url}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            shoot(base_url)
        finally:
            server.terminate()
            server.wait()


def shoot(base_url: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True)
        page = browser.new_page(base_url=base_url, viewport={"width": 1280, "height": 860}, locale="en-US")
        page.goto("/login")
        page.get_by_label("User name").fill(ADMIN[0])
        page.get_by_label("Password").fill(ADMIN[1])
        page.get_by_role("button", name="Log in").click()
        expect(page.locator("body")).to_have_attribute("data-ready", "true")
        page.get_by_label("Query").fill('Result -in (Failure, Warning) AND OperationStart -ge "%TODAY-2%"')
        page.get_by_role("button", name="Search").click()
        expect(page.locator("#query-status")).not_to_be_empty()
        page.wait_for_load_state("networkidle")
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(TARGET))
        browser.close()
    print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
