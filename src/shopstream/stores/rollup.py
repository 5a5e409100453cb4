"""Daily roll-ups the SQL stores keep beside the raw rows, for analytics in milliseconds.

A batch's new tickets are summed per (store, day), per (store, day, category) and per
(store, day, catalog version) and added to three small tables (``daily_tickets``,
``daily_products``, ``daily_versions``) in the same transaction as the rows themselves, so
the figures stay exact and idempotent: a ticket is rolled up exactly when it is inserted.
Analytics then reads a few rows per store and day instead of every product line.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shopstream.analytics import Filters, Tally
from shopstream.models import EnrichedTicket

DayRow = tuple[str, str, int, float]
"""store, ISO date, tickets, sum of their totals"""
LineRow = tuple[str, str, str, int, float]
"""store, ISO date, category, product lines, sum of their prices"""
VersionRow = tuple[str, str, str, int]
"""store, ISO date, catalog version, tickets"""


@dataclass(frozen=True)
class Rollup:
    days: list[DayRow]
    lines: list[LineRow]
    versions: list[VersionRow]


def rollup(tickets: Iterable[EnrichedTicket]) -> Rollup:
    totals: dict[tuple[str, str], list[float]] = defaultdict(list)
    prices: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    versions: dict[tuple[str, str, str], int] = defaultdict(int)
    for ticket in tickets:
        day = ticket.date.isoformat()
        totals[ticket.store, day].append(ticket.total_price)
        versions[ticket.store, day, ticket.catalog_version] += 1
        for product in ticket.products:
            prices[ticket.store, day, product.category].append(product.price)
    return Rollup(
        days=[(s, d, len(v), math.fsum(v)) for (s, d), v in totals.items()],
        lines=[(s, d, c, len(v), math.fsum(v)) for (s, d, c), v in prices.items()],
        versions=[(s, d, v, n) for (s, d, v), n in versions.items()],
    )


def where(filters: Filters, mark: str = "?") -> tuple[str, list[str]]:
    """A SQL ``WHERE`` clause on ``store`` and ``date`` columns, and its parameters."""
    clauses: list[str] = []
    params: list[str] = []
    if filters.store is not None:
        clauses.append(f"store = {mark}")
        params.append(filters.store)
    if filters.date_from is not None:
        clauses.append(f"date >= {mark}")
        params.append(filters.date_from.isoformat())
    if filters.date_to is not None:
        clauses.append(f"date <= {mark}")
        params.append(filters.date_to.isoformat())
    return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), params


def read_tally(db: Any, filters: Filters, mark: str = "?", iso_day: str = "date") -> Tally:
    """The tally the roll-up tables hold for ``filters``, summed in SQL.

    ``db`` is a SQLite or psycopg connection (both have ``execute(sql, params)``);
    ``iso_day`` is the SQL that reads the ``date`` column as ``YYYY-MM-DD``. Summed in
    SQL: a year of 25 stores is 9,000 daily rows but 25 + 366 sums.
    """
    # Only placeholders and fixed column names are formatted in; values go as parameters.
    condition, params = where(filters, mark)
    stores = db.execute(
        f"SELECT store, sum(tickets), sum(total_sum) FROM daily_tickets {condition}"  # noqa: S608
        " GROUP BY store",
        params,
    ).fetchall()
    days = db.execute(
        f"SELECT {iso_day}, sum(tickets) FROM daily_tickets {condition} GROUP BY date",  # noqa: S608
        params,
    ).fetchall()
    lines = db.execute(
        "SELECT store, category, sum(lines), sum(price_sum) FROM daily_products"  # noqa: S608
        f" {condition} GROUP BY store, category",
        params,
    ).fetchall()
    versions = db.execute(
        "SELECT catalog_version, sum(tickets) FROM daily_versions"  # noqa: S608
        f" {condition} GROUP BY catalog_version",
        params,
    ).fetchall()
    tally = Tally()
    for version, tickets in versions:
        tally.versions[version] += int(tickets)
    for store, tickets, total_sum in stores:
        tally.tickets[store].add(int(tickets), float(total_sum))
    for day, tickets in days:
        tally.days[day] += int(tickets)
    for store, category, count, price_sum in lines:
        tally.products[store, category].add(int(count), float(price_sum))
    return tally
