"""The operator's page in a real headless browser (Debian's Chromium driven by Playwright)
against a real ``c2d serve``: a job started through the API appears, its log streams into the
page while the algorithm runs, its DAG turns green; without the token the page is refused.

The algorithm runs until the test stops it through the API, so "while it runs" is a state the
page is seen in, not a moment the test hopes to catch.

``C2D_UI_SCREENSHOTS=DIR`` keeps the screenshots (docs/img/ui-*.png were taken so)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from eth_account import Account

from devkit.client import C2DClient
from devkit.launch import ServerProcess, start_server
from tests.conftest import CHROMIUM
from tests.e2e.conftest import raw_algorithm

TOKEN = "browser-test-operator-token"
# No waiting in the browser is a timing assertion: each wait ends early when the page is right.
WAIT_MS = 120_000
ALGORITHM = """\
import time
print("hello from the algorithm", flush=True)
print("<script>document.title='owned'</script><b>not bold</b>", flush=True)
time.sleep(600)
"""
# Nothing the browser does may reach beyond loopback (no update checks, no field trials).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("c2d-home")
    process = start_server(home, env={"C2D_OPERATOR_TOKEN": TOKEN})
    yield process
    process.stop()


@pytest.fixture
def browser_context(tmp_path: Path) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh profile each test
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1200, "height": 760},
        )
        try:
            yield context
        finally:
            context.close()


def _keep(shot: Path) -> None:
    folder = os.environ.get("C2D_UI_SCREENSHOTS")
    if folder:
        shutil.copy(shot, Path(folder) / shot.name)


def test_without_the_token_the_page_is_refused(server: ServerProcess) -> None:
    assert httpx.get(f"{server.url}/ui").status_code == 401
    wrong = httpx.get(f"{server.url}/ui", headers={"Authorization": "Bearer wrong-token-123456"})
    assert wrong.status_code == 403
    assert "Jobs" not in wrong.text and '<form method="post"' in wrong.text


def test_a_job_appears_turns_green_and_its_log_streams(
    server: ServerProcess, browser_context: object, tmp_path: Path
) -> None:
    from playwright.sync_api import BrowserContext, expect

    assert isinstance(browser_context, BrowserContext)
    page = browser_context.new_page()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text else None)

    # Refused without the token: the sign-in form; a wrong token is refused again.
    refused = page.goto(f"{server.url}/ui")
    assert refused is not None and refused.status == 401
    page.fill("input[name=token]", "not-the-operator-token")
    with page.expect_navigation():
        page.click("button[type=submit]")
    expect(page.locator("#error h2")).to_have_text("403")
    page.fill("input[name=token]", TOKEN)
    with page.expect_navigation():
        page.click("button[type=submit]")
    expect(page.locator("#environments")).to_contain_text("free")

    with C2DClient(server.url, Account.create()) as client:
        environment = client.environments()[0]["id"]
        job_id = client.free_compute(
            {"environment": environment, "algorithm": raw_algorithm(ALGORITHM)}
        )["jobId"]

        # The overview refreshes itself: the job appears, its algorithm running.
        row = page.locator(f'tr.job[data-job="{job_id}"]')
        expect(row).to_be_visible(timeout=WAIT_MS)
        running = row.locator('g[data-step="algorithm"][data-phase="Running"]')
        expect(running).to_be_visible(timeout=WAIT_MS)

        # The job's page: the log streams (server-sent events) while the algorithm runs, as
        # text, not markup.
        row.locator("a").click()
        log = page.locator("#log")
        expect(log).to_contain_text("hello from the algorithm", timeout=WAIT_MS)
        expect(log).to_contain_text("<script>document.title='owned'</script><b>not bold</b>")
        assert log.locator("script, b").count() == 0 and page.title() != "owned"
        expect(page.locator("#job")).to_have_attribute("data-phase", "Running")
        shot = tmp_path / "ui-job-running.png"
        page.screenshot(path=str(shot), full_page=True)
        _keep(shot)

        client.stop(job_id)

    # Stopped, the job ends well (status 70): its DAG turns green, its log stream ends.
    expect(page.locator("#job")).to_have_attribute("data-phase", "Succeeded", timeout=WAIT_MS)
    expect(log).to_have_attribute("data-ended", "true", timeout=WAIT_MS)
    expect(page.locator("#job")).to_contain_text("stopped on request")
    page.goto(f"{server.url}/ui")
    for step in ("configure", "algorithm", "publish"):
        expect(row.locator(f'g[data-step="{step}"]')).to_have_attribute("data-phase", "Succeeded")
    # The SVG's colour comes from the page's own style sheet: green for a step that succeeded.
    fill = row.locator('g[data-step="algorithm"] rect').evaluate("e => getComputedStyle(e).fill")
    assert fill == "rgb(46, 157, 79)"
    shot = tmp_path / "ui-overview.png"
    page.screenshot(path=str(shot))
    _keep(shot)
    assert blocked == [], blocked  # the page needs nothing its CSP forbids
