"""The manager's figures, defined once.

Every store reduces its tickets to the same ``Tally`` (counts and sums per store, per
category, per product name and per day, under the same ``Filters``); ``figures`` turns a
tally into the answers. So a figure has one definition, whichever store holds the data.

Money (revenue) is a ``Decimal`` rounded to the cent, halves up, as a till rounds: the
stores' sums are binary floats, read back as the decimal they print as, so a revenue of
prices in whole cents is exact however many tickets it sums.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import BaseModel, Field, PlainSerializer

from shopstream.catalog import CatalogVersion

TOP_PRODUCTS = 10
_CENT = Decimal("0.01")


def cents(amount: float | Decimal) -> Decimal:
    """``amount`` to the cent, halves rounded up as a till does (1.125 -> 1.13).

    A float is read as the shortest decimal that prints it (``repr``), never its binary
    expansion: 1.005 is 1.005, rounded to 1.01.
    """
    exact = amount if isinstance(amount, Decimal) else Decimal(repr(amount))
    return exact.quantize(_CENT, rounding=ROUND_HALF_UP)


Money = Annotated[
    Decimal,
    # In JSON a number, as the other figures: a decimal of two places prints as itself.
    PlainSerializer(float, return_type=float, when_used="json"),
    Field(description="To the cent, halves rounded up"),
]


@dataclass(frozen=True)
class Filters:
    """Which tickets count: one store, and dates from/to (inclusive); None means all."""

    store: str | None = None
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None

    def admits(self, store: str, day: str) -> bool:
        """Whether a ticket of ``store`` on ISO date ``day`` counts."""
        if self.store is not None and store != self.store:
            return False
        if self.date_from is not None and day < self.date_from.isoformat():
            return False
        return self.date_to is None or day <= self.date_to.isoformat()


@dataclass
class Sum:
    """How many things, and the sum of their amounts."""

    count: int = 0
    amount: float = 0.0

    def add(self, count: int, amount: float) -> None:
        self.count += count
        self.amount += amount


@dataclass
class Tally:
    """What the figures are computed from; every store can produce one cheaply."""

    tickets: dict[str, Sum] = field(default_factory=lambda: defaultdict(Sum))
    """store -> its tickets and the sum of their totals"""
    products: dict[tuple[str, str], Sum] = field(default_factory=lambda: defaultdict(Sum))
    """(store, category) -> its product lines and the sum of their prices"""
    days: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    """ISO date -> tickets of that day"""
    versions: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    """catalog version -> tickets categorised with it"""
    names: dict[str, Sum] = field(default_factory=lambda: defaultdict(Sum))
    """product name, as written on the tickets -> its product lines and their prices"""

    def clear(self) -> None:
        self.tickets.clear()
        self.products.clear()
        self.days.clear()
        self.versions.clear()
        self.names.clear()

    def add_ticket(
        self, store: str, day: str, total: float, lines: Iterable[tuple[str, float]]
    ) -> None:
        """Count one ticket, its product lines given as (category, price)."""
        self.tickets[store].add(1, total)
        self.days[day] += 1
        for category, price in lines:
            self.products[store, category].add(1, price)


class TopProduct(BaseModel):
    """A product among those sold most: by product lines, then by revenue, then by name."""

    name: str = Field(description="As written on the tickets")
    lines: int = Field(description="Product lines of this name")
    revenue: Money


class Analytics(BaseModel):
    """The answers to the manager's questions (``GET /analytics``)."""

    tickets: int = Field(description="Tickets stored")
    products: int = Field(description="Product lines on those tickets")
    stores: int = Field(description="Stores with at least one ticket")
    category_share: dict[str, float] = Field(
        description="Fraction of product lines in each category; sums to 1 when any"
    )
    category_revenue_share: dict[str, float] = Field(
        description="Fraction of the money spent in each category; sums to 1 when any"
    )
    average_product_price: float = Field(description="Mean price over all product lines")
    average_product_price_by_store: dict[str, float]
    average_ticket_total: float = Field(description="Mean total_price of a ticket")
    average_ticket_total_by_store: dict[str, float]
    revenue: Money = Field(description="Sum of the ticket totals, to the cent, halves up")
    revenue_by_store: dict[str, Money]
    tickets_by_store: dict[str, int]
    category_share_by_store: dict[str, dict[str, float]] = Field(
        description="Per store, the fraction of its product lines in each category"
    )
    top_products: list[TopProduct] = Field(
        description=f"The {TOP_PRODUCTS} product names with the most product lines (ties: "
        "the higher revenue, then the name in code-point order)"
    )
    catalog: CatalogVersion | None = Field(
        default=None, description="The category list in force: its hash and when it was loaded"
    )
    catalog_versions: dict[str, int] = Field(
        default_factory=dict,
        description="Tickets per version of the list they were categorised with; more than "
        "one: the figures mix lists (`shopstream rebuild` applies the one in force)",
    )


