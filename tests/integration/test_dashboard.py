"""The dashboard in a real headless Chromium while the seed's stress test fills the store."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright

from shopstream.supervise import wait_for
from testbed.pipeline import REPO, MakePipeline
from tests.helpers import assert_example_figures, ticket

pytestmark = pytest.mark.integration

ARTIFACTS = REPO / "artifacts"
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
    profile = browser.new_context(viewport={"width": 1400, "height": 1100})
    profile.add_init_script(RECORD_VIOLATIONS)
    return profile


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def _watch(page: Page) -> list[str]:
    """Console errors, page errors and failed requests of ``page``, as they come."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    return problems


def _violations(page: Page) -> list[str]:
    found: list[str] = page.evaluate("window.cspViolations")
    return found


def _shown(page: Page) -> dict[str, Any]:
    """What the page displays: KPI values and the data of each chart."""
    shown: dict[str, Any] = page.evaluate(
        """() => {
          const kpi = (id) => Number(document.getElementById(id).dataset.value);
          const trace = (id) => document.getElementById(id).data[0];
          const byX = (t) => Object.fromEntries(t.x.map((x, i) => [x, t.y[i]]));
          const pie = trace("chart-category-share");
          return {
            tickets: kpi("kpi-tickets"), products: kpi("kpi-products"),
            stores: kpi("kpi-stores"),
            average_product_price: kpi("kpi-average-product-price"),
            average_ticket_total: kpi("kpi-average-ticket-total"),
            category_share: Object.fromEntries(pie.labels.map((l, i) => [l, pie.values[i]])),
            average_ticket_total_by_store: byX(trace("chart-ticket-total-by-store")),
            average_product_price_by_store: byX(trace("chart-product-price-by-store")),
            tickets_by_date: byX(trace("chart-timeline")),
          };
        }"""
    )
    return shown


def test_the_dashboard_fills_live_and_shows_what_the_api_says(
    make_pipeline: MakePipeline, page: Page, tmp_path: Path
) -> None:
    pipeline = make_pipeline()
    pipeline.start_api()
    pipeline.start_worker()
    problems = _watch(page)

    page.goto(f"{pipeline.url}/dashboard")
    page.wait_for_selector("#empty:not([hidden])")  # an empty store: "No data yet"
    page.evaluate("window.openedBeforeTheData = true")

    stress = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shopstream",
            "stress",
            "--count",
            "1000",
            "--concurrency",
            "4",
            "--url",
            f"{pipeline.url}/data",
        ],
        env=pipeline.env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    wait_for(lambda: _tickets(page) == 1000, 120, "1000 tickets on the page")
    assert stress.wait(60) == 0
    # The same page, never reloaded, went from "No data yet" to 1000 on its own.
    assert page.evaluate("window.openedBeforeTheData") is True
    assert page.locator("#empty").is_hidden()
    for chart in ("category-share", "ticket-total-by-store", "product-price-by-store", "timeline"):
        assert page.locator(f"#chart-{chart} .main-svg").count() > 0, f"{chart} not drawn"

    figures = httpx2.get(f"{pipeline.url}/analytics", timeout=10).json()
    timeline = httpx2.get(f"{pipeline.url}/analytics/timeline", timeout=10).json()
    shown = _shown(page)
    assert shown == {
        **{key: figures[key] for key in shown if key in figures},
        "tickets_by_date": timeline["tickets_by_date"],
    }
    assert_example_figures(figures)
    assert page.locator("#kpi-average-product-price").inner_text() == "1.50"
    # The list in force, and the one list every ticket was categorised with.
    version = figures["catalog"]["hash"]
    assert figures["catalog_versions"] == {version: 1000}
    assert page.locator("#catalog-version").inner_text() == version
    assert page.locator("#catalog-versions").inner_text() == f"{version} (1,000)"
    assert page.locator("#catalog").get_attribute("data-mixed") == "false"

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "dashboard.png", full_page=True)
    # Each chart saves itself as a PNG from its toolbar.
    page.hover("#chart-category-share")
    with page.expect_download() as download:
        page.click('#chart-category-share [data-title="Download plot as a PNG"]')
    saved = ARTIFACTS / "category-share.png"
    download.value.save_as(saved)
    assert saved.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert problems == []
    assert _violations(page) == []  # the page's CSP let all it needs through


def _tickets(page: Page) -> int:
    return int(page.locator("#kpi-tickets").get_attribute("data-value") or 0)


