"""Hand-computed analytics: four tickets, three stores, every category, awkward cents.

The expected figures below were worked out on paper from these tickets, not by the code.
"""

from __future__ import annotations

import json
from decimal import Decimal
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


def _top(*products: tuple[str, int, str]) -> list[dict[str, Any]]:
    return [{"name": n, "lines": lines, "revenue": Decimal(r)} for n, lines, r in products]


def _stores(**stores: tuple[int, str, tuple[float, float, float, float]]) -> dict[str, Any]:
    """Per store: its tickets, its revenue, its shares of Fruit, Bakery, Drink and Other."""
    return {
        "revenue_by_store": {name: Decimal(revenue) for name, (_, revenue, _) in stores.items()},
        "tickets_by_store": {name: tickets for name, (tickets, _, _) in stores.items()},
        "category_share_by_store": {
            name: dict(zip(("Fruit", "Bakery", "Drink", "Other"), shares, strict=True))
            for name, (_, _, shares) in stores.items()
        },
    }


def _under_the_bundled_list(tickets: int) -> dict[str, Any]:
    """The list in force, and ``tickets`` categorised with it (none: no version counted)."""
    return {"catalog": IN_FORCE, "catalog_versions": {VERSION: tickets} if tickets else {}}


TICKETS: list[dict[str, Any]] = [
    _ticket("t1", "Brussels", "2020-01-01", ("Banana", 0.1), ("bread", 0.2)),
    _ticket("t2", "Brussels", "2020-01-02", ("WATER", 1.5), ("Chocolate", 2.7)),
    _ticket("t3", "Ghent", "2020-01-02", ("an apple", 0.7), ("Kiwi", 0.1), ("Beer", 1.2)),
    _ticket("t4", "Antwerp", "2020-01-03", ("Cake", 3.3)),
]

# One line each: by revenue, then by name (Banana before Kiwi at 0.10).
_TOP_ALL = _top(
    ("Cake", 1, "3.30"), ("Chocolate", 1, "2.70"), ("WATER", 1, "1.50"), ("Beer", 1, "1.20"),
    ("an apple", 1, "0.70"), ("bread", 1, "0.20"), ("Banana", 1, "0.10"), ("Kiwi", 1, "0.10"),
)  # fmt: skip

_TOP_BRUSSELS = _top(
    ("Chocolate", 1, "2.70"), ("WATER", 1, "1.50"), ("bread", 1, "0.20"), ("Banana", 1, "0.10"),
)  # fmt: skip

_TOP_JAN_2 = _top(
    ("Chocolate", 1, "2.70"), ("WATER", 1, "1.50"), ("Beer", 1, "1.20"), ("an apple", 1, "0.70"),
    ("Kiwi", 1, "0.10"),
)  # fmt: skip

# 8 product lines worth 9.8 in all; ticket totals 0.3, 4.2, 2.0 and 3.3.
EXPECTED: dict[str, Any] = {
    "tickets": 4,
    "products": 8,
    "stores": 3,
    "top_products": _TOP_ALL,
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
    "revenue": Decimal("9.80"),
    **_stores(
        Antwerp=(1, "3.30", (0.0, 1.0, 0.0, 0.0)),
        Brussels=(2, "4.50", (0.25, 0.25, 0.25, 0.25)),
        Ghent=(1, "2.00", (2 / 3, 0.0, 1 / 3, 0.0)),
    ),
    **_under_the_bundled_list(4),
}

EXPECTED_BRUSSELS: dict[str, Any] = {
    "tickets": 2,
    "products": 4,
    "stores": 1,
    "top_products": _TOP_BRUSSELS,
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
    "revenue": Decimal("4.50"),
    **_stores(Brussels=(2, "4.50", (0.25, 0.25, 0.25, 0.25))),
    **_under_the_bundled_list(2),
}

# 2020-01-02 only: tickets t2 and t3, five lines worth 6.2.
EXPECTED_JAN_2: dict[str, Any] = {
    "tickets": 2,
    "products": 5,
    "stores": 2,
    "top_products": _TOP_JAN_2,
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
    "revenue": Decimal("6.20"),
    **_stores(
        Brussels=(1, "4.20", (0.0, 0.0, 0.5, 0.5)), Ghent=(1, "2.00", (2 / 3, 0.0, 1 / 3, 0.0))
    ),
    **_under_the_bundled_list(2),
}

