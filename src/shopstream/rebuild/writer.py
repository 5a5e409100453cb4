"""Tickets taken one at a time, re-categorised and written to the store being built, by batch."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from shopstream.errors import ShopstreamError, StoreError
from shopstream.models import EnrichedTicket
from shopstream.rebuild.changes import Changes
from shopstream.stores import Store

BATCH = 20_000
"""tickets per write: ten times the worker's batches, for a tenth of the commits (fsyncs)"""


def _unheard(_: int) -> None:
    pass


@dataclass(frozen=True)
class Reporting:
    """Who hears how a rebuild goes (a progress bar): the total to do, again when it grows,
    and each count just done."""

    total: Callable[[int], None] = _unheard
    done: Callable[[int], None] = _unheard


UNHEARD = Reporting()
"""nobody listening"""


class Interrupted(ShopstreamError):
    """SIGINT or SIGTERM: the rebuild stopped between two batches."""


@dataclass
class BatchWriter:
    """Writes what it is given into ``target``, re-categorised by ``changes``."""

    target: Store
    changes: Changes
    stopping: threading.Event
    reporting: Reporting = UNHEARD
    written: int = 0
    _batch: list[EnrichedTicket] = field(default_factory=list)

    def take(self, ticket: EnrichedTicket) -> None:
        self._batch.append(ticket)
        if len(self._batch) >= BATCH:
            self.flush()

    def flush(self) -> None:
        self.check()
        batch, self._batch = self._batch, []
        if batch:
            self.write(batch)

    def write(self, tickets: list[EnrichedTicket]) -> None:
        """Store ``tickets`` re-categorised, every one new to ``target``."""
        added = self.target.add(self.convert(tickets))
        if added.new != len(tickets):
            raise StoreError(
                f"the store being built already held {len(tickets) - added.new} of a batch "
                "it was given for the first time; nothing was switched"
            )

    def convert(self, tickets: list[EnrichedTicket]) -> Sequence[EnrichedTicket]:
        """``tickets`` re-categorised (in place), and counted as written."""
        converted = self.changes.recategorised(tickets)
        self.copied(len(tickets))
        return converted

    def copied(self, tickets: int) -> None:
        """Count ``tickets`` as written, re-categorised by whoever wrote them."""
        self.written += tickets
        self.reporting.done(tickets)

    def check(self) -> None:
        if self.stopping.is_set():
            raise Interrupted("interrupted")
