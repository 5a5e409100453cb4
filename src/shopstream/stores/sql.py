"""What the two SQL stores share beside their roll-ups: reading stored tickets back.

A ticket whose id is stored already is compared with the stored copy, so that a second
ticket under the same id with another purchase is reported, never silently dropped; and
every stored ticket can be read back whole, in id order.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator

from shopstream.models import EnrichedProduct, EnrichedTicket, Purchase

STORED_PURCHASES = """
SELECT t.id, t.store, t.date, p.product_id, p.name, p.price
FROM tickets t LEFT JOIN products p ON p.ticket_id = t.id
WHERE t.id {condition}
ORDER BY t.id, p.line
"""

Row = tuple[str, str, str | datetime.date, str | None, str | None, float | None]
"""ticket id, store, date, product id, name, price (the product columns None without lines)"""


def purchases(rows: Iterable[Row]) -> dict[str, Purchase]:
    """The stored purchase of each ticket in ``rows`` (ordered by ticket id, then line)."""
    stores: dict[str, tuple[str, str]] = {}
    lines: dict[str, list[tuple[str, str, float]]] = {}
    for ticket_id, store, date, product_id, name, price in rows:
        day = date.isoformat() if isinstance(date, datetime.date) else date
        stores[ticket_id] = (store, day)
        ticket_lines = lines.setdefault(ticket_id, [])
        if product_id is not None and name is not None and price is not None:
            ticket_lines.append((product_id, name, price))
    return {
        ticket_id: (store, day, tuple(lines[ticket_id]))
        for ticket_id, (store, day) in stores.items()
    }


TICKETS_WHERE = """
SELECT t.id, t.store, t.date, t.total_price, t.catalog_version,
       p.product_id, p.name, p.price, p.category
FROM tickets t LEFT JOIN products p ON p.ticket_id = t.id
{where}
ORDER BY t.id, p.line
"""
"""the stored tickets, read whole, that a ``WHERE`` clause on ``t`` (the ticket) admits"""
STORED_TICKETS = TICKETS_WHERE.format(where="")

TicketRow = tuple[
    str, str, str | datetime.date, float, str, str | None, str | None, float | None, str | None
]
"""ticket id, store, date, total, catalog version, then product id, name, price, category
(None: no lines)"""


def tickets(rows: Iterable[TicketRow]) -> Iterator[EnrichedTicket]:
    """The tickets of ``rows`` (ordered by ticket id, then line), one at a time."""
    current: EnrichedTicket | None = None
    for ticket_id, store, date, total, version, product_id, name, price, category in rows:
        if current is None or current.id != ticket_id:
            if current is not None:
                yield current
            day = date if isinstance(date, datetime.date) else datetime.date.fromisoformat(date)
            current = EnrichedTicket(ticket_id, store, day, total, [], version)
        if product_id is not None and name is not None and price is not None:
            current.products.append(EnrichedProduct(product_id, name, price, category or ""))
    if current is not None:
        yield current
