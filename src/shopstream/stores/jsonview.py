"""Reading ``database.json`` as it grows: the ids it holds and daily sums for the figures.

A reader (the API, ``report``, ``stress``) follows the file: each look reads only the
entries appended since the last one. It keeps what the SQL stores keep in their roll-up
tables, in memory: per store and day, the tickets and their totals, and per store, day and
category, and per store, day and product name, the product lines and their prices. Any
filter (a store, a date range) is then summed from a few thousand rows, never by reading
the file again, however many different filters are asked for.

An entry whose id was read before (a line a person copied) is not counted twice. A line
that is not a stored ticket, with more lines after it, is a ``StoreError`` naming it: the
API answers 503 rather than figures that leave it out. The last line may be one being
written: it is read at the next look. A rebuild follows the file for its entries alone,
without the sums (``summing``).
"""

from __future__ import annotations

import logging
import os
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from shopstream.analytics import Filters, Sum, Tally
from shopstream.catalog import UNVERSIONED
from shopstream.errors import StoreError
from shopstream.stores.idindex import IdIndex
from shopstream.stores.jsonlines import (
    Entry,
    Kind,
    Line,
    UnreadableLine,
    first_line,
    lines,
    read_at,
)

log = logging.getLogger(__name__)


@dataclass
class DailySums:
    """The figures' sums per store and day, as the SQL stores' roll-up tables hold them."""

    tickets: dict[str, dict[str, Sum]] = field(default_factory=dict)
    """store -> ISO day -> its tickets and the sum of their totals"""
    lines: dict[str, dict[tuple[str, str], Sum]] = field(default_factory=dict)
    """store -> (ISO day, category) -> its product lines and the sum of their prices"""
    versions: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)
    """store -> (ISO day, catalog version) -> its tickets"""
    names: dict[str, dict[tuple[str, str], Sum]] = field(default_factory=dict)
    """store -> (ISO day, product name) -> its product lines and the sum of their prices"""

    def add(self, entry: Entry) -> None:
        store, day = entry["store"], entry["date"]
        days = self.tickets.get(store)
        if days is None:
            days = self.tickets[store] = defaultdict(Sum)
            self.lines[store] = defaultdict(Sum)
            self.versions[store] = defaultdict(int)
            self.names[store] = defaultdict(Sum)
        days[day].add(1, entry["total_price"])
        by_category, by_name = self.lines[store], self.names[store]
        for product in entry["products"]:
            by_category[day, product["category"]].add(1, product["price"])
            by_name[day, product["name"]].add(1, product["price"])
        self.versions[store][day, entry.get("catalog_version", UNVERSIONED)] += 1

    def tally(self, filters: Filters) -> Tally:
        tally = Tally()
        stores = [filters.store] if filters.store is not None else list(self.tickets)
        for store in stores:
            for day, tickets in self.tickets.get(store, {}).items():
                if filters.admits(store, day):
                    tally.tickets[store].add(tickets.count, tickets.amount)
                    tally.days[day] += tickets.count
            for (day, category), products in self.lines.get(store, {}).items():
                if filters.admits(store, day):
                    tally.products[store, category].add(products.count, products.amount)
            for (day, version), count in self.versions.get(store, {}).items():
                if filters.admits(store, day):
                    tally.versions[version] += count
            for (day, name), products in self.names.get(store, {}).items():
                if filters.admits(store, day):
                    tally.names[name].add(products.count, products.amount)
        return tally


def every_entry(path: Path) -> Iterator[Entry]:
    """Every entry of the file as it stands, copies included, up to a last line being written.

    Raises ``UnreadableLine`` for a line that is not a stored ticket with more after it.
    """
    if not path.exists():
        return
    with path.open("rb") as file:
        start = first_line(file)
        if start == 0:
            if path.stat().st_size > 2:
                raise StoreError(f"{path} is not a JSON array of tickets")
            return
        pending: Line | None = None
        for line in lines(file, start, 2):
            if line.kind is Kind.BLANK:
                continue
            if pending is not None:
                raise UnreadableLine(path, pending)
            if line.kind is Kind.CLOSING:
                return
            if line.kind is Kind.UNREADABLE:
                if not line.ended:
                    return  # being written
                pending = line
            elif line.entry is not None:
                yield line.entry


def entry_id_at(file: BinaryIO, offset: int) -> str | None:
    entry = read_at(file.fileno(), offset)
    return None if entry is None else entry["id"]


@dataclass
class JsonView:
    """What a reader has read of the file so far; ``refresh`` reads what is new."""

    path: Path
    on_entry: Callable[[Entry], None] | None = None
    summing: bool = True
    """whether to keep ``sums``: a rebuild wants only the entries"""
    ids: IdIndex = field(default_factory=IdIndex)
    sums: DailySums = field(default_factory=DailySums)
    _identity: tuple[int, int] | None = None
    _offset: int = 0  # where to read on: 0 before the opening line is read
    _number: int = 1  # the line at _offset
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def refresh(self) -> None:
        with self._lock:
            self._refresh()

    def _refresh(self) -> None:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            self._restart(None)
            return
        identity = (stat.st_dev, stat.st_ino)
        if identity != self._identity or stat.st_size < self._offset:
            self._restart(identity)  # replaced, or cut shorter by a repair
        with self.path.open("rb") as file:
            if self._offset == 0:
                start = first_line(file)
                if start == 0:
                    if stat.st_size > 2:  # not "", "[]" or a file being created
                        raise StoreError(f"{self.path} is not a JSON array of tickets")
                    return
                self._offset, self._number = start, 2
            self._read_from(file)

    def _read_from(self, file: BinaryIO) -> None:
        pending: Line | None = None  # a line not readable: the end being written, or not
        for line in lines(file, self._offset, self._number):
            if line.kind is Kind.BLANK:
                continue
            if pending is not None:
                raise UnreadableLine(self.path, pending)
            if line.kind is Kind.CLOSING:
                return
            if line.kind is Kind.UNREADABLE:
                if not line.ended:
                    # Being written, as the writer appends: read it whole next time. Reading
                    # on would take the rest of it, arriving meanwhile, for another line.
                    return
                pending = line
                continue
            self._take(file, line)
            self._offset, self._number = line.end, line.number

    def _take(self, file: BinaryIO, line: Line) -> None:
        entry = line.entry
        assert entry is not None  # noqa: S101 - an ENTRY line carries its entry
        ticket_id = entry["id"]
        if any(entry_id_at(file, at) == ticket_id for at in self.ids.candidates(ticket_id)):
            log.warning(
                "%s, line %d: ticket %s again, not counted twice", self.path, line.number, ticket_id
            )
            return
        self.ids.add(ticket_id, line.start)
        if self.summing:
            self.sums.add(entry)
        if self.on_entry is not None:
            self.on_entry(entry)

    def _restart(self, identity: tuple[int, int] | None) -> None:
        self.ids.clear()
        self.sums = DailySums()
        self._identity, self._offset, self._number = identity, 0, 1

    def has(self, ticket_id: str) -> bool:
        """Whether ``ticket_id`` was read (call ``refresh`` first)."""
        candidates = self.ids.candidates(ticket_id)
        if not candidates:
            return False
        with self.path.open("rb") as file:
            return any(entry_id_at(file, at) == ticket_id for at in candidates)
