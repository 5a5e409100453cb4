"""A real headless Chromium (Debian's, driven by playwright), for the app's pages.

Every page a test opens records its Content-Security-Policy violations, and ``watch``
collects its console errors, page errors and failed requests.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

# As the machine's own probe starts it: no sandbox as root, and no background traffic
# (this machine has no internet, and the page must not need any).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# Every Content-Security-Policy violation a page meets, kept where the test can read it.
RECORD_VIOLATIONS = """
  window.cspViolations = [];
  document.addEventListener("securitypolicyviolation", (e) =>
    window.cspViolations.push(`${e.effectiveDirective} ${e.blockedURI}`));
"""


@pytest.fixture
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    assert chromium, (
        "Debian's chromium is needed: `make test` installs it (apt-get install chromium)"
    )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser) -> BrowserContext:
    """A browser profile that records CSP violations on every page it opens."""
    profile = browser.new_context(viewport={"width": 1400, "height": 1100}, accept_downloads=True)
    profile.add_init_script(RECORD_VIOLATIONS)
    return profile


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def watch(page: Page) -> list[str]:
    """Console errors, page errors, failed requests and dialogs of ``page``, as they come."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    page.on("dialog", lambda d: problems.append(f"dialog: {d.message}"))
    return problems


def violations(page: Page) -> list[str]:
    found: list[str] = page.evaluate("window.cspViolations")
    return found
