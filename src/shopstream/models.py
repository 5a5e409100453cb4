"""The ticket schema: what a till sends (``Ticket``) and what is stored (``EnrichedTicket``).

Validation is strict on purpose: a price sent as a string, a date that is not a calendar
date or a field nobody asked for is refused with an error naming it, rather than guessed
at. Ids may be strings or integers and are always stored as strings.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, GetPydanticSchema, WithJsonSchema
from pydantic_core import PydanticCustomError, core_schema

from shopstream.catalog import UNVERSIONED

MAX_PRODUCTS_PER_TICKET = 1000
MAX_PRICE = 1_000_000
MAX_TEXT_LENGTH = 200

# What text may hold, so that every store can keep it and every screen show it as sent.
# Text is trimmed of white space (Unicode's White_Space, as pydantic-core trims), then must
# be 1 to MAX_TEXT_LENGTH characters with no control character (C0, DEL, C1: NUL and line
# breaks included) and no noncharacter (U+FDD0..U+FDEF, U+xFFFE and U+xFFFF of every plane).
# Written as escapes that Rust's regex (pydantic-core) and Python's re read alike.
_WHITE_SPACE = r"\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
FORBIDDEN_CHARACTERS = r"\u0000-\u001f\u007f-\u009f\ufdd0-\ufdef\ufffe\uffff" + "".join(
    f"\\U{plane:04x}fffe\\U{plane:04x}ffff" for plane in range(1, 17)
)
"""The body of a regular-expression character class: what text may not hold."""
# Checked on the trimmed text: no forbidden character anywhere.
_ALLOWED_TRIMMED = rf"\A[^{FORBIDDEN_CHARACTERS}]*\z"
# The same rule on the text as sent, for the OpenAPI schema (and so for clients and fuzzers):
# white space around, at least one visible character, nothing forbidden in between.
_VISIBLE = rf"[^{FORBIDDEN_CHARACTERS}{_WHITE_SPACE}]"
# Its length too: JSON Schema's maxLength would count the white space around.
_ALLOWED_AS_SENT = (
    rf"^[{_WHITE_SPACE}]*{_VISIBLE}"
    rf"(?:[^{FORBIDDEN_CHARACTERS}]{{0,{MAX_TEXT_LENGTH - 2}}}{_VISIBLE})?[{_WHITE_SPACE}]*$"
)
TEXT_RULE = (
    f"text of 1 to {MAX_TEXT_LENGTH} characters once trimmed, "
    "with no control character or noncharacter"
)

# An integer id is stored as its decimal text, so it is bounded like text: at most
# MAX_TEXT_LENGTH characters, the minus sign included. JSON knows no integers apart from
# other numbers (JSON Schema's "integer" admits 7.0), so a whole number written with a
# fraction is that integer, as far as a float spells it exactly (2**53).
_MAX_ID = 10**MAX_TEXT_LENGTH - 1
_MIN_ID = -(10 ** (MAX_TEXT_LENGTH - 1) - 1)
_EXACT_FLOAT = 2**53


def _whole(value: float) -> int:
    # Exactly whole: pydantic's multiple_of tolerates a rounding error, and -8e-22 is no id.
    if not value.is_integer():
        raise PydanticCustomError("not_whole", "not a whole number")
    return int(value)


def _text_schema() -> core_schema.CoreSchema:
    return core_schema.custom_error_schema(
        core_schema.str_schema(
            min_length=1,
            max_length=MAX_TEXT_LENGTH,
            pattern=_ALLOWED_TRIMMED,
            strip_whitespace=True,
            strict=True,
        ),
        custom_error_type="text_type",
        custom_error_message=f"must be {TEXT_RULE}",
    )


# One schema that pydantic-core runs without calling back into Python for text (the usual
# case); an integer is turned into its text afterwards. It took validation of the example ticket
# from 13 to 5.5 µs against a Python before-validator with the same rules.
_IDENTIFIER = core_schema.no_info_after_validator_function(
    str,
    core_schema.union_schema(
        [
            _text_schema(),
            core_schema.int_schema(strict=True, ge=_MIN_ID, le=_MAX_ID),
            core_schema.no_info_after_validator_function(
                _whole,
                core_schema.float_schema(strict=True, ge=-_EXACT_FLOAT, le=_EXACT_FLOAT),
            ),
        ],
        custom_error_type="identifier_type",
        custom_error_message=(
            f"must be an integer of at most {MAX_TEXT_LENGTH} characters in decimal, or {TEXT_RULE}"
        ),
    ),
)
_TEXT_JSON_SCHEMA = {"type": "string", "pattern": _ALLOWED_AS_SENT}

Identifier = Annotated[
    str,
    GetPydanticSchema(lambda _source, _handler: _IDENTIFIER),
    WithJsonSchema(
        {"anyOf": [_TEXT_JSON_SCHEMA, {"type": "integer", "minimum": _MIN_ID, "maximum": _MAX_ID}]}
    ),
]
Text = Annotated[
    str,
    GetPydanticSchema(lambda _source, _handler: _text_schema()),
    WithJsonSchema(_TEXT_JSON_SCHEMA),
]
Price = Annotated[float, Field(strict=True, ge=0, le=MAX_PRICE, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Product(_Strict):
    id: Identifier
    name: Text
    price: Price


class Ticket(_Strict):
    """One purchase, as the till sends it to ``POST /data``."""

    id: Identifier
    store: Text
    date: Annotated[datetime.date, Field(strict=True)]
    products: Annotated[list[Product], Field(min_length=1, max_length=MAX_PRODUCTS_PER_TICKET)]


def as_message(ticket: Ticket) -> bytes:
    """The ticket's JSON as published to Kafka.

    pydantic-core's serializer gives bytes directly: 3.5 µs the example ticket against 5.0 for
    ``model_dump_json().encode()``, the same bytes (measured on 1000 tickets).
    """
    return Ticket.__pydantic_serializer__.to_json(ticket)


@dataclass(slots=True)
class EnrichedProduct:
    id: str
    name: str
    price: float
    category: str


@dataclass(slots=True)
class EnrichedTicket:
    """A ticket as stored: the input fields unchanged, plus ``total_price``, categories and
    the version of the list that gave them.

    A plain dataclass, not a model: it is only ever built by ``enrich`` from a validated
    ``Ticket``, and building a pydantic model again cost the worker more than validating
    the message did. Not frozen either: a frozen dataclass sets each field through
    ``object.__setattr__``, which made building one three times slower.
    """

    id: str
    store: str
    date: datetime.date
    total_price: float
    products: list[EnrichedProduct]
    catalog_version: str = UNVERSIONED
    """the hash of the category list the products were categorised with"""

    def to_json(self) -> bytes:
        """The stored JSON: the exercise's "after processing" shape, fields in this order."""
        return orjson.dumps(self)


Purchase = tuple[str, str, tuple[tuple[str, str, float], ...]]
"""What makes two copies of a ticket the same: store, ISO date and each product line as
(id, name, price). Not the categories or the total: those are derived, and the categories
follow the manager's list, which may change between two deliveries of one ticket."""


def purchase(ticket: EnrichedTicket) -> Purchase:
    return (
        ticket.store,
        ticket.date.isoformat(),
        tuple((p.id, p.name, p.price) for p in ticket.products),
    )


def example_ticket(ticket_id: str) -> dict[str, Any]:
    """The exercise's example basket: a banana, a bread and a water at 1.5 each."""
    return {
        "id": ticket_id,
        "store": "Brussels",
        "date": "2020-01-01",
        "products": [
            {"id": "123456789", "name": "Banana", "price": 1.5},
            {"id": "123456789", "name": "Bread", "price": 1.5},
            {"id": "123456789", "name": "Water", "price": 1.5},
        ],
    }
