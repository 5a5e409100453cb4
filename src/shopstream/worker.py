"""The worker: consume a batch -> enrich -> store -> dead-letter the rest -> mark offsets.

The order is the delivery guarantee. Offsets are marked for commit only after the store
has the batch durably and the dead-letter topic has acknowledged the rejects, so a crash
at any point re-reads messages rather than skipping them, and the store, idempotent by
ticket id, keeps one copy of each ticket.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from functools import partial

from confluent_kafka import Message
from pydantic import ValidationError

from shopstream.catalog import Catalog
from shopstream.config import Settings
from shopstream.enrich import enrich
from shopstream.errors import (
    ConfigurationError,
    PublishError,
    ShopstreamError,
    StoreError,
    StoreUnavailable,
)
from shopstream.gc import keep_out_of_collections
from shopstream.kafka.admin import ensure_topics
from shopstream.kafka.consumer import BatchConsumer
from shopstream.kafka.deadletter import DeadLetters, Rejected
from shopstream.models import EnrichedTicket, Ticket
from shopstream.stores import Store

log = logging.getLogger(__name__)

_FIRST_BACKOFF_S = 0.2
_MAX_BACKOFF_S = 10.0
_POLL_WAIT_S = 0.5


def parse(
    messages: Sequence[Message], catalog: Catalog, max_bytes: int
) -> tuple[list[EnrichedTicket], list[Rejected]]:
    """Split a batch into enriched tickets and the messages that are not tickets."""
    tickets: list[EnrichedTicket] = []
    rejected: list[Rejected] = []
    for message in messages:
        value = message.value()
        if not value:
            rejected.append(Rejected(message, "empty message"))
            continue
        if len(value) > max_bytes:
            rejected.append(Rejected(message, f"oversized: {len(value):,} bytes > {max_bytes:,}"))
            continue
        try:
            tickets.append(enrich(Ticket.model_validate_json(value), catalog))
        except ValidationError as exc:
            reason = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'message'}: {e['msg']}" for e in exc.errors()
            )
            rejected.append(Rejected(message, f"not a valid ticket: {reason}"))
    return tickets, rejected


class Worker:
    """One member of the consumer group; ``run`` until ``stop`` is called."""

    def __init__(self, settings: Settings, store: Store, catalog: Catalog) -> None:
        self._settings = settings
        self._store = store
        self._catalog = catalog
        self._consumer = BatchConsumer(settings)
        self._dead_letters = DeadLetters(settings)
        self._stopping = threading.Event()
        self._backoff = _FIRST_BACKOFF_S
        self.stored = 0
        self.dead_lettered = 0

    def stop(self) -> None:
        """Finish the batch in hand, commit, leave the group (safe from a signal handler)."""
        self._stopping.set()

    def run(self) -> None:
        self._until_done(self._store.open, StoreUnavailable)  # e.g. a database restarting
        self._until_done(partial(ensure_topics, self._settings), ShopstreamError)
        self._consumer.subscribe()
        keep_out_of_collections()
        log.info(
            "worker consuming %s as group %s into %s",
            self._settings.kafka_topic,
            self._settings.worker_group,
            self._settings.database_url,
        )
        try:
            while not self._stopping.is_set():
                batch = self._consumer.next_batch(self._settings.worker_batch_size, _POLL_WAIT_S)
                if batch:
                    self._handle(batch)
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

    def _handle(self, batch: list[Message]) -> None:
        tickets, rejected = parse(batch, self._catalog, self._settings.max_ticket_bytes)
        try:
            added = self._store.add(tickets)
            if rejected:
                self._dead_letters.send(rejected)
        except (StoreError, PublishError, OSError) as exc:
            log.error("batch of %d not stored, will retry: %s", len(batch), exc)
            self._consumer.rewind(batch)
            self._pause()
            return
        self._consumer.mark_stored(batch)
        self._backoff = _FIRST_BACKOFF_S
        self.stored += added
        self.dead_lettered += len(rejected)
        for item in rejected:
            log.warning(
                "dead-lettered %s[%s]@%s: %s",
                item.message.topic(),
                item.message.partition(),
                item.message.offset(),
                item.reason,
            )

    def _pause(self) -> None:
        """Back off exponentially before the next try; returns at once when stopping."""
        self._stopping.wait(self._backoff)
        self._backoff = min(self._backoff * 2, _MAX_BACKOFF_S)
