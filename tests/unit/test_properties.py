"""Property-based tests: validation, name matching and storage hold for generated inputs."""

from __future__ import annotations

import json
import re
import string
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shopstream.catalog import UNCATEGORISED, Catalog, normalise
from shopstream.models import FORBIDDEN_CHARACTERS, MAX_PRICE, MAX_TEXT_LENGTH, Ticket
from shopstream.stores import JsonFileStore
from tests.unit.storedata import enriched

CATALOG = Catalog.load()
KNOWN = {
    "apple": "Fruit",
    "banana": "Fruit",
    "orange": "Fruit",
    "pear": "Fruit",
    "kiwi": "Fruit",
    "bread": "Bakery",
    "croissant": "Bakery",
    "baguette": "Bakery",
    "cake": "Bakery",
    "water": "Drink",
    "soda": "Drink",
    "beer": "Drink",
    "wine": "Drink",
}

_FORBIDDEN = re.compile(f"[{FORBIDDEN_CHARACTERS}]")
allowed_character = st.characters(exclude_categories=["Cs"]).filter(
    lambda c: not _FORBIDDEN.match(c)
)
text = st.text(allowed_character, min_size=1, max_size=MAX_TEXT_LENGTH).filter(
    lambda s: s.strip() == s and s
)
identifier = st.one_of(text, st.integers(min_value=-(2**63), max_value=2**63 - 1))
price = st.one_of(
    st.integers(min_value=0, max_value=MAX_PRICE),
    st.floats(min_value=0, max_value=MAX_PRICE, allow_nan=False, allow_infinity=False),
)
product = st.fixed_dictionaries({"id": identifier, "name": text, "price": price})
ticket = st.fixed_dictionaries(
    {
        "id": identifier,
        "store": text,
        "date": st.dates().map(lambda d: d.isoformat()),
        "products": st.lists(product, min_size=1, max_size=20),
    }
)


@given(ticket)
def test_every_valid_ticket_is_accepted_as_sent(body: dict[str, Any]) -> None:
    parsed = Ticket.model_validate_json(json.dumps(body))
    assert parsed.id == str(body["id"])
    assert parsed.store == body["store"]
    assert parsed.date.isoformat() == body["date"]
    assert [p.price for p in parsed.products] == [float(p["price"]) for p in body["products"]]


invalid_fields = st.sampled_from(
    [
        ("id", True),
        ("id", 1.5),
        ("id", ""),
        ("store", ""),
        ("store", 7),
        ("date", "2021-02-29"),
        ("date", "yesterday"),
        ("products", []),
        ("products", {}),
    ]
)
invalid_prices = st.one_of(
    st.floats(max_value=-0.001, allow_nan=False, allow_infinity=False),
    st.floats(min_value=MAX_PRICE + 1, allow_infinity=False),
    st.text(max_size=5),
    st.booleans(),
    st.none(),
)


@given(ticket, invalid_fields)
def test_a_bad_field_is_refused_by_name(body: dict[str, Any], bad: tuple[str, Any]) -> None:
    field, value = bad
    with pytest.raises(ValidationError) as caught:
        Ticket.model_validate_json(json.dumps({**body, field: value}))
    assert field in {str(e["loc"][0]) for e in caught.value.errors()}


@given(ticket, invalid_prices, st.data())
def test_a_bad_price_is_refused_by_its_place(
    body: dict[str, Any], bad_price: object, data: st.DataObject
) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(body["products"]) - 1))
    products = [dict(p) for p in body["products"]]
    products[index]["price"] = bad_price
    with pytest.raises(ValidationError) as caught:
        Ticket.model_validate_json(json.dumps({**body, "products": products}))
    assert ("products", index, "price") in {e["loc"] for e in caught.value.errors()}


spaces = st.text(alphabet=" \t", max_size=3)


@given(st.sampled_from(sorted(KNOWN)), st.data(), spaces, spaces)
def test_a_known_name_matches_whatever_its_case_and_spacing(
    name: str, data: st.DataObject, before: str, after: str
) -> None:
    cased = "".join(data.draw(st.sampled_from([c.lower(), c.upper()])) for c in name)
    assert CATALOG.category_of(f"{before}{cased}{after}") == KNOWN[name]


@given(st.text(alphabet=string.ascii_letters + " ", max_size=30))
def test_an_unknown_name_is_other(name: str) -> None:
    if normalise(name) not in KNOWN:
        assert CATALOG.category_of(name) == UNCATEGORISED


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.integers(min_value=0, max_value=30), max_size=10), max_size=8))
def test_the_json_store_keeps_each_id_once_and_stays_loadable(batches: list[list[int]]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "database.json"
        store = JsonFileStore(path)
        store.open()
        for batch in batches:
            store.add([enriched(str(i)) for i in batch])
            stored = [t["id"] for t in json.loads(path.read_text())]
            assert len(stored) == len(set(stored))
        store.close()
        expected = {str(i) for batch in batches for i in batch}
        assert {t["id"] for t in json.loads(path.read_text())} == expected