def _offline(page: Page, origin: str) -> None:
    """Every request to another origin fails, as it would with no internet."""

    def only_origin(route: Route) -> None:
        if route.request.url.startswith(origin):
            route.continue_()
        else:
            route.abort("internetdisconnected")

    page.route("**/*", only_origin)


def test_the_api_docs_render_offline_from_the_apps_own_assets(
    make_pipeline: MakePipeline, page: Page
) -> None:
    pipeline = make_pipeline()
    pipeline.start_api()
    problems = _watch(page)
    elsewhere: list[str] = []
    page.on(
        "request", lambda r: None if r.url.startswith(pipeline.url) else elsewhere.append(r.url)
    )
    _offline(page, pipeline.url)

    page.goto(f"{pipeline.url}/docs")
    page.wait_for_selector(".opblock-summary-path")
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert {"/data", "/data/batch", "/analytics", "/health"} <= {p.strip() for p in paths}
    page.locator(".opblock-summary-path", has_text="/data/batch").click()  # its schema shows
    page.wait_for_selector(".opblock.is-open .model-example")
    assert problems == []
    assert _violations(page) == []
    assert elsewhere == []

    page.goto(f"{pipeline.url}/redoc")
    page.locator("h2", has_text="Accept many tickets, all or nothing").wait_for()
    assert page.locator("h1").first.inner_text().startswith("shopstream")
    # Redoc 2's sidebar logo is the one thing it fetches from elsewhere: blocked by the CSP.
    logo = "https://cdn.redoc.ly/redoc/logo-mini.svg"
    assert set(_violations(page)) <= {f"img-src {logo}"}
    assert set(elsewhere) <= {logo}
    assert all(logo in problem for problem in problems), problems


STORE = '<b>Big</b> <a href="https://evil.example/">Shop</a> & co<br>'
WRITE_KEY = "write-key-0123456789"
READ_KEY = "read-key-0123456789"


def test_a_read_key_lives_in_the_tab_and_names_show_as_written(
    make_pipeline: MakePipeline, context: BrowserContext, page: Page
) -> None:
    pipeline = make_pipeline(API_KEYS=WRITE_KEY, API_READ_KEYS=READ_KEY)
    pipeline.start_api()
    pipeline.start_worker()
    posted = httpx2.post(
        f"{pipeline.url}/data",
        json=ticket("hostile", store=STORE),
        headers={"Authorization": f"Bearer {WRITE_KEY}"},
        timeout=10,
    )
    assert posted.status_code == 202
    pipeline.wait_stored(["hostile"])
    problems = _watch(page)

    # What an older dashboard left on disk, there before this one's script runs.
    page.add_init_script(
        "if (!sessionStorage.getItem('seeded')) {"
        " localStorage.setItem('shopstream-api-key', 'a-key-left-on-disk');"
        " sessionStorage.setItem('seeded', 'yes'); }"
    )
    page.goto(f"{pipeline.url}/dashboard")
    page.wait_for_selector("#api-key:not([hidden])")  # reads need a key: it asks for one
    assert page.evaluate("localStorage.getItem('shopstream-api-key')") is None
    page.fill("#api-key", READ_KEY)
    page.dispatch_event("#api-key", "change")
    wait_for(lambda: _tickets(page) == 1, 30, "the figures read with the read key")
    assert page.evaluate("sessionStorage.getItem('shopstream-api-key')") == READ_KEY
    assert page.evaluate("localStorage.length") == 0

    # Plotly draws a subset of HTML in labels and hover text: the name shows as written.
    chart = "#chart-ticket-total-by-store"
    page.wait_for_selector(f"{chart} .xtick text")
    assert page.locator(f"{chart} .xtick text").all_text_contents() == [STORE]
    page.locator(f"{chart} .point path").first.hover(force=True)
    page.wait_for_selector(f"{chart} .hoverlayer .hovertext")
    assert STORE in "".join(page.locator(f"{chart} .hoverlayer text").all_text_contents())
    for drawn in (chart, "#chart-product-price-by-store"):
        assert page.locator(f"{drawn} a").count() == 0  # no link planted
        assert page.locator(f"{drawn} tspan[style*='bold']").count() == 0
    assert page.locator("select[name=store] option", has_text=STORE).count() == 1
    # The only errors: the browser noting the 401s that made the page ask for a key.
    assert all("status of 401" in problem for problem in problems), problems
    assert _violations(page) == []

    # Another tab of the same browser starts without it: the key never reached the disk.
    other = context.new_page()
    other.goto(f"{pipeline.url}/dashboard")
    other.wait_for_selector("#api-key:not([hidden])")
    assert other.evaluate("sessionStorage.getItem('shopstream-api-key')") is None
