"""Hand-computed analytics: four tickets, three stores, every category, awkward cents.

The expected figures below were worked out on paper from these tickets, not by the code.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from shopstream.catalog import Catalog
from shopstream.enrich import enrich
from shopstream.models import EnrichedTicket, Ticket

BUNDLED = Catalog.load()
CATEGORIES = BUNDLED.categories
VERSION = BUNDLED.version.hash


class _ListInForce:
    """Equal to the bundled list as figures show it (``catalog``), whenever it was loaded."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, dict) and other.get("hash") == VERSION and "loaded_at" in other

    def __repr__(self) -> str:
        return f"the bundled list {VERSION}"


IN_FORCE = _ListInForce()


def _ticket(ticket_id: str, store: str, day: str, *lines: tuple[str, float]) -> dict[str, Any]:
    products = [
        {"id": str(i), "name": name, "price": price} for i, (name, price) in enumerate(lines)
    ]
    return {"id": ticket_id, "store": store, "date": day, "products": products}


TICKETS: list[dict[str, Any]] = [
    _ticket("t1", "Brussels", "2020-01-01", ("Banana", 0.1), ("bread", 0.2)),
    _ticket("t2", "Brussels", "2020-01-02", ("WATER", 1.5), ("Chocolate", 2.7)),
    _ticket("t3", "Ghent", "2020-01-02", ("an apple", 0.7), ("Kiwi", 0.1), ("Beer", 1.2)),
    _ticket("t4", "Antwerp", "2020-01-03", ("Cake", 3.3)),
]

# 8 product lines worth 9.8 in all; ticket totals 0.3, 4.2, 2.0 and 3.3.
EXPECTED: dict[str, Any] = {
    "tickets": 4,
    "products": 8,
    "stores": 3,
    "category_share": {"Fruit": 3 / 8, "Bakery": 2 / 8, "Drink": 2 / 8, "Other": 1 / 8},
    "category_revenue_share": {
        "Fruit": 0.9 / 9.8,
        "Bakery": 3.5 / 9.8,
        "Drink": 2.7 / 9.8,
        "Other": 2.7 / 9.8,
    },
    "average_product_price": 9.8 / 8,
    "average_product_price_by_store": {"Antwerp": 3.3, "Brussels": 4.5 / 4, "Ghent": 2.0 / 3},
    "average_ticket_total": 9.8 / 4,
    "average_ticket_total_by_store": {"Antwerp": 3.3, "Brussels": 4.5 / 2, "Ghent": 2.0},
    "catalog": IN_FORCE,
    "catalog_versions": {VERSION: 4},
}

EXPECTED_BRUSSELS: dict[str, Any] = {
    "tickets": 2,
    "products": 4,
    "stores": 1,
    "category_share": {"Fruit": 0.25, "Bakery": 0.25, "Drink": 0.25, "Other": 0.25},
    "category_revenue_share": {
        "Fruit": 0.1 / 4.5,
        "Bakery": 0.2 / 4.5,
        "Drink": 1.5 / 4.5,
        "Other": 2.7 / 4.5,
    },
    "average_product_price": 4.5 / 4,
    "average_product_price_by_store": {"Brussels": 4.5 / 4},
    "average_ticket_total": 4.5 / 2,
    "average_ticket_total_by_store": {"Brussels": 4.5 / 2},
    "catalog": IN_FORCE,
    "catalog_versions": {VERSION: 2},
}

# 2020-01-02 only: tickets t2 and t3, five lines worth 6.2.
EXPECTED_JAN_2: dict[str, Any] = {
    "tickets": 2,
    "products": 5,
    "stores": 2,
    "category_share": {"Fruit": 2 / 5, "Bakery": 0.0, "Drink": 2 / 5, "Other": 1 / 5},
    "category_revenue_share": {
        "Fruit": 0.8 / 6.2,
        "Bakery": 0.0,
        "Drink": 2.7 / 6.2,
        "Other": 2.7 / 6.2,
    },
    "average_product_price": 6.2 / 5,
    "average_product_price_by_store": {"Brussels": 4.2 / 2, "Ghent": 2.0 / 3},
    "average_ticket_total": 6.2 / 2,
    "average_ticket_total_by_store": {"Brussels": 4.2, "Ghent": 2.0},
    "catalog": IN_FORCE,
    "catalog_versions": {VERSION: 2},
}

EXPECTED_EMPTY: dict[str, Any] = {
    "tickets": 0,
    "products": 0,
    "stores": 0,
    "category_share": {"Fruit": 0.0, "Bakery": 0.0, "Drink": 0.0, "Other": 0.0},
    "category_revenue_share": {"Fruit": 0.0, "Bakery": 0.0, "Drink": 0.0, "Other": 0.0},
    "average_product_price": 0.0,
    "average_product_price_by_store": {},
    "average_ticket_total": 0.0,
    "average_ticket_total_by_store": {},
    "catalog": IN_FORCE,
    "catalog_versions": {},
}

TICKETS_BY_DATE = {"2020-01-01": 1, "2020-01-02": 2, "2020-01-03": 1}


def enriched_tickets() -> list[EnrichedTicket]:
    catalog = Catalog.load()
    return [enrich(Ticket.model_validate_json(json.dumps(t)), catalog) for t in TICKETS]


def approx_figures(expected: dict[str, Any]) -> dict[str, Any]:
    """``expected`` with its fractions compared to within rounding."""
    return {
        key: value if isinstance(value, int | _ListInForce) else pytest.approx(value, rel=1e-12)
        for key, value in expected.items()
    }
