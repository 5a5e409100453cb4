"""The dashboard in a real headless Chromium while the seed's stress test fills the store."""

from __future__ import annotations

import datetime
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx2
import pytest
from playwright.sync_api import BrowserContext, Page, Route

from shopstream.report import money
from shopstream.supervise import wait_for
from testbed.pipeline import REPO, MakePipeline
from tests.helpers import EXAMPLE_TICKET, assert_example_figures, ticket
from tests.plugins.browser import violations, watch

pytestmark = pytest.mark.integration

ARTIFACTS = REPO / "artifacts"
CHARTS = (
    "category-share",
    "category-revenue-share",
    "ticket-total-by-store",
    "product-price-by-store",
    "timeline",
)


def _shown(page: Page) -> dict[str, Any]:
    """What the page displays, under the API's names: the KPIs, the stores' table, the
    charts and the top products, each value as the page holds it beside its text."""
    shown: dict[str, Any] = page.evaluate(
        """() => {
          const kpi = (id) => Number(document.getElementById(id).dataset.value);
          const trace = (id) => document.getElementById(id).data[0];
          const byX = (t) => Object.fromEntries(t.x.map((x, i) => [x, t.y[i]]));
          const byLabel = (t) => Object.fromEntries(t.labels.map((l, i) => [l, t.values[i]]));
          const number = (td) => Number(td.dataset.value);
          const stores = [...document.querySelectorAll("#stores tbody tr")];
          const column = (i) => Object.fromEntries(
            stores.map((tr) => [tr.dataset.store, number(tr.querySelectorAll("td")[i])]));
          const shares = Object.fromEntries(stores.map((tr) => [tr.dataset.store,
            Object.fromEntries([...tr.querySelectorAll("td[data-category]")]
              .map((td) => [td.dataset.category, number(td)]))]));
          const top = [...document.querySelectorAll("#top-products tbody tr")].map((tr) => ({
            name: tr.querySelector(".name").textContent,
            lines: number(tr.querySelector(".lines")),
            revenue: number(tr.querySelector(".revenue")),
          }));
          return {
            tickets: kpi("kpi-tickets"), products: kpi("kpi-products"),
            stores: kpi("kpi-stores"), revenue: kpi("kpi-revenue"),
            average_product_price: kpi("kpi-average-product-price"),
            average_ticket_total: kpi("kpi-average-ticket-total"),
            category_share: byLabel(trace("chart-category-share")),
            category_revenue_share: byLabel(trace("chart-category-revenue-share")),
            tickets_by_store: column(0), revenue_by_store: column(1),
            average_ticket_total_by_store: column(2), average_product_price_by_store: column(3),
            category_share_by_store: shares,
            top_products: top,
            charted_ticket_total_by_store: byX(trace("chart-ticket-total-by-store")),
            charted_product_price_by_store: byX(trace("chart-product-price-by-store")),
            tickets_by_date: byX(trace("chart-timeline")),
          };
        }"""
    )
    return shown


def _said(url: str, query: str = "") -> dict[str, Any]:
    """What the API says for ``query``, under the names ``_shown`` uses."""
    figures = httpx2.get(f"{url}/analytics?{query}", timeout=10).json()
    timeline = httpx2.get(f"{url}/analytics/timeline?{query}", timeout=10).json()
    escaped = {  # the bars' labels are the names escaped for Plotly (literal() in the page)
        "charted_ticket_total_by_store": "average_ticket_total_by_store",
        "charted_product_price_by_store": "average_product_price_by_store",
    }
    return {
        **{key: figures[key] for key in _FIGURES},
        **{
            key: {_plotly_text(s): v for s, v in figures[of].items()} for key, of in escaped.items()
        },
        "tickets_by_date": _every_day(timeline["tickets_by_date"]),
    }


def _every_day(by_date: dict[str, int]) -> dict[str, int]:
    """The timeline as drawn: from the first day to the last, 0 on days without tickets
    (the tests' dates span less than the page's ten-year limit)."""
    if not by_date:
        return {}
    first, last = (datetime.date.fromisoformat(d) for d in (min(by_date), max(by_date)))
    days = (first + datetime.timedelta(days=n) for n in range((last - first).days + 1))
    return {day.isoformat(): by_date.get(day.isoformat(), 0) for day in days}


