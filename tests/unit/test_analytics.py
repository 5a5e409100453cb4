"""The manager's figures from every store, checked against hand-computed fixtures."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from shopstream.analytics import Analytics, Filters, Tally, figures, timeline
from shopstream.catalog import Catalog
from shopstream.stores import Store, open_store
from tests.analytics_data import (
    EXPECTED,
    EXPECTED_BRUSSELS,
    EXPECTED_EMPTY,
    EXPECTED_JAN_2,
    TICKETS_BY_DATE,
    enriched_tickets,
)
from tests.unit.storedata import enriched

CATEGORIES = Catalog.load().categories
JAN_2 = datetime.date(2020, 1, 2)


def _figures(store: Store, filters: Filters | None = None) -> dict[str, Any]:
    return figures(store.tally(filters or Filters()), CATEGORIES).model_dump()


def _approx(expected: dict[str, Any]) -> dict[str, Any]:
    return {
        key: pytest.approx(value, rel=1e-12) if not isinstance(value, int) else value
        for key, value in expected.items()
    }


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (Filters(), EXPECTED),
        (Filters(store="Brussels"), EXPECTED_BRUSSELS),
        (Filters(date_from=JAN_2, date_to=JAN_2), EXPECTED_JAN_2),
        (Filters(store="Nowhere"), EXPECTED_EMPTY),
        (Filters(date_from=datetime.date(2021, 1, 1)), EXPECTED_EMPTY),
    ],
)
def test_each_store_gives_the_hand_computed_figures(
    store: Store, filters: Filters, expected: dict[str, Any]
) -> None:
    store.add(enriched_tickets())
    assert _figures(store, filters) == _approx(expected)


def test_an_empty_store_answers_zeros(store: Store) -> None:
    assert _figures(store) == EXPECTED_EMPTY
    assert timeline(store.tally(Filters())).tickets_by_date == {}


def test_a_store_not_yet_made_answers_zeros(store_url: str) -> None:
    assert figures(open_store(store_url).tally(Filters()), CATEGORIES).tickets == 0


def test_redelivered_tickets_do_not_count_twice(store: Store) -> None:
    store.add(enriched_tickets())
    store.add(enriched_tickets())
    assert _figures(store) == _approx(EXPECTED)


def test_the_timeline_counts_tickets_per_day(store: Store) -> None:
    store.add(enriched_tickets())
    assert timeline(store.tally(Filters())).tickets_by_date == TICKETS_BY_DATE
    brussels = timeline(store.tally(Filters(store="Brussels"))).tickets_by_date
    assert brussels == {"2020-01-01": 1, "2020-01-02": 1}


def test_a_reader_keeps_up_as_the_writer_appends(store: Store, store_url: str) -> None:
    reader = open_store(store_url)
    first, *rest = enriched_tickets()
    store.add([first])
    assert figures(reader.tally(Filters()), CATEGORIES).tickets == 1
    store.add(rest)
    assert figures(reader.tally(Filters()), CATEGORIES).model_dump() == _approx(EXPECTED)
    store.add([enriched("extra", store="Ghent", price=1.0)])
    assert figures(reader.tally(Filters()), CATEGORIES).tickets == 5


def test_shares_sum_to_one_and_unknown_categories_are_listed() -> None:
    tally = Tally()
    tally.add_ticket("A", "2020-01-01", 3.0, [("Fruit", 1.0), ("Seasonal", 2.0)])
    result = figures(tally, ("Fruit", "Other"))
    assert result.category_share == {"Fruit": 0.5, "Other": 0.0, "Seasonal": 0.5}
    assert sum(result.category_revenue_share.values()) == pytest.approx(1.0)


def test_the_figures_are_exactly_the_documented_keys() -> None:
    assert set(Analytics.model_fields) == set(EXPECTED)
