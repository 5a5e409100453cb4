"""The worker: consume a batch -> enrich -> store -> dead-letter the rest -> mark offsets.

The order is the delivery guarantee. Offsets are marked for commit only after the store
has the batch durably and the dead-letter topic has acknowledged the rejects, so a crash
at any point re-reads messages rather than skipping them, and the store, idempotent by
ticket id, keeps one copy of each ticket.

A message ends in exactly one of three places: the store, the dead-letter topic (not a
ticket; a ticket the store refuses for good; an id already stored with other content), or
back on the topic for another try (the store or Kafka unavailable: nothing is marked, the
batch is read again after a back-off). A store that refuses a batch for good never stalls
the partition: the batch is split until the tickets at fault are found, the others stored.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from confluent_kafka import Message
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from shopstream.catalog import Catalog
from shopstream.config import Settings
from shopstream.enrich import enrich
from shopstream.errors import (
    ConfigurationError,
    PublishError,
    ShopstreamError,
    StoreUnavailable,
    TicketRefused,
)
from shopstream.gcfreeze import keep_out_of_collections
from shopstream.kafka.deadletters import ID_CONFLICT, Rejected
from shopstream.metrics import WorkerMetrics
from shopstream.models import EnrichedTicket, Ticket, purchase
from shopstream.progress import MeasureLag, Progress
from shopstream.stores import Added, Store

log = logging.getLogger(__name__)

_FIRST_BACKOFF_S = 0.2
_MAX_BACKOFF_S = 10.0
_POLL_WAIT_S = 0.5


class Consumer(Protocol):
    """What the worker needs of its consumer-group member (``kafka.consumer.BatchConsumer``)."""

    def subscribe(self) -> None:
        """Join the group (creating the topics if they are missing)."""
        ...

    def next_batch(self, max_messages: int, wait: float) -> list[Message]: ...

    def mark_stored(self, messages: Sequence[Message]) -> None:
        """Let the next commit cover these messages."""
        ...

    def rewind(self, messages: Sequence[Message]) -> None:
        """Read these messages again."""
        ...

    def close(self) -> None: ...


class CatalogSource(Protocol):
    """The manager's list in force (a ``Catalog``, or a ``CatalogFile`` that follows its file)."""

    def current(self) -> Catalog: ...


class DeadLetterSink(Protocol):
    """Where rejected messages go (``kafka.deadletters.DeadLetters``)."""

    def send(self, rejected: Sequence[Rejected]) -> None:
        """Return once the dead-letter topic acknowledged every one; raise PublishError if not."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Parsed:
    """A message that is a valid ticket, enriched."""

    message: Message
    ticket: EnrichedTicket


def parse(messages: Sequence[Message], catalog: Catalog) -> tuple[list[Parsed], list[Rejected]]:
    """Split a batch into enriched tickets and the messages that are not tickets.

    There is no size check here: the worker takes any message its topic can carry, so it
    can never refuse for its size a ticket the API accepted.
    """
    tickets: list[Parsed] = []
    rejected: list[Rejected] = []
    for message in messages:
        value = message.value()
        if not value:
            rejected.append(Rejected(message, "empty message"))
            continue
        try:
            tickets.append(Parsed(message, enrich(Ticket.model_validate_json(value), catalog)))
        except ValidationError as exc:
            reason = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'message'}: {e['msg']}"
                for e in exc.errors(include_url=False, include_input=False)
            )
            rejected.append(Rejected(message, f"not a valid ticket: {_printable(reason)}"))
    return tickets, rejected


def _printable(text: str) -> str:
    """``text`` with every control character escaped: a field named by a sender may hold
    line breaks or terminal sequences, and the reason goes to logs and terminals."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def conflict_reason(ticket_id: str) -> str:
    return f"{ID_CONFLICT}: a ticket with id {ticket_id} and other content came first"


def reason_kind(reason: str) -> str:
    """A reason without its details ("not a valid ticket", "id conflict"...): a metric's
    label, of which there must be few."""
    return reason.partition(":")[0]


