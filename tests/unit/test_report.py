"""``shopstream report``: the same figures as the API, as tables or JSON."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from shopstream.analytics import Filters, figures
from shopstream.report import money, render
from shopstream.stores import open_store
from tests.analytics_data import CATEGORIES
from tests.contracts.stores import ReportContract
from tests.helpers import Command


def test_an_empty_store_says_so(tmp_path: Path, command: Command) -> None:
    result = command("report", DATABASE_URL=str(tmp_path / "database.json"))
    assert result.returncode == 0, result.stderr
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


class TestReport(ReportContract):
    """On JSON and SQLite."""
