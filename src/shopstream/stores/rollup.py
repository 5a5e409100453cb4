"""Daily roll-ups the SQL stores keep beside the raw rows, for analytics in milliseconds.

A batch's new tickets are summed per (store, day), per (store, day, category), per
(store, day, product name) and per (store, day, catalog version) and added to four small
tables in the same transaction as the rows themselves, so the figures stay exact and
idempotent: a ticket is rolled up exactly when it is inserted. Analytics then reads a few
rows per store and day instead of every product line.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shopstream.analytics import Filters, Sum, Tally
from shopstream.models import EnrichedTicket

DayRow = tuple[str, str, int, float]
"""store, ISO date, tickets, sum of their totals"""
LineRow = tuple[str, str, str, int, float]
"""store, ISO date, category, product lines, sum of their prices"""
NameRow = tuple[str, str, str, int, float]
"""store, ISO date, product name, product lines, sum of their prices"""
VersionRow = tuple[str, str, str, int]
"""store, ISO date, catalog version, tickets"""


@dataclass(frozen=True)
class Rollup:
    days: list[DayRow]
    lines: list[LineRow]
    names: list[NameRow]
    versions: list[VersionRow]


def rollup(tickets: Iterable[EnrichedTicket]) -> Rollup:
    totals: dict[tuple[str, str], list[float]] = defaultdict(list)
    prices: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    by_name: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    versions: dict[tuple[str, str, str], int] = defaultdict(int)
    for ticket in tickets:
        day = ticket.date.isoformat()
        totals[ticket.store, day].append(ticket.total_price)
        versions[ticket.store, day, ticket.catalog_version] += 1
        for product in ticket.products:
            prices[ticket.store, day, product.category].append(product.price)
            by_name[ticket.store, day, product.name].append(product.price)
    return Rollup(
        days=[(s, d, len(v), math.fsum(v)) for (s, d), v in totals.items()],
        lines=[(s, d, c, len(v), math.fsum(v)) for (s, d, c), v in prices.items()],
        names=[(s, d, n, len(v), math.fsum(v)) for (s, d, n), v in by_name.items()],
        versions=[(s, d, v, n) for (s, d, v), n in versions.items()],
    )


NAMES_FROM_PRODUCTS = """
INSERT INTO daily_names (store, date, name, lines, price_sum)
SELECT t.store, t.date, p.name, count(*), sum(p.price)
FROM products p JOIN tickets t ON t.id = p.ticket_id
WHERE NOT EXISTS (SELECT 1 FROM daily_names)
GROUP BY t.store, t.date, p.name
"""
"""Fills ``daily_names`` from the stored rows when it is empty: a store written before the
table existed gets its top products. Run by a writer, in its schema transaction."""


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


def summed(db: Any, columns: str, table: str, group: str, filters: Filters, mark: str) -> Any:
    """``SELECT columns FROM table WHERE <filters> GROUP BY group``: its rows.

    Only placeholders and fixed column names are formatted in; values go as parameters.
    """
    condition, params = where(filters, mark)
    return db.execute(
        f"SELECT {columns} FROM {table} {condition} GROUP BY {group}",  # noqa: S608
        params,
    ).fetchall()


def read_tally(db: Any, filters: Filters, mark: str = "?", iso_day: str = "date") -> Tally:
    """The tally the roll-up tables hold for ``filters``, summed in SQL.

    ``db`` is a SQLite or psycopg connection (both have ``execute(sql, params)``);
    ``iso_day`` is the SQL that reads the ``date`` column as ``YYYY-MM-DD``. Summed in
    SQL: a year of 25 stores is 9,000 daily rows but 25 + 366 sums.
    """
    tickets = "sum(tickets), sum(total_sum)"
    stores = summed(db, f"store, {tickets}", "daily_tickets", "store", filters, mark)
    days = summed(db, f"{iso_day}, sum(tickets)", "daily_tickets", "date", filters, mark)
    lines = summed(
        db, "store, category, sum(lines), sum(price_sum)", "daily_products", "store, category",
        filters, mark,
    )  # fmt: skip
    tally = Tally()
    for store, count, total_sum in stores:
        tally.tickets[store].add(int(count), float(total_sum))
    for day, count in days:
        tally.days[day] += int(count)
    for store, category, count, price_sum in lines:
        tally.products[store, category].add(int(count), float(price_sum))
    return tally


def read_names(db: Any, filters: Filters, mark: str = "?") -> dict[str, Sum]:
    """Product name -> its product lines and the sum of their prices, for ``filters``.

    Apart from ``read_tally``: a store written before ``daily_names`` existed has no such
    table until a writer opens it, and its other figures are still there to read.
    """
    rows = summed(db, "name, sum(lines), sum(price_sum)", "daily_names", "name", filters, mark)
    return {name: Sum(int(count), float(price_sum)) for name, count, price_sum in rows}
