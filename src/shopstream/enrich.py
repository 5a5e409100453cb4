"""Ticket -> enriched ticket: pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from shopstream.catalog import Catalog
from shopstream.models import EnrichedProduct, EnrichedTicket, Product, Ticket


def total_price(prices: list[float]) -> float:
    """The exact decimal sum of the prices as written: 0.1 + 0.2 is 0.3, not 0.30000000000000004.

    Prices in whole cents (nearly all) are summed as integers of cents, which is the same
    exact sum at a third of the cost of ``Decimal``; below ``MAX_PRICE`` a float that is a
    whole number of cents reads back as exactly those cents. Other prices go through
    ``Decimal`` as written.
    """
    cents = 0
    for price in prices:
        whole = round(price * 100)
        if whole / 100 != price:
            return float(sum((Decimal(repr(p)) for p in prices), Decimal(0)))
        cents += whole
    return cents / 100


def enrich(ticket: Ticket, catalog: Catalog) -> EnrichedTicket:
    return EnrichedTicket(
        id=ticket.id,
        store=ticket.store,
        date=ticket.date,
        total_price=total_price([p.price for p in ticket.products]),
        products=_categorised(ticket.products, catalog),
        catalog_version=catalog.version.hash,
    )


def _categorised(products: Iterable[Product], catalog: Catalog) -> list[EnrichedProduct]:
    return [
        EnrichedProduct(id=p.id, name=p.name, price=p.price, category=catalog.category_of(p.name))
        for p in products
    ]