_FIGURES = (
    "tickets", "products", "stores", "revenue", "average_product_price", "average_ticket_total",
    "category_share", "category_revenue_share", "tickets_by_store", "revenue_by_store",
    "average_ticket_total_by_store", "average_product_price_by_store", "category_share_by_store",
    "top_products",
)  # fmt: skip


def _plotly_text(name: str) -> str:
    return name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def test_the_dashboard_fills_live_and_shows_what_the_api_says(
    make_pipeline: MakePipeline, page: Page, tmp_path: Path
) -> None:
    pipeline = make_pipeline()
    pipeline.start_api()
    pipeline.start_worker()
    problems = watch(page)

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
    for chart in CHARTS:
        assert page.locator(f"#chart-{chart} .main-svg").count() > 0, f"{chart} not drawn"

    said = _said(pipeline.url)
    assert _shown(page) == said
    assert_example_figures(said)
    assert page.locator("#kpi-average-product-price").inner_text() == "1.50"
    assert page.locator("#kpi-revenue").inner_text() == "4,500.00"
    # The list in force, and the one list every ticket was categorised with.
    figures = httpx2.get(f"{pipeline.url}/analytics", timeout=10).json()
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
    assert violations(page) == []  # the page's CSP let all it needs through


HOSTILE = "<img src=x onerror=alert(1)>"
READABLE_DAY = re.compile(r"\d{1,2} [A-Z][a-z]{2} \d{4}|[A-Z][a-z]{2} \d{4}|\d{4}")


def _tickets_over_time(today: datetime.date) -> list[dict[str, Any]]:
    """Five stores, one named like an HTML image with a script; twelve product names; 60
    days and a year back;
    prices with halves of a cent, which only halves-up rounding shows as report does."""

    def made(
        ticket_id: str, store: str, days_ago: int, *lines: tuple[str, float]
    ) -> dict[str, Any]:
        day = (today - datetime.timedelta(days=days_ago)).isoformat()
        products = [{"id": str(i), "name": n, "price": p} for i, (n, p) in enumerate(lines)]
        return {"id": ticket_id, "store": store, "date": day, "products": products}

    tickets = [
        made("f1", "Brussels", 0, ("Banana", 1.25), ("Bread", 2.5)),
        made("f2", "Ghent", 0, (HOSTILE, 3.335), ("Water", 0.89)),
        made("f3", HOSTILE, 40, (HOSTILE, 1.0), ("Beer", 1.45), ("Banana", 1.25)),
        made("f4", "Antwerp", 400, ("Cake", 4.5), ("Kiwi", 0.3), ("Apple", 0.4), ("Tea", 2.0)),
        made("f6", "Antwerp", 400, ("Pear", 0.45), ("Soap", 0.99)),
        made("f5", "Brussels", 40, ("Banana", 1.25), ("Milk", 1.005)),
    ]
    tickets += [made(f"d{n}", "Liège", n, ("Water", 0.5)) for n in range(1, 61)]
    return tickets


def _wait_shown(page: Page, url: str, query: str) -> dict[str, Any]:
    said = _said(url, query)
    wait_for(lambda: _shown(page) == said, 30, f"the page to show /analytics?{query}")
    return said


def _money_texts(page: Page) -> dict[str, Any]:
    texts: dict[str, Any] = page.evaluate(
        """() => ({
          revenue: document.getElementById("kpi-revenue").textContent,
          stores: Object.fromEntries([...document.querySelectorAll("#stores tbody tr")].map(
            (tr) => [tr.dataset.store, [...tr.querySelectorAll("td")].slice(1, 4)
              .map((td) => td.textContent)])),
          top: [...document.querySelectorAll("#top-products tbody tr")].map(
            (tr) => [tr.querySelector(".name").textContent,
                     tr.querySelector(".revenue").textContent]),
        })"""
    )
    return texts


