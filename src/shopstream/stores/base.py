"""The one interface every store implements."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from shopstream.analytics import Filters, Tally
from shopstream.models import EnrichedTicket


@dataclass(frozen=True)
class Added:
    """What ``Store.add`` did with a batch."""

    new: int = 0
    """tickets stored now"""
    conflicts: list[str] = field(default_factory=list)
    """ids stored before with another purchase: the stored copy stays, these are not stored"""


class Store(Protocol):
    """Where enriched tickets live. Idempotent by ticket id.

    ``open`` prepares the store for writing (locks, repairs, creates tables) and must be
    called before ``add``; the read methods work without it, on a store that may not
    exist yet.
    """

    def open(self) -> None: ...

    def add(self, tickets: Sequence[EnrichedTicket]) -> Added:
        """Store the batch durably before returning; the ids are unique within it.

        An id already stored is skipped: a harmless duplicate if its purchase is the same,
        else a conflict (``Added.conflicts``). When it returns, the batch survives a crash:
        only then may the caller commit the batch's Kafka offsets.

        Raises ``StoreUnavailable`` when the store cannot be reached now (retry later),
        ``TicketRefused`` when it refuses the batch's data for good (a constraint, a value
        it cannot hold: split the batch to find the culprits), and ``StoreError`` for
        anything else about the store itself (its files, tables or rights): stop.
        """
        ...

    def missing(self, ids: Iterable[str]) -> set[str]:
        """The ids among ``ids`` that are not stored."""
        ...

    def count(self) -> int: ...

    def tally(self, filters: Filters) -> Tally:
        """The counts and sums the manager's figures are computed from."""
        ...

    def tickets(self) -> Iterator[EnrichedTicket]:
        """Every stored ticket, as stored: a copy stored twice (a line copied by hand in a
        JSON file) comes twice. For exports, rebuilds and checks; it reads the whole store."""
        ...

    def close(self) -> None: ...