class Timeline(BaseModel):
    """Tickets per day (``GET /analytics/timeline``), in date order."""

    tickets_by_date: dict[str, int]


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def _mean(total: Sum) -> float:
    return _ratio(total.amount, total.count)


def _top_products(names: dict[str, Sum]) -> list[TopProduct]:
    ranked = sorted(
        ((name, total.count, cents(total.amount)) for name, total in names.items()),
        key=lambda product: (-product[1], -product[2], product[0]),
    )
    return [
        TopProduct(name=name, lines=lines, revenue=revenue)
        for name, lines, revenue in ranked[:TOP_PRODUCTS]
    ]


def figures(
    tally: Tally, categories: Sequence[str], catalog: CatalogVersion | None = None
) -> Analytics:
    """The figures of a tally; ``categories`` are listed even when none of them sold, and
    ``catalog`` is the list in force."""
    by_category: dict[str, Sum] = {name: Sum() for name in categories}
    by_store: dict[str, Sum] = {}
    store_categories: dict[str, dict[str, int]] = defaultdict(dict)
    for (store, category), lines in tally.products.items():
        by_category.setdefault(category, Sum()).add(lines.count, lines.amount)
        by_store.setdefault(store, Sum()).add(lines.count, lines.amount)
        store_categories[store][category] = lines.count
    all_lines = Sum(
        sum(s.count for s in by_category.values()), sum(s.amount for s in by_category.values())
    )
    all_tickets = Sum(
        sum(s.count for s in tally.tickets.values()), sum(s.amount for s in tally.tickets.values())
    )
    return Analytics(
        tickets=all_tickets.count,
        products=all_lines.count,
        stores=len(tally.tickets),
        category_share={n: _ratio(s.count, all_lines.count) for n, s in by_category.items()},
        category_revenue_share={
            n: _ratio(s.amount, all_lines.amount) for n, s in by_category.items()
        },
        average_product_price=_mean(all_lines),
        average_product_price_by_store={n: _mean(s) for n, s in sorted(by_store.items())},
        average_ticket_total=_mean(all_tickets),
        average_ticket_total_by_store={n: _mean(s) for n, s in sorted(tally.tickets.items())},
        revenue=cents(sum((Decimal(repr(s.amount)) for s in tally.tickets.values()), Decimal(0))),
        revenue_by_store={n: cents(s.amount) for n, s in sorted(tally.tickets.items())},
        tickets_by_store={n: s.count for n, s in sorted(tally.tickets.items())},
        category_share_by_store={
            store: {
                name: _ratio(counts.get(name, 0), by_store[store].count) for name in by_category
            }
            for store, counts in sorted(store_categories.items())
        },
        top_products=_top_products(tally.names),
        catalog=catalog,
        catalog_versions=dict(sorted(tally.versions.items())),
    )


def timeline(tally: Tally) -> Timeline:
    return Timeline(tickets_by_date=dict(sorted(tally.days.items())))