def _assert_money_as_report_shows_it(page: Page, said: dict[str, Any]) -> None:
    assert _money_texts(page) == {
        "revenue": money(said["revenue"]),
        "stores": {
            store: [
                money(said["revenue_by_store"][store]),
                money(said["average_ticket_total_by_store"][store]),
                money(said["average_product_price_by_store"][store]),
            ]
            for store in said["tickets_by_store"]
        },
        "top": [[p["name"], money(p["revenue"])] for p in said["top_products"]],
    }


def _assert_dates_readable(page: Page) -> None:
    """Each date on the timeline's axis is whole ("5 Jan 2026", "Jan 2026" or "2026")
    and inside its chart: none cut, as "2026-1" was. Read in one step: the page redraws."""
    labels: list[dict[str, Any]] = page.evaluate(
        """() => {
          const chart = document.getElementById("chart-timeline").getBoundingClientRect();
          return [...document.querySelectorAll("#chart-timeline .xtick text")].map((t) => {
            const box = t.getBoundingClientRect();
            const inside = box.left >= chart.left && box.right <= chart.right
              && box.top >= chart.top && box.bottom <= chart.bottom;
            return { text: t.textContent, inside };
          });
        }"""
    )
    assert labels, "no date on the axis"
    for label in labels:
        assert READABLE_DAY.fullmatch(label["text"]), label
        assert label["inside"], label


def _downloaded(page: Page) -> str:
    with page.expect_download() as download:
        page.click("#export-csv")
    return Path(download.value.path()).read_bytes().decode()


def test_every_figure_is_the_apis_under_each_filter_preset_and_download(
    make_pipeline: MakePipeline, page: Page
) -> None:
    today = datetime.date.today()
    pipeline = make_pipeline()
    pipeline.start_api()
    pipeline.start_worker()
    tickets = _tickets_over_time(today)
    assert httpx2.post(f"{pipeline.url}/data/batch", json=tickets, timeout=10).status_code == 202
    pipeline.wait_stored([t["id"] for t in tickets])
    problems = watch(page)
    page.goto(f"{pipeline.url}/dashboard")

    said = _wait_shown(page, pipeline.url, "")
    assert said["tickets"] == 66
    for chart in CHARTS:
        assert page.locator(f"#chart-{chart} .main-svg").count() > 0, f"{chart} not drawn"
    _assert_money_as_report_shows_it(page, said)
    assert page.locator("#stores tbody tr").count() == 5
    assert page.locator("#top-products tbody tr").count() == len(said["top_products"]) == 10
    _assert_dates_readable(page)
    assert _downloaded(page) == httpx2.get(f"{pipeline.url}/export.csv", timeout=10).text

    # The names the tills sent, as text: no image made, no script run.
    store_row = page.locator("#stores tbody th", has_text="onerror")
    assert store_row.text_content() == HOSTILE
    assert page.locator("#top-products tbody .name", has_text="onerror").text_content() == HOSTILE
    assert page.locator("main img").count() == 0

    page.select_option("select[name=store]", "Brussels")
    said = _wait_shown(page, pipeline.url, "store=Brussels")
    assert said["tickets_by_store"] == {"Brussels": 2}
    _assert_money_as_report_shows_it(page, said)  # Milk's 1.005 is 1.01, as report shows it
    exported = _downloaded(page)
    assert exported == httpx2.get(f"{pipeline.url}/export.csv?store=Brussels", timeout=10).text
    assert {line.split(",")[1] for line in exported.splitlines()[1:]} == {"Brussels"}
    page.select_option("select[name=store]", "")

    monday = today - datetime.timedelta(days=today.weekday())
    presets = {
        "This week": (monday, today),
        "This month": (today.replace(day=1), today),
    }
    for button, (first, last) in presets.items():
        page.click(f"button:has-text('{button}')")
        dates = {"date_from": first.isoformat(), "date_to": last.isoformat()}
        assert page.input_value("input[name=date_from]") == dates["date_from"]
        assert page.input_value("input[name=date_to]") == dates["date_to"]
        assert page.get_attribute(f"button:has-text('{button}')", "aria-pressed") == "true"
        said = _wait_shown(page, pipeline.url, urlencode(dates))
        assert said["tickets"] == 2 + sum(
            1 for n in range(1, 61) if first <= today - datetime.timedelta(days=n)
        )
        _assert_money_as_report_shows_it(page, said)
        _assert_dates_readable(page)  # a few days: one tick a day
        assert (
            _downloaded(page)
            == httpx2.get(f"{pipeline.url}/export.csv?{urlencode(dates)}", timeout=10).text
        )
    page.click("button:has-text('All dates')")
    assert page.input_value("input[name=date_from]") == ""
    _wait_shown(page, pipeline.url, "")

    page.screenshot(path=ARTIFACTS / "dashboard-figures.png", full_page=True)
    assert problems == []
    assert violations(page) == []


