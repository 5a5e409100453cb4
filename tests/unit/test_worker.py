"""The worker's at-least-once core, with fakes for Kafka and the store.

Every message of a batch ends in exactly one place: the store, the dead-letter topic, or
back on the topic (nothing marked) when the store or Kafka cannot take it now.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from confluent_kafka import Message

from shopstream.catalog import Catalog
from shopstream.config import Settings
from shopstream.errors import StoreError
from shopstream.models import EnrichedTicket
from shopstream.worker import Worker, parse
from tests.helpers import ticket
from tests.unit.fakes import FakeConsumer, FakeDeadLetters, MemoryStore, message

CATALOG = Catalog.load()


def _ticket_message(offset: int, ticket_id: str | None = None, **changes: Any) -> Message:
    body = ticket(ticket_id or f"t{offset}", **changes)
    return message(json.dumps(body).encode(), offset)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def consumer() -> FakeConsumer:
    return FakeConsumer()


@pytest.fixture
def letters() -> FakeDeadLetters:
    return FakeDeadLetters()


@pytest.fixture
def worker(store: MemoryStore, consumer: FakeConsumer, letters: FakeDeadLetters) -> Worker:
    worker = Worker(Settings(), store, CATALOG, consumer, letters)
    worker._pause = lambda: None  # type: ignore[method-assign]  # no back-off in unit tests
    return worker


def test_a_batch_is_stored_then_marked(
    worker: Worker, store: MemoryStore, consumer: FakeConsumer, letters: FakeDeadLetters
) -> None:
    batch = [_ticket_message(n) for n in range(5)]
    worker.handle(batch)
    assert sorted(store.kept) == [f"t{n}" for n in range(5)]
    assert consumer.marked == batch
    assert letters.letters == []
    assert worker.stored == 5


def test_messages_that_are_not_tickets_are_dead_lettered_with_their_reason(
    worker: Worker, store: MemoryStore, consumer: FakeConsumer, letters: FakeDeadLetters
) -> None:
    batch = [
        message(b"not json", 0),
        message(b"", 1),
        message(b'{"id": "x"}', 2),
        _ticket_message(3),
    ]
    worker.handle(batch)
    assert set(store.kept) == {"t3"}
    reasons = letters.reasons()
    assert reasons[0].startswith("not a valid ticket")
    assert reasons[1] == "empty message"
    assert "store" in reasons[2]
    assert "products" in reasons[2]
    assert consumer.marked == batch


def test_a_reason_naming_a_field_the_sender_chose_holds_no_control_character(
    worker: Worker, letters: FakeDeadLetters
) -> None:
    body = {**ticket("x"), "\x1b[31mred\nFAKE LOG LINE": 1}
    worker.handle([message(json.dumps(body).encode(), 0)])
    [reason] = letters.reasons().values()
    assert "\\x1b[31mred\\nFAKE LOG LINE" in reason
    assert reason.isprintable()


def test_a_store_that_is_down_gets_the_batch_again_and_nothing_is_marked(
    worker: Worker, store: MemoryStore, consumer: FakeConsumer, letters: FakeDeadLetters
) -> None:
    store.unavailable = 2
    batch = [_ticket_message(n) for n in range(3)]
    worker.handle(batch)
    worker.handle(batch)
    assert consumer.marked == []
    assert consumer.rewound == batch + batch
    assert letters.letters == []
    worker.handle(batch)
    assert consumer.marked == batch
    assert len(store.kept) == 3


def test_a_ticket_the_store_refuses_for_good_is_isolated_and_the_rest_stored(
    worker: Worker, store: MemoryStore, consumer: FakeConsumer, letters: FakeDeadLetters
) -> None:
    store.refuses = lambda t: t.store == "Poison"
    batch = [_ticket_message(n) for n in range(64)]
    batch[37] = _ticket_message(37, store="Poison")
    worker.handle(batch)
    assert len(store.kept) == 63
    assert "t37" not in store.kept
    assert letters.reasons() == {37: "the store refused it: CHECK constraint failed: no_poison"}
    assert consumer.marked == batch
    # Halving finds one culprit among 64 in 1 + 2 * log2(64) writes, not one per ticket.
    assert store.calls <= 13


def test_several_poison_tickets_are_each_dead_lettered(
    worker: Worker, store: MemoryStore, letters: FakeDeadLetters
) -> None:
    store.refuses = lambda t: t.store == "Poison"
    batch = [_ticket_message(n, store="Poison" if n % 10 == 0 else "Ghent") for n in range(30)]
    worker.handle(batch)
    assert sorted(letters.reasons()) == [0, 10, 20]
    assert len(store.kept) == 27


def test_a_store_broken_for_good_stops_the_worker_without_marking(
    worker: Worker, store: MemoryStore, consumer: FakeConsumer, letters: FakeDeadLetters
) -> None:
    store.broken = True
    with pytest.raises(StoreError, match="no such table"):
        worker.handle([_ticket_message(0)])
    assert consumer.marked == []
    assert letters.letters == []


def test_the_same_ticket_again_is_a_harmless_duplicate(
    worker: Worker, store: MemoryStore, letters: FakeDeadLetters
) -> None:
    worker.handle([_ticket_message(0, "same")])
    worker.handle([_ticket_message(1, "same"), _ticket_message(2, "same")])
    assert list(store.kept) == ["same"]
    assert letters.letters == []
    assert worker.stored == 1


def test_the_same_id_with_another_purchase_is_an_id_conflict(
    worker: Worker, store: MemoryStore, consumer: FakeConsumer, letters: FakeDeadLetters
) -> None:
    worker.handle([_ticket_message(0, "42")])
    worker.handle([_ticket_message(1, "42", store="Ghent")])
    assert store.kept["42"].store == "Brussels"  # the first stored copy stays
    assert letters.reasons() == {1: "id conflict: a ticket with id 42 and other content came first"}
    assert len(consumer.marked) == 2


@pytest.mark.parametrize(
    ("batches", "stored", "dead_lettered"),
    [
        ([["A", "B"]], "A", [1]),  # within one batch, the first copy stays
        ([["Brussels"], ["B", "B", "B"]], "Brussels", [1, 2, 3]),  # each copy of a conflict
        ([["Brussels"], ["B", "Brussels"]], "Brussels", [1]),  # a twin of the stored: harmless
        ([["Poison", "Poison", "Poison"]], None, [0, 1, 2]),  # each copy of a refused one
        ([["Poison", "A"]], "A", [0]),  # after a refused copy, another may be stored
    ],
)
def test_copies_of_one_id_each_end_stored_harmless_or_dead_lettered(
    worker: Worker,
    store: MemoryStore,
    letters: FakeDeadLetters,
    batches: list[list[str]],
    stored: str | None,
    dead_lettered: list[int],
) -> None:
    """Each copy of ticket 7, given by its store's name, in batches handed out in turn."""
    store.refuses = lambda t: t.store == "Poison"
    offsets = iter(range(100))
    for batch in batches:
        worker.handle([_ticket_message(next(offsets), "7", store=name) for name in batch])
    assert (store.kept["7"].store if "7" in store.kept else None) == stored
    assert sorted(letters.reasons()) == dead_lettered