class Worker:
    """One member of the consumer group; ``run`` until ``stop`` is called."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        catalog: CatalogSource,
        consumer: Consumer,
        dead_letters: DeadLetterSink,
        measure_lag: MeasureLag | None = None,
        metrics: WorkerMetrics | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._catalog = catalog
        self._consumer = consumer
        self._dead_letters = dead_letters
        self._stopping = threading.Event()
        self._backoff = _FIRST_BACKOFF_S
        self._metrics = metrics or WorkerMetrics(CollectorRegistry())
        self._progress = Progress(settings.worker.progress_s, measure_lag, self._metrics.set_lag)
        self.stored = 0
        self.dead_lettered = 0

    def stop(self) -> None:
        """Finish the batch in hand, commit, leave the group (safe from a signal handler)."""
        self._stopping.set()

    def run(self) -> None:
        self._until_done(self._store.open, StoreUnavailable)  # e.g. a database restarting
        self._until_done(self._consumer.subscribe, ShopstreamError)  # e.g. Kafka starting
        keep_out_of_collections()
        log.info(
            "worker consuming %s as group %s into %s",
            self._settings.kafka.topic,
            self._settings.worker.group,
            self._settings.store.database_url,
        )
        try:
            while not self._stopping.is_set():
                batch = self._consumer.next_batch(self._settings.worker.batch_size, _POLL_WAIT_S)
                if batch:
                    self.handle(batch)
                else:
                    self._catalog.current()  # idle: a changed list is still taken (and logged)
                self._progress.tick(self.stored, self.dead_lettered)
        finally:
            self._consumer.close()
            self._dead_letters.close()
            self._store.close()
            log.info("worker stopped: %d stored, %d dead-lettered", self.stored, self.dead_lettered)

    def _until_done(self, step: Callable[[], None], transient: type[ShopstreamError]) -> None:
        """Run ``step`` until it succeeds, backing off after each ``transient`` failure.

        Anything else (wrong settings or credentials, a file in another layout, a store
        another worker holds) ends the worker with its message: waiting will not mend it.
        """
        while not self._stopping.is_set():
            try:
                step()
                return
            except ConfigurationError:
                raise
            except transient as exc:
                log.warning("%s; retrying", exc)
                self._pause()

    def handle(self, batch: list[Message]) -> None:
        """Store a batch, dead-letter what cannot be stored, then mark it all for commit.

        If the store or the dead-letter topic is unavailable, nothing is marked: the batch
        is read again after a back-off. Any other store error ends the worker. The batch is
        categorised with the list in force when it is parsed, a whole list, read whole.
        """
        self._metrics.batch_size.observe(len(batch))
        parsed, rejected = parse(batch, self._catalog.current())
        try:
            added, refused = self._store_copies(parsed)
            letters = [*rejected, *refused]
            if letters:
                self._dead_letters.send(letters)
        except (StoreUnavailable, PublishError, OSError) as exc:
            log.error("batch of %d not stored, will retry: %s", len(batch), exc)
            self._consumer.rewind(batch)
            self._pause()
            return
        self._consumer.mark_stored(batch)
        self._backoff = _FIRST_BACKOFF_S
        self.stored += added
        self.dead_lettered += len(letters)
        self._metrics.stored.inc(added)
        for item in letters:
            self._metrics.dead_letters.labels(reason_kind(item.reason)).inc()
            log.warning(
                "dead-lettered %s[%s]@%s: %s",
                item.message.topic(),
                item.message.partition(),
                item.message.offset(),
                item.reason,
            )

    def _store_copies(self, tickets: list[Parsed]) -> tuple[int, list[Rejected]]:
        """Store a batch whose ids may repeat; how many were new, and the copies not stored.

        A store takes one copy per id at a time, so the first copy of each id goes first.
        A later copy with the same purchase then shares its fate; one with another purchase
        is a conflict if the first was stored, else it goes to the store in the next round
        (it may be the stored copy's twin, or the first the store takes).
        """
        added = 0
        letters: list[Rejected] = []
        pending = tickets
        while pending:
            first: dict[str, Parsed] = {}
            later: list[Parsed] = []
            for parsed in pending:
                if first.setdefault(parsed.ticket.id, parsed) is not parsed:
                    later.append(parsed)
            new, refused = self._store_isolating(list(first.values()))
            added += new
            letters += [Rejected(first[i].message, reason) for i, reason in refused.items()]
            pending = []
            for parsed in later:
                ticket_id = parsed.ticket.id
                reason = refused.get(ticket_id)
                if purchase(parsed.ticket) == purchase(first[ticket_id].ticket):
                    if reason is not None:
                        letters.append(Rejected(parsed.message, reason))
                elif reason is None:
                    letters.append(Rejected(parsed.message, conflict_reason(ticket_id)))
                else:
                    pending.append(parsed)
        return added, letters

    def _store_isolating(self, tickets: list[Parsed]) -> tuple[int, dict[str, str]]:
        """Store ``tickets``; if the store refuses them for good, halve until it finds the culprits.

        ``tickets`` have unique ids. Returns how many were new and, by id, why each ticket
        not stored was not: the store refused it, or its id is stored with other content.
        """
        if not tickets:
            return 0, {}
        try:
            added = self._timed_add(tickets)
        except TicketRefused as exc:
            if len(tickets) == 1:
                return 0, {tickets[0].ticket.id: f"the store refused it: {exc}"}
            middle = len(tickets) // 2
            first_added, first_refused = self._store_isolating(tickets[:middle])
            rest_added, rest_refused = self._store_isolating(tickets[middle:])
            return first_added + rest_added, first_refused | rest_refused
        return added.new, {i: conflict_reason(i) for i in added.conflicts}

    def _timed_add(self, tickets: list[Parsed]) -> Added:
        started = time.perf_counter()
        try:
            return self._store.add([t.ticket for t in tickets])
        finally:
            self._metrics.store_write_seconds.observe(time.perf_counter() - started)

    def _pause(self) -> None:
        """Back off exponentially before the next try; returns at once when stopping."""
        self._stopping.wait(self._backoff)
        self._backoff = min(self._backoff * 2, _MAX_BACKOFF_S)
