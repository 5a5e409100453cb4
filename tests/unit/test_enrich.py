"""Enrichment: the seed's "after processing" shape, exact totals, unknown products kept."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from shopstream.catalog import Catalog
from shopstream.enrich import enrich, total_price
from shopstream.models import MAX_PRICE, Ticket
from tests.helpers import EXAMPLE_AFTER_PROCESSING, EXAMPLE_TICKET, ticket


def _parse(body: dict[str, Any]) -> Ticket:
    return Ticket.model_validate_json(json.dumps(body))


def test_the_seed_ticket_becomes_the_seeds_processed_ticket() -> None:
    enriched = enrich(_parse(EXAMPLE_TICKET), Catalog.load())
    assert json.loads(enriched.to_json()) == EXAMPLE_AFTER_PROCESSING
    assert list(json.loads(enriched.to_json())) == list(EXAMPLE_AFTER_PROCESSING)


def test_totals_are_exact_to_the_cent() -> None:
    assert total_price([0.1, 0.2]) == 0.3
    assert total_price([1.1, 2.2, 3.3]) == 6.6
    assert total_price([0.0]) == 0.0


def test_unknown_products_are_kept_as_other() -> None:
    products = [{"id": "1", "name": "Chocolate", "price": 2.0}]
    enriched = enrich(_parse(ticket("7", products=products)), Catalog.load())
    assert [(p.name, p.category) for p in enriched.products] == [("Chocolate", "Other")]


cents = st.integers(min_value=0, max_value=100_000_000)


@given(st.lists(cents, min_size=1, max_size=50))
def test_a_total_of_cent_prices_is_the_exact_sum(prices_in_cents: list[int]) -> None:
    prices = [c / 100 for c in prices_in_cents]
    assert Decimal(repr(total_price(prices))) == Decimal(sum(prices_in_cents)) / 100


@given(st.lists(st.floats(min_value=0, max_value=MAX_PRICE), min_size=1, max_size=50))
def test_any_total_is_the_decimal_sum_of_the_prices_as_written(prices: list[float]) -> None:
    assert total_price(prices) == float(sum((Decimal(repr(p)) for p in prices), Decimal(0)))
