"""The manager's figures from every store, checked against hand-computed fixtures."""

from __future__ import annotations

import pytest

from shopstream.analytics import Analytics, Tally, figures
from tests.analytics_data import EXPECTED
from tests.contracts.stores import FiguresContract


def test_shares_sum_to_one_and_unknown_categories_are_listed() -> None:
    tally = Tally()
    tally.add_ticket("A", "2020-01-01", 3.0, [("Fruit", 1.0), ("Seasonal", 2.0)])
    result = figures(tally, ("Fruit", "Other"))
    assert result.category_share == {"Fruit": 0.5, "Other": 0.0, "Seasonal": 0.5}
    assert sum(result.category_revenue_share.values()) == pytest.approx(1.0)


def test_the_figures_are_exactly_the_documented_keys() -> None:
    assert set(Analytics.model_fields) == set(EXPECTED)


class TestFigures(FiguresContract):
    """On JSON and SQLite."""
