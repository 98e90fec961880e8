"""The README's main command, end to end, in headless Chromium.

Runs `bin/demo` exactly as a newcomer would (in a scratch state folder), waits for the
served portal, then logs in as the UK manager, opens last month's billing run and opens
a PDF invoice. Any step that fails fails the test.
"""

import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from django.utils import timezone

from portal.periods import last_full_month

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
READY = "OFN Portal demo is ready"

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"nothing listens on port {port} after {timeout} s")


@pytest.fixture
def demo_server(tmp_path):
    """`bin/demo` running in the background; yields its base URL."""
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    port = _free_port()
    keep = {"PATH", "HOME", "LANG", "PYTHON"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update({"PORT": str(port), "VAR_DIR": str(tmp_path / "var")})
    process = subprocess.Popen(  # noqa: S603 - the project's own script
        [str(ROOT / "bin" / "demo")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    ready = threading.Event()

    def read() -> None:
        for line in process.stdout:
            output.append(line)
            if READY in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        if not ready.wait(timeout=600):
            raise AssertionError(
                "bin/demo did not get ready:\n" + "".join(output[-40:])
            )
        _wait_for_port(port, timeout=60)
        yield f"http://127.0.0.1:{port}", output
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_demo_manager_opens_last_months_invoice_pdf(demo_server):
    from playwright.sync_api import expect, sync_playwright

    base_url, output = demo_server
    month = last_full_month(time_zone="Europe/London", as_of=timezone.now())
    assert "manager-uk" in "".join(output)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        page = browser.new_page()
        page.set_default_timeout(20_000)

        # the manager logs in
        page.goto(f"{base_url}/")
        page.fill("input[name=username]", "manager-uk")
        page.fill("input[name=password]", "ofn-demo-2026")
        page.click("button[type=submit], input[type=submit]")
        expect(page.locator("a[href='/instances/uk/']").first).to_be_visible()
        expect(page.locator("a[href='/instances/au/']")).to_have_count(0)

        # opens the instance and last month's billing run
        page.locator("a[href='/instances/uk/']").first.click()
        run_link = page.locator(f"a[href='/instances/uk/billing/runs/{month}/']").first
        expect(run_link).to_be_visible()
        run_link.click()
        pdf_links = page.locator(
            "a[href*='/instances/uk/billing/invoices/'][href$='/pdf/']"
        )
        expect(pdf_links.first).to_be_visible()

        # opens a PDF invoice, which the browser is told to show inline
        href = pdf_links.first.get_attribute("href")
        response = page.request.get(f"{base_url}{href}")
        assert response.status == 200
        assert response.headers["content-type"] == "application/pdf"
        assert response.headers["content-disposition"].startswith("inline")
        assert response.body().startswith(b"%PDF-")
        with page.context.expect_page() as popup_info:
            pdf_links.first.click()
        popup = popup_info.value
        popup.wait_for_load_state()
        assert popup.url == f"{base_url}{href}"

        # and another instance's run answers 404
        other = page.request.get(f"{base_url}/instances/au/billing/runs/{month}/")
        assert other.status == 404
        browser.close()
