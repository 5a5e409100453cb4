"""``shopstream report``: the same figures as the API, as tables or JSON."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from rich.console import Console

from shopstream.analytics import Filters, figures
from shopstream.report import money, render
from shopstream.stores import open_store
from tests.analytics_data import EXPECTED, EXPECTED_BRUSSELS
from tests.helpers import shopstream
from tests.unit.storedata import enriched
from tests.unit.test_analytics import CATEGORIES, _approx


def _report(store_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    result = shopstream(
        "report", *args, env={**os.environ, "DATABASE_URL": store_url}, cwd=Path.cwd()
    )
    assert result.returncode == 0, result.stderr
    return result


def test_json_is_the_apis_figures(filled: str) -> None:
    assert json.loads(_report(filled, "--json").stdout) == _approx(EXPECTED)


def test_filters_apply(filled: str) -> None:
    result = _report(
        filled, "--store", "Brussels", "--from", "2020-01-01", "--to", "2020-01-02", "--json"
    )
    assert json.loads(result.stdout) == _approx(EXPECTED_BRUSSELS)


def test_tables_show_every_store_and_category(filled: str) -> None:
    text = _report(filled).stdout
    for word in ("Brussels", "Ghent", "Antwerp", "Fruit", "Bakery", "Drink", "Other"):
        assert word in text
    assert "37.5%" in text  # Fruit: 3 of 8 lines
    assert "1.13" in text  # Brussels: 4.5 / 4 = 1.125, rounded as a till does


def test_an_empty_store_says_so(tmp_path: Path) -> None:
    result = _report(str(tmp_path / "database.json"))
    assert "No tickets stored yet" in result.stdout


@pytest.mark.parametrize(
    ("amount", "shown"), [(1.125, "1.13"), (1.225, "1.23"), (0.1 + 0.2, "0.30"), (2.0, "2.00")]
)
def test_money_is_shown_to_the_cent_rounding_halves_up(amount: float, shown: str) -> None:
    assert money(amount) == shown


def test_render_names_the_filter(tmp_path: Path) -> None:
    console = Console(record=True, width=120)
    tally = open_store(str(tmp_path / "none.json")).tally(Filters())
    console.print(render(figures(tally, CATEGORIES), Filters(store="Ghent")))
    assert "store Ghent" in console.export_text()


HOSTILE_NAMES = [
    "[/b]",  # rich: MarkupError, the report crashed
    "[link=https://evil.example]Click here[/link]",  # rich: a terminal hyperlink
    # The same, written raw: the API refuses control characters, but a store written
    # before that rule, or edited by hand, may hold them.
    "\x1b]8;;https://evil.example\x1b\\Click\x1b]8;;\x1b\\",
    "Shop :pile_of_poo:",  # rich: an emoji code
]
# Rich's own colours (FORCE_COLOR) are CSI "m" sequences: anything else came from a name.
_RICH_STYLE = re.compile(r"\x1b\[[0-9;]*m")


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_store_name_is_shown_as_written_never_as_markup(name: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    store = open_store(url)
    store.open()
    store.add([enriched("1", store=name)])
    store.close()
    env = {**os.environ, "DATABASE_URL": url, "FORCE_COLOR": "1", "COLUMNS": "200"}
    result = shopstream("report", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    shown = _RICH_STYLE.sub("", result.stdout)
    assert "\x1b" not in shown  # no sequence of the name's own reached the terminal
    assert name.replace("\x1b", "\\x1b") in shown