EXPECTED_EMPTY: dict[str, Any] = {
    "tickets": 0,
    "products": 0,
    "stores": 0,
    "top_products": [],
    "category_share": {"Fruit": 0.0, "Bakery": 0.0, "Drink": 0.0, "Other": 0.0},
    "category_revenue_share": {"Fruit": 0.0, "Bakery": 0.0, "Drink": 0.0, "Other": 0.0},
    "average_product_price": 0.0,
    "average_product_price_by_store": {},
    "average_ticket_total": 0.0,
    "average_ticket_total_by_store": {},
    "revenue": Decimal("0.00"),
    "revenue_by_store": {},
    "tickets_by_store": {},
    "category_share_by_store": {},
    **_under_the_bundled_list(0),
}

TICKETS_BY_DATE = {"2020-01-01": 1, "2020-01-02": 2, "2020-01-03": 1}

# Twelve product names, some on several lines, for the top ten: most lines first, then
# the higher revenue, then the name.
TOP_TICKETS: list[dict[str, Any]] = [
    _ticket("p1", "Brussels", "2020-02-01", ("Banana", 1.0), ("Banana", 1.0), ("Bread", 2.0)),
    _ticket("p2", "Brussels", "2020-02-02", ("Banana", 1.0), ("Water", 0.5), ("Beer", 3.0)),
    _ticket("p3", "Ghent", "2020-02-01", ("Bread", 2.0), ("Water", 0.5), ("Kiwi", 0.25)),
    _ticket(
        "p4",
        "Ghent",
        "2020-02-02",
        *[("Milk", 1.25), ("Cheese", 4.75), ("Apple", 0.4), ("Pear", 0.4), ("Cake", 5.0)],
        *[("Tea", 2.0), ("Soap", 0.99)],
    ),
]


# Banana 3 lines; Bread and Water 2 (Water's 1.00 ranks above Cake's 5.00 on one line);
# Apple and Pear tie at 0.40: Apple by name; Pear and Kiwi are 11th and 12th.
EXPECTED_TOP = _top(
    ("Banana", 3, "3.00"), ("Bread", 2, "4.00"), ("Water", 2, "1.00"), ("Cake", 1, "5.00"),
    ("Cheese", 1, "4.75"), ("Beer", 1, "3.00"), ("Tea", 1, "2.00"), ("Milk", 1, "1.25"),
    ("Soap", 1, "0.99"), ("Apple", 1, "0.40"),
)  # fmt: skip
EXPECTED_TOP_GHENT = _top(
    ("Cake", 1, "5.00"), ("Cheese", 1, "4.75"), ("Bread", 1, "2.00"), ("Tea", 1, "2.00"),
    ("Milk", 1, "1.25"), ("Soap", 1, "0.99"), ("Water", 1, "0.50"), ("Apple", 1, "0.40"),
    ("Pear", 1, "0.40"), ("Kiwi", 1, "0.25"),
)  # fmt: skip
EXPECTED_TOP_FEB_1 = _top(
    ("Bread", 2, "4.00"), ("Banana", 2, "2.00"), ("Water", 1, "0.50"), ("Kiwi", 1, "0.25")
)
TOP_REVENUE = Decimal("26.04")  # 4.00 + 4.50 + 2.75 + 14.79


def enriched_tickets(tickets: list[dict[str, Any]] = TICKETS) -> list[EnrichedTicket]:
    catalog = Catalog.load()
    return [enrich(Ticket.model_validate_json(json.dumps(t)), catalog) for t in tickets]


def _approx(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)  # money: to the cent, exactly as the API writes it
    if isinstance(value, int | str | _ListInForce):
        return value
    if isinstance(value, dict):
        return {key: _approx(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_approx(inner) for inner in value]
    return pytest.approx(value, rel=1e-12)


def approx_figures(expected: dict[str, Any]) -> dict[str, Any]:
    """``expected`` as the JSON of the figures: fractions to within rounding, money exact."""
    return {key: _approx(value) for key, value in expected.items()}