def test_an_integer_id_and_its_text_are_the_same_ticket(
    worker: Worker, store: MemoryStore, letters: FakeDeadLetters
) -> None:
    worker.handle([message(json.dumps(ticket(1)).encode(), 0)])
    worker.handle([message(json.dumps(ticket("1")).encode(), 1)])
    assert list(store.kept) == ["1"]
    assert letters.letters == []


def test_a_dead_letter_topic_that_does_not_answer_gets_the_batch_again(
    worker: Worker, store: MemoryStore, consumer: FakeConsumer, letters: FakeDeadLetters
) -> None:
    letters.failing = 1
    batch = [message(b"junk", 0), _ticket_message(1)]
    worker.handle(batch)
    assert consumer.marked == []
    assert consumer.rewound == batch
    worker.handle(batch)
    assert consumer.marked == batch
    assert list(letters.reasons()) == [0]
    assert list(store.kept) == ["t1"]  # stored once, though written twice


def test_the_largest_ticket_is_stored_whatever_the_size_settings() -> None:
    """The worker takes any message its topic carries: no size limit below the API's."""
    products = [{"id": str(n), "name": "x" * 200, "price": 1.0} for n in range(1000)]
    big = message(json.dumps(ticket("big", products=products)).encode(), 0)
    assert len(big.value() or b"") > 200_000
    tickets, rejected = parse([big], CATALOG)
    assert rejected == []
    assert tickets[0].ticket.id == "big"


def test_parse_enriches_every_product(store: MemoryStore, worker: Worker) -> None:
    worker.handle([_ticket_message(0)])
    stored: EnrichedTicket = store.kept["t0"]
    assert [p.category for p in stored.products] == ["Fruit", "Bakery", "Drink"]
    assert stored.total_price == 4.5


def test_run_subscribes_handles_until_stopped_then_closes(
    worker: Worker, store: MemoryStore, consumer: FakeConsumer
) -> None:
    consumer.batches = [[_ticket_message(0)], [_ticket_message(1)]]
    original = consumer.next_batch

    def stop_when_drained(max_messages: int, wait: float) -> list[Message]:
        if not consumer.batches:
            worker.stop()
        return original(max_messages, wait)

    consumer.next_batch = stop_when_drained  # type: ignore[method-assign]
    worker.run()
    assert consumer.subscribed
    assert consumer.closed
    assert sorted(store.kept) == ["t0", "t1"]


class _ChangingList:
    """A list source whose list the test replaces, as CatalogFile does when the file changes."""

    def __init__(self) -> None:
        self.catalog = CATALOG

    def current(self) -> Catalog:
        return self.catalog


def test_each_batch_is_categorised_with_the_list_in_force(
    store: MemoryStore, consumer: FakeConsumer, letters: FakeDeadLetters
) -> None:
    source = _ChangingList()
    worker = Worker(Settings(), store, source, consumer, letters)
    milk = [{"id": "1", "name": "Milk", "price": 1.0}]
    worker.handle([_ticket_message(0, products=milk)])
    source.catalog = Catalog.from_manager_list({"Drink": "milk"})
    worker.handle([_ticket_message(1, products=milk)])
    assert [store.kept[t].products[0].category for t in ("t0", "t1")] == ["Other", "Drink"]
    versions = [store.kept[t].catalog_version for t in ("t0", "t1")]
    assert versions == [CATALOG.version.hash, source.catalog.version.hash]
