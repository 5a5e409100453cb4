"""Enriched tickets to store in unit tests."""

from __future__ import annotations

import datetime

from shopstream.models import EnrichedProduct, EnrichedTicket


def enriched(ticket_id: str, store: str = "Brussels", price: float = 1.5) -> EnrichedTicket:
    return EnrichedTicket(
        id=ticket_id,
        store=store,
        date=datetime.date(2020, 1, 1),
        total_price=price * 2,
        products=[
            EnrichedProduct(id="1", name="Banana", price=price, category="Fruit"),
            EnrichedProduct(id="2", name="Bread", price=price, category="Bakery"),
        ],
    )
