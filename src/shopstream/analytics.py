"""The manager's figures, defined once.

Every store reduces its tickets to the same ``Tally`` (counts and sums per store, per
category and per day, under the same ``Filters``); ``figures`` turns a tally into the
answers. So a figure has one definition, whichever store holds the data.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from shopstream.catalog import CatalogVersion


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

    def clear(self) -> None:
        self.tickets.clear()
        self.products.clear()
        self.days.clear()
        self.versions.clear()

    def add_ticket(
        self, store: str, day: str, total: float, lines: Iterable[tuple[str, float]]
    ) -> None:
        """Count one ticket, its product lines given as (category, price)."""
        self.tickets[store].add(1, total)
        self.days[day] += 1
        for category, price in lines:
            self.products[store, category].add(1, price)


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


def figures(
    tally: Tally, categories: Sequence[str], catalog: CatalogVersion | None = None
) -> Analytics:
    """The figures of a tally; ``categories`` are listed even when none of them sold, and
    ``catalog`` is the list in force."""
    by_category: dict[str, Sum] = {name: Sum() for name in categories}
    by_store: dict[str, Sum] = {}
    for (store, category), lines in tally.products.items():
        by_category.setdefault(category, Sum()).add(lines.count, lines.amount)
        by_store.setdefault(store, Sum()).add(lines.count, lines.amount)
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
        catalog=catalog,
        catalog_versions=dict(sorted(tally.versions.items())),
    )


def timeline(tally: Tally) -> Timeline:
    return Timeline(tickets_by_date=dict(sorted(tally.days.items())))
