"""The one interface every store implements."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from shopstream.analytics import Filters, Tally
from shopstream.models import EnrichedTicket


class Store(Protocol):
    """Where enriched tickets live. Idempotent by ticket id.

    ``open`` prepares the store for writing (locks, repairs, creates tables) and must be
    called before ``add``; the read methods work without it, on a store that may not
    exist yet.
    """

    def open(self) -> None: ...

    def add(self, tickets: Sequence[EnrichedTicket]) -> int:
        """Store the batch durably before returning; skip ids already stored.

        Returns how many tickets were new. When it returns, the batch survives a crash:
        only then may the caller commit the batch's Kafka offsets.
        """
        ...

    def missing(self, ids: Iterable[str]) -> set[str]:
        """The ids among ``ids`` that are not stored."""
        ...

    def count(self) -> int: ...

    def tally(self, filters: Filters) -> Tally:
        """The counts and sums the manager's figures are computed from."""
        ...

    def close(self) -> None: ...
