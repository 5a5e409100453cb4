"""Stand-ins for Kafka and a store, for unit tests of the API and the worker: no network."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Message

from shopstream.analytics import Filters, Tally
from shopstream.errors import PublishError, StoreError, StoreUnavailable, TicketRefused
from shopstream.kafka.deadletters import Rejected
from shopstream.models import EnrichedTicket, purchase
from shopstream.stores import Added


def message(value: bytes | None, offset: int, partition: int = 0, key: bytes = b"k") -> Message:
    return Message(topic="tickets", partition=partition, offset=offset, key=key, value=value)


@dataclass
class FakeConsumer:
    """Hands out the batches it was given, and records what was marked and rewound."""

    batches: list[list[Message]] = field(default_factory=list)
    marked: list[Message] = field(default_factory=list)
    rewound: list[Message] = field(default_factory=list)
    subscribed: bool = False
    closed: bool = False

    def subscribe(self) -> None:
        self.subscribed = True

    def next_batch(self, max_messages: int, wait: float) -> list[Message]:
        return self.batches.pop(0) if self.batches else []

    def mark_stored(self, messages: Sequence[Message]) -> None:
        self.marked.extend(messages)

    def rewind(self, messages: Sequence[Message]) -> None:
        self.rewound.extend(messages)

    def close(self) -> None:
        self.closed = True


@dataclass
class FakeDeadLetters:
    """Keeps the letters; ``failing`` sends raise as if the topic did not acknowledge."""

    letters: list[Rejected] = field(default_factory=list)
    failing: int = 0

    def send(self, rejected: Sequence[Rejected]) -> None:
        if self.failing:
            self.failing -= 1
            raise PublishError("dead-letter topic did not take 1 messages")
        self.letters.extend(rejected)

    def close(self) -> None:
        pass

    def reasons(self) -> dict[int, str]:
        """Offset of each letter's message -> its reason."""
        return {letter.message.offset() or 0: letter.reason for letter in self.letters}


@dataclass
class MemoryStore:
    """A store in a dict that may refuse some tickets, be unavailable, or break for good."""

    kept: dict[str, EnrichedTicket] = field(default_factory=dict)
    refuses: Callable[[EnrichedTicket], bool] = lambda _: False
    unavailable: int = 0  # the next this many adds fail as if the database were down
    broken: bool = False
    calls: int = 0

    def open(self) -> None:
        pass

    def add(self, tickets: Sequence[EnrichedTicket]) -> Added:
        self.calls += 1
        if self.broken:
            raise StoreError("no such table: tickets")
        if self.unavailable:
            self.unavailable -= 1
            raise StoreUnavailable("database is locked")
        if any(self.refuses(t) for t in tickets):
            raise TicketRefused("CHECK constraint failed: no_poison")
        fresh = [t for t in tickets if t.id not in self.kept]
        conflicts = [
            t.id for t in tickets if t.id in self.kept and purchase(self.kept[t.id]) != purchase(t)
        ]
        self.kept.update((t.id, t) for t in fresh)
        return Added(len(fresh), conflicts)

    def missing(self, ids: Iterable[str]) -> set[str]:
        return set(ids) - set(self.kept)

    def count(self) -> int:
        return len(self.kept)

    def tally(self, filters: Filters) -> Tally:
        return Tally()

    def tickets(self) -> Iterator[EnrichedTicket]:
        return iter(self.kept.values())

    def close(self) -> None:
        pass


class FakePublisher:
    """Records what would have gone to Kafka; can be told to fail."""

    def __init__(self) -> None:
        self.published: list[tuple[str, bytes]] = []
        self.failure: PublishError | None = None
        self.is_ready = True

    async def publish(self, messages: Sequence[tuple[str, bytes]]) -> None:
        if self.failure is not None:
            raise self.failure
        self.published.extend(messages)

    async def ready(self) -> bool:
        return self.is_ready

    def queued(self) -> int:
        return 0


def post_scope(path: str, *headers: tuple[bytes, bytes]) -> dict[str, Any]:
    """The ASGI scope of a JSON ``POST`` to ``path``, for driving the app by hand."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "scheme": "http",
        "root_path": "",
    }
