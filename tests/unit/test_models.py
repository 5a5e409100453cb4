"""Every validation rule of a ticket, each with a case that breaks it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from shopstream.models import MAX_PRODUCTS_PER_TICKET, Ticket, as_message
from tests.helpers import EXAMPLE_TICKET, ticket


def _errors(body: dict[str, Any] | str) -> dict[str, str]:
    raw = body if isinstance(body, str) else json.dumps(body)
    with pytest.raises(ValidationError) as caught:
        Ticket.model_validate_json(raw)
    return {".".join(map(str, e["loc"])): e["type"] for e in caught.value.errors()}


def test_the_seed_ticket_is_valid() -> None:
    parsed = Ticket.model_validate_json(json.dumps(EXAMPLE_TICKET))
    assert parsed.id == "123456789"
    assert [p.name for p in parsed.products] == ["Banana", "Bread", "Water"]


def test_an_integer_id_is_kept_as_a_string() -> None:
    assert Ticket.model_validate_json(json.dumps(ticket(42))).id == "42"


def test_the_published_message_is_the_validated_ticket_normalised() -> None:
    sent = ticket(42, store="  Brussels ", date="2020-01-01")
    parsed = Ticket.model_validate_json(json.dumps(sent))
    assert json.loads(as_message(parsed)) == {**sent, "id": "42", "store": "Brussels"}
    assert as_message(parsed) == parsed.model_dump_json().encode()


@pytest.mark.parametrize("bad_id", [True, 1.5, None, "", [1], {"a": 1}])
def test_id_must_be_a_non_empty_string_or_an_integer(bad_id: object) -> None:
    assert "id" in _errors({**EXAMPLE_TICKET, "id": bad_id})


@pytest.mark.parametrize("store", ["", "   ", 5, None])
def test_store_must_be_non_empty_text(store: object) -> None:
    assert "store" in _errors({**EXAMPLE_TICKET, "store": store})


@pytest.mark.parametrize(
    "date", ["2020-02-30", "2020-13-01", "01/01/2020", "2020-01-01T10:00:00", 20200101, "", None]
)
def test_date_must_be_a_real_iso_date(date: object) -> None:
    assert "date" in _errors({**EXAMPLE_TICKET, "date": date})


def test_products_must_be_a_non_empty_bounded_list() -> None:
    assert "products" in _errors({**EXAMPLE_TICKET, "products": []})
    assert "products" in _errors({**EXAMPLE_TICKET, "products": "Banana"})
    many = [{"id": "1", "name": "Banana", "price": 1.0}] * (MAX_PRODUCTS_PER_TICKET + 1)
    assert "products" in _errors({**EXAMPLE_TICKET, "products": many})


@pytest.mark.parametrize("price", ["1.5", -0.01, None, True, 1e7])
def test_price_must_be_a_number_from_zero_to_the_maximum(price: object) -> None:
    product = {"id": "1", "name": "Banana", "price": price}
    assert "products.0.price" in _errors({**EXAMPLE_TICKET, "products": [product]})


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_price_must_be_finite(literal: str) -> None:
    raw = json.dumps(EXAMPLE_TICKET).replace('"price": 1.5', f'"price": {literal}', 1)
    assert "products.0.price" in _errors(raw)


def test_a_zero_or_integer_price_is_fine() -> None:
    products = [{"id": "1", "name": "Bag", "price": 0}, {"id": 2, "name": "Cake", "price": 3}]
    parsed = Ticket.model_validate_json(json.dumps({**EXAMPLE_TICKET, "products": products}))
    assert [p.price for p in parsed.products] == [0.0, 3.0]
    assert parsed.products[1].id == "2"


@pytest.mark.parametrize("name", ["", "  ", 7, None])
def test_product_name_must_be_non_empty_text(name: object) -> None:
    product = {"id": "1", "name": name, "price": 1.0}
    assert "products.0.name" in _errors({**EXAMPLE_TICKET, "products": [product]})


def test_unknown_fields_are_refused_by_name() -> None:
    assert "coupon" in _errors({**EXAMPLE_TICKET, "coupon": "X"})
    product = {"id": "1", "name": "Banana", "price": 1.0, "weight": 3}
    assert "products.0.weight" in _errors({**EXAMPLE_TICKET, "products": [product]})


def test_missing_fields_are_named() -> None:
    assert set(_errors({"id": "1"})) == {"store", "date", "products"}


def test_not_json_is_refused() -> None:
    assert _errors("{not json")


@pytest.mark.parametrize(
    "good_id", [0, -1, 2**63 - 1, 2**63, -(2**63), 2**64, 10**200 - 1, -(10**199 - 1)]
)
def test_an_integer_id_of_up_to_200_characters_is_fine(good_id: int) -> None:
    assert Ticket.model_validate_json(json.dumps(ticket(good_id))).id == str(good_id)


@pytest.mark.parametrize(("sent", "stored"), [(7.0, "7"), (-3.0, "-3"), (2.0**53, str(2**53))])
def test_a_whole_number_written_with_a_fraction_is_that_integer(sent: float, stored: str) -> None:
    """JSON Schema's "integer" admits 7.0: a client following the schema may send it."""
    assert Ticket.model_validate_json(json.dumps(ticket(sent))).id == stored


@pytest.mark.parametrize(
    "bad_id", [10**200, -(10**199), 10**249, 2.0**54, 7.5, 1e300, -8.105912169624336e-22, 1e-300]
)
def test_an_integer_id_longer_than_200_characters_is_refused(bad_id: int) -> None:
    assert "id" in _errors(ticket(bad_id))


_CONTROLS = ["\x00", "\x07", "a\nb", "a\tb", "\x1b[31m", "\x7f", "\x85x\x85y", "\x9f"]
_NONCHARACTERS = ["\ufdd0", "\ufdef", "\ufffe", "\uffff", "\U0001fffe", "\U0010ffff"]


@pytest.mark.parametrize("text", ["a" + t + "b" for t in _CONTROLS + _NONCHARACTERS])
@pytest.mark.parametrize("where", ["id", "store", "products.0.name", "products.0.id"])
def test_control_characters_and_noncharacters_are_refused_naming_the_field(
    text: str, where: str
) -> None:
    body = json.loads(json.dumps(EXAMPLE_TICKET))
    if where.startswith("products"):
        body["products"][0][where.rsplit(".", 1)[1]] = text
    else:
        body[where] = text
    assert where in _errors(body)


@pytest.mark.parametrize(
    "text", ["🍌 Banana", "\u202eananab", "Café au lait", "パン", "a\u00a0b", "x" * 200]
)
def test_emoji_bidi_marks_and_any_language_are_kept_as_sent(text: str) -> None:
    parsed = Ticket.model_validate_json(json.dumps(ticket("1", store=text)))
    assert parsed.store == text


def test_white_space_around_text_is_trimmed_even_a_line_break() -> None:
    parsed = Ticket.model_validate_json(json.dumps(ticket("1", store="\n Brussels\t\u3000")))
    assert parsed.store == "Brussels"


def test_the_refusal_says_what_text_may_hold() -> None:
    with pytest.raises(ValidationError) as caught:
        Ticket.model_validate_json(json.dumps(ticket("1", store="a\x00")))
    assert "no control character" in caught.value.errors()[0]["msg"]
