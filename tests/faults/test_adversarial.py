"""Hostile and odd tickets against the running pipeline, on each of the three stores.

hypothesis makes requests at the edges: huge, negative and 64-bit-boundary integers,
control, bidi and noncharacters, emoji, maximum lengths, bodies at the size limit that
grow when published, batches mixing good and oversized tickets, ids sent as ``1`` and
``"1"``, the same id again with the same or other content. Each request must end refused
(a 4xx, nothing stored) or accepted (a 2xx, then stored once with the posted content, or,
for an id already stored with another purchase, dead-lettered as an id conflict). No
answer may be a 5xx, and afterwards the pipeline must still store a new ticket.

A model decides what each answer must be: the same ``Ticket`` validation and published
size the API applies. The API and the worker share that one definition of valid, so
every ticket the model accepts must end in the store.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shopstream.models import Purchase, Ticket, as_message, purchase
from shopstream.supervise import wait_for
from testbed.pipeline import REPO, MakePipeline, Pipeline
from testbed.postgres import PostgresServer
from tests.helpers import shopstream, ticket

pytestmark = pytest.mark.faults

MAX_TICKET_BYTES = 8192
EXAMPLES = 300
SUMMARY = REPO / "artifacts" / "adversarial-summary.txt"
_LINES: list[str] = []

_EDGE_TEXT = [
    "a", " padded ", "\u202eevil", "🍌 Banana", "パン", "Ωmega", "x" * 200, "x" * 201, "",
    "   ", "\x00", "a\x00b", "a\nb", "\ttab", "\x1b[31mred", "\x7f", "\x85", "\ufdd0",
    "\uffff", "\U0001fffe", "\U0010ffff", "\u2028", "\u00a0nbsp\u00a0", "[/b]", "[link=x]y",
    "<b>bold</b>", '"quoted"', "back\\slash", "\u0301", "\ufeffbom", "\ud800lone",
]  # fmt: skip
_EDGE_INTEGERS = [
    0, 1, -1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64,
    10**199, 10**200 - 1, 10**200, -(10**199 - 1), -(10**199), 10**250,
]  # fmt: skip


def _valid_text(text: str) -> bool:
    try:
        Ticket.model_validate_json(json.dumps(ticket("1", store=text)))
    except ValidationError:
        return False
    return True


_SHARED_IDS = [1, "1", " 1 ", "dup", "dup ", 2**63]

_VALID_EDGE_TEXT = [t for t in _EDGE_TEXT if _valid_text(t)]
texts = st.one_of(st.sampled_from(_EDGE_TEXT), st.text(max_size=210))
valid_texts = st.one_of(
    st.sampled_from(_VALID_EDGE_TEXT),
    st.text(st.characters(exclude_categories=["Cc", "Cs"]), min_size=1, max_size=200).filter(
        _valid_text
    ),
)
identifiers = st.one_of(
    st.sampled_from(_SHARED_IDS),
    st.sampled_from(_EDGE_INTEGERS),
    st.integers(),
    texts,
    st.sampled_from([True, None, 1.5, [], {}]),
)
prices = st.one_of(
    st.sampled_from([0, 0.0, -0.0, 1, 1.5, 0.1, 1e6, 1e6 + 0.01, -0.01, 5e-324, 123456.789]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-10, max_value=2 * 10**6),
    st.sampled_from(["1.5", None, True]),
)
dates = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from(["2020-02-30", "0000-01-01", "9999-12-31", "2020-1-1", "", 20200101]),
)
products = st.fixed_dictionaries({"id": identifiers, "name": texts, "price": prices})
valid_identifiers = st.one_of(
    st.sampled_from([i for i in _EDGE_INTEGERS if len(str(i)) <= 200]),
    st.integers(),
    st.integers(),
    valid_texts,
    valid_texts,
)
valid_products = st.fixed_dictionaries(
    {
        "id": valid_identifiers,
        "name": valid_texts,
        "price": st.one_of(
            st.sampled_from([0, 0.0, -0.0, 1, 0.1, 1e6, 5e-324, 123456.789]),
            st.floats(min_value=0, max_value=1e6),
            st.integers(min_value=0, max_value=10**6),
        ),
    }
)
valid_tickets = st.fixed_dictionaries(
    {
        "id": valid_identifiers,
        "store": valid_texts,
        "date": st.dates().map(lambda d: d.isoformat()),
        "products": st.lists(valid_products, min_size=1, max_size=4),
    }
)


def _near_the_limit(count: int) -> dict[str, Any]:
    """A ticket whose body is under MAX_TICKET_BYTES and whose published form may not be."""
    lines = [{"id": n, "name": "B", "price": 1} for n in range(count)]
    return ticket(1_000_000 + count, products=lines)


def _own_id(body: dict[str, Any], suffix: int) -> dict[str, Any]:
    """The ticket under an id of its own, still holding its edge text or digits."""
    return {**body, "id": f"{str(body['id']).strip()[:180]}~{suffix}"}


tickets = st.one_of(
    valid_tickets,  # accepted at the edges: each must be stored as sent
    st.builds(_own_id, valid_tickets, st.integers(min_value=0, max_value=10**12)),
    st.builds(_own_id, valid_tickets, st.integers(min_value=0, max_value=10**12)),
    valid_tickets.map(lambda body: {**body, "id": _SHARED_IDS[len(str(body["id"])) % 6]}),
    st.fixed_dictionaries(
        {
            "id": identifiers,
            "store": texts,
            "date": dates,
            "products": st.lists(products, min_size=0, max_size=4),
        }
    ),
    st.builds(ticket, identifiers, store=texts),  # mostly valid: one field at the edge
    st.integers(min_value=200, max_value=260).map(_near_the_limit),
)


@dataclass
class Expected:
    """What the model says the store and the dead-letter topic must end up holding."""

    first: dict[str, Purchase] = field(default_factory=dict)
    tickets: int = 0  # accepted, counting every copy
    conflicts: Counter[str] = field(default_factory=Counter)
    answers: Counter[str] = field(default_factory=Counter)
    refused_ids: set[str] = field(default_factory=set)

    def accept(self, parsed: Ticket) -> None:
        mine = _purchase(parsed)
        self.tickets += 1
        if parsed.id not in self.first:
            self.first[parsed.id] = mine
        elif self.first[parsed.id] != mine:
            self.conflicts[parsed.id] += 1


def _purchase(parsed: Ticket) -> Purchase:
    lines = tuple((p.id, p.name, p.price) for p in parsed.products)
    return parsed.store, parsed.date.isoformat(), lines


def _model(bodies: list[Any]) -> tuple[int, list[Ticket]]:
    """The status the API must answer for these tickets, and the tickets it then accepts."""
    parsed: list[Ticket] = []
    for body in bodies:
        try:
            parsed.append(Ticket.model_validate_json(json.dumps(body)))
        except ValidationError:
            return 422, []
    if any(len(as_message(t)) > MAX_TICKET_BYTES for t in parsed):
        return 413, []
    return 202, parsed


def _ids_in(bodies: list[Any]) -> set[str]:
    return {str(b.get("id")).strip() for b in bodies if isinstance(b, dict)}


@dataclass
class Adversary:
    pipeline: Pipeline
    client: httpx2.Client
    expected: Expected = field(default_factory=Expected)

    def send(self, bodies: list[Any], batch: bool) -> None:
        status, accepted = _model(bodies)
        if batch:
            response = self.client.post("/data/batch", content=_json(bodies), headers=_JSON)
        else:
            response = self.client.post("/data", content=_json(bodies[0]), headers=_JSON)
        assert response.status_code < 500, response.text
        if 400 <= response.status_code < 500:
            assert response.json().get("detail"), f"a {response.status_code} without a reason"
        assert response.status_code == status, (bodies, response.text)
        self.expected.answers[str(response.status_code)] += 1
        for parsed in accepted:
            self.expected.accept(parsed)
        if not accepted:
            self.expected.refused_ids |= _ids_in(bodies)


_JSON = {"content-type": "application/json"}


def _json(body: Any) -> bytes:
    """Compact, as tills send it (so a body near the limit grows when published), in UTF-8.

    A lone surrogate goes out as its escape: it is not UTF-8, and JSON has no other way.
    """
    return json.dumps(body, separators=(",", ":")).encode()


def _kind(database_url: str) -> str:
    return database_url.split("://")[0] if "://" in database_url else "json"


def _dead_letter_ids(pipeline: Pipeline) -> Counter[str]:
    result = shopstream("dlq", "list", "--json", env=pipeline.env, cwd=pipeline.workdir)
    assert result.returncode == 0, result.stderr
    letters = [json.loads(line) for line in result.stdout.splitlines()]
    return Counter(str(x["key"]) for x in letters if str(x["reason"]).startswith("id conflict"))


@pytest.fixture(params=["json", "sqlite", "postgres"])
def attacked(request: pytest.FixtureRequest, make_pipeline: MakePipeline) -> Iterator[Adversary]:
    if request.param == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres")
        url = server.new_database()
    elif request.param == "sqlite":
        url = f"sqlite:///{request.getfixturevalue('tmp_path') / 'shop.db'}"
    else:
        url = None
    pipeline = make_pipeline(url, MAX_TICKET_BYTES=str(MAX_TICKET_BYTES))
    pipeline.start_api()
    pipeline.start_worker()
    with httpx2.Client(base_url=pipeline.url, timeout=30) as client:
        yield Adversary(pipeline, client)


def test_every_answer_is_kept_by_the_store(attacked: Adversary) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(tickets, min_size=1, max_size=4), st.booleans())
    def attack(bodies: list[Any], batch: bool) -> None:
        attacked.send(bodies if batch else bodies[:1], batch)

    attack()
    expected, pipeline = attacked.expected, attacked.pipeline
    # The same id again: the same purchase (a harmless duplicate), then another one.
    for ticket_id in list(expected.first)[:5]:
        again = ticket(ticket_id, store="Elsewhere")
        attacked.send([again], batch=False)

    pipeline.wait_stored(sorted(expected.first), timeout=120)
    fresh = ticket("after-the-attack")
    attacked.send([fresh], batch=False)
    pipeline.wait_stored(["after-the-attack"], timeout=60)
    expected.first.pop("after-the-attack")

    stored = [(t.id, purchase(t)) for t in pipeline.store.tickets()]
    copies = Counter(ticket_id for ticket_id, _ in stored)
    duplicated = [i for i, n in copies.items() if n > 1]
    stored_once = {ticket_id: found for ticket_id, found in stored}
    stored_once.pop("after-the-attack")
    lost = set(expected.first) - set(stored_once)
    refused_but_stored = (expected.refused_ids - set(expected.first)) & set(stored_once)
    assert duplicated == []
    assert lost == set()
    assert refused_but_stored == set()
    assert set(stored_once) == set(expected.first)
    for ticket_id, posted in expected.first.items():
        assert stored_once[ticket_id] == posted, ticket_id
    letters: Counter[str] = Counter()

    def conflicts_dead_lettered() -> bool:
        letters.clear()
        letters.update(_dead_letter_ids(pipeline))
        return letters == expected.conflicts

    try:
        wait_for(conflicts_dead_lettered, 60, "every id conflict dead-lettered")
    except AssertionError:
        missing, extra = expected.conflicts - letters, letters - expected.conflicts
        raise AssertionError(
            f"id conflicts not dead-lettered {missing}, unexpected {extra}"
        ) from None
    finally:
        kind = _kind(pipeline.env["DATABASE_URL"])
        line = (
            f"{kind:<10} cases {sum(expected.answers.values()):>4}  answers "
            f"{dict(sorted(expected.answers.items()))}  tickets accepted {expected.tickets}, "
            f"ids {len(expected.first)}  "
            f"stored {len(stored_once)}  id conflicts {sum(expected.conflicts.values())} "
            f"(dead-lettered {sum(letters.values())})  lost {len(lost)}  "
            f"duplicated {len(duplicated)}  stalled 0"
        )
        print(line)
        _LINES.append(line)
        SUMMARY.parent.mkdir(exist_ok=True)
        SUMMARY.write_text("\n".join(_LINES) + "\n")