AMOUNTS = [0.0, 0.005, 0.015, 1.005, 1.125, 2.675, 0.1 + 0.2, 9.995, 123456.785, 1234567.891,
           5e-7, 1e21, 4.35, 1.0 / 3]  # fmt: skip


def test_the_page_rounds_money_as_report_does(make_pipeline: MakePipeline, page: Page) -> None:
    """Halves up, on the decimal the number prints as: 1.005 is 1.01 where JavaScript's
    toFixed gives 1.00, and 2.675 is 2.68 where it gives 2.67."""
    pipeline = make_pipeline()
    pipeline.start_api()
    page.goto(f"{pipeline.url}/dashboard")
    shown = {amount: page.evaluate(f"money({amount!r})") for amount in AMOUNTS}
    assert shown == {amount: money(amount) for amount in AMOUNTS}


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
    problems = watch(page)
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
    # "Try it out" on POST /data starts from the seed's ticket.
    page.locator("#operations-tickets-post_ticket_data_post .opblock-summary").click()
    page.locator("#operations-tickets-post_ticket_data_post .try-out__btn").click()
    body = page.locator("#operations-tickets-post_ticket_data_post textarea.body-param__text")
    assert json.loads(body.input_value()) == EXAMPLE_TICKET
    assert problems == []
    assert violations(page) == []
    assert elsewhere == []

    page.goto(f"{pipeline.url}/redoc")
    page.locator("h2", has_text="Accept many tickets, all or nothing").wait_for()
    assert page.locator("h1").first.inner_text().startswith("shopstream")
    # Redoc 2's sidebar logo is the one thing it fetches from elsewhere: blocked by the CSP.
    logo = "https://cdn.redoc.ly/redoc/logo-mini.svg"
    assert set(violations(page)) <= {f"img-src {logo}"}
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
        json=ticket(
            "hostile",
            store=STORE,
            products=[
                {"id": "1", "name": HOSTILE, "price": 2.5},
                {"id": "2", "name": STORE, "price": 1.0},
            ],
        ),
        headers={"Authorization": f"Bearer {WRITE_KEY}"},
        timeout=10,
    )
    assert posted.status_code == 202
    pipeline.wait_stored(["hostile"])
    problems = watch(page)

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
    # The tables take every name as text, never as markup.
    assert page.locator("#stores tbody th").all_text_contents() == [STORE]
    assert page.locator("#top-products tbody .name").all_text_contents() == [HOSTILE, STORE]
    assert page.locator("main img, main b, main a[href*=evil]").count() == 0

    # The CSV with the filters shown, fetched with the key the tab holds.
    page.select_option("select[name=store]", STORE)
    wait_for(lambda: "store=" in (page.get_attribute("#export-csv", "href") or ""), 10, "the link")
    csv_text = _downloaded(page)
    with_key = httpx2.get(
        f"{pipeline.url}/export.csv",
        params={"store": STORE},
        headers={"Authorization": f"Bearer {READ_KEY}"},
        timeout=10,
    )
    assert csv_text == with_key.text
    assert csv_text.count("hostile,") == 2
    # The only errors: the browser noting the 401s that made the page ask for a key.
    assert all("status of 401" in problem for problem in problems), problems
    assert violations(page) == []

    # Another tab of the same browser starts without it: the key never reached the disk.
    other = context.new_page()
    other.goto(f"{pipeline.url}/dashboard")
    other.wait_for_selector("#api-key:not([hidden])")
    assert other.evaluate("sessionStorage.getItem('shopstream-api-key')") is None
