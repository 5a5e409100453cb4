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
from playwright.sync_api import Page, sync_playwright

from tests.helpers import assert_seed_figures, wait_for
from tests.integration.conftest import REPO, MakePipeline

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


@pytest.fixture
def page() -> Iterator[Page]:
    chromium = shutil.which("chromium")
    assert chromium, (
        "Debian's chromium is needed: `make test` installs it (apt-get install chromium)"
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser.new_page(viewport={"width": 1400, "height": 1100})
        browser.close()


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
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))

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
    assert_seed_figures(figures)
    assert page.locator("#kpi-average-product-price").inner_text() == "1.50"

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


def _tickets(page: Page) -> int:
    return int(page.locator("#kpi-tickets").get_attribute("data-value") or 0)
