"""The seed's ``database.json``, appended in constant time per batch and repaired on open.

Appending a batch overwrites only the closing ``\\n]\\n`` after the last entry, then
fsyncs (layout in ``jsonlines``). Committed entries are never overwritten, so a crash
mid-append can only leave a torn tail after them; ``open`` cuts it off, keeps the cut
bytes in a ``.torn-*`` file beside it, and closes the array again. One worker writes the
file at a time, which an exclusive lock enforces. Readers (the API, ``stress``) follow
the file as it grows and only read what is new since their last look.
"""

from __future__ import annotations

import copy
import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from shopstream.analytics import Filters, Tally
from shopstream.errors import StoreError
from shopstream.models import EnrichedTicket
from shopstream.stores.jsonlines import (
    OPEN,
    SEPARATOR,
    Entry,
    Tail,
    check_layout,
    closing,
    entries,
)

log = logging.getLogger(__name__)

_SMALL = 64
# Filter combinations whose running tallies a reader keeps (the dashboard's few).
_TALLIES_KEPT = 16


def _count(tally: Tally, entry: Entry, filters: Filters) -> None:
    if filters.admits(entry["store"], entry["date"]):
        tally.add_ticket(
            entry["store"],
            entry["date"],
            entry["total_price"],
            ((p["category"], p["price"]) for p in entry["products"]),
        )


@dataclass
class _Followed:
    """What a reader has read so far: the ids, and a running tally per filter."""

    ids_tail: Tail
    ids: set[str] = field(default_factory=set)
    tallies: dict[Filters, tuple[Tail, Tally]] = field(default_factory=dict)


def _write_at(file: BinaryIO, offset: int, data: bytes) -> None:
    """Write ``data`` as the file's last bytes and make it durable."""
    file.seek(offset)
    file.write(data)
    file.flush()
    # A write that failed half-way (disk full) may have left longer garbage behind.
    file.truncate(offset + len(data))
    os.fsync(file.fileno())


class JsonFileStore:
    """``database.json``: the seed's format, appended in constant time per batch."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: BinaryIO | None = None
        self._ids: set[str] = set()
        self._entries_end = len(OPEN)
        self._followed = _Followed(Tail(path))
        self._reading = threading.Lock()

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        file = os.fdopen(fd, "r+b")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.close()
            raise StoreError(
                f"{self.path} is being written by another worker; stop it, or use "
                "DATABASE_URL=sqlite:///... to run several workers"
            ) from None
        if os.fstat(fd).st_size < _SMALL and file.read().strip() in (b"", b"[]"):
            # New, or the empty array a user made by hand as the seed suggests.
            _write_at(file, 0, OPEN + closing(False))
        check_layout(file, self.path)
        for end, entry in entries(file, len(OPEN)):
            self._ids.add(entry["id"])
            self._entries_end = end
        file.seek(self._entries_end)
        if file.read() != closing(bool(self._ids)):
            self._repair(file)
        self._file = file
        log.info("json store %s open: %d tickets", self.path, len(self._ids))

    def _repair(self, file: BinaryIO) -> None:
        """Cut the torn tail after the last whole entry, keep it aside, close the array."""
        file.seek(self._entries_end)
        tail = file.read()
        aside = self.path.with_name(f"{self.path.name}.torn-{time.time_ns()}")
        aside.write_bytes(tail)
        _write_at(file, self._entries_end, closing(bool(self._ids)))
        log.warning(
            "repaired %s: cut %d bytes of an interrupted write after ticket %d (kept in %s)",
            self.path,
            len(tail),
            len(self._ids),
            aside,
        )

    def add(self, tickets: Sequence[EnrichedTicket]) -> int:
        if self._file is None:
            raise StoreError("the json store was not opened for writing; call open() first")
        new_ids: set[str] = set()
        lines: list[bytes] = []
        for ticket in tickets:
            if ticket.id in self._ids or ticket.id in new_ids:
                continue
            new_ids.add(ticket.id)
            lines.append(ticket.to_json())
        if not lines:
            return 0
        body = SEPARATOR.join(lines)
        if self._ids:
            chunk, offset = SEPARATOR + body, self._entries_end
        else:
            chunk, offset = body, len(OPEN)
        _write_at(self._file, offset, chunk + closing(True))
        self._entries_end = offset + len(chunk)
        self._ids.update(new_ids)
        return len(lines)

    def _known_ids(self) -> set[str]:
        if self._file is not None:
            return self._ids
        followed = self._followed
        with self._reading:
            followed.ids_tail.follow(
                lambda entry: followed.ids.add(entry["id"]), followed.ids.clear
            )
            return set(followed.ids)

    def missing(self, ids: Iterable[str]) -> set[str]:
        return set(ids) - self._known_ids()

    def count(self) -> int:
        return len(self._known_ids())

    def tally(self, filters: Filters) -> Tally:
        """Read only what was appended since the last call with the same filters."""
        tallies = self._followed.tallies
        with self._reading:
            if filters not in tallies:
                if len(tallies) >= _TALLIES_KEPT:
                    del tallies[next(iter(tallies))]
                tallies[filters] = (Tail(self.path), Tally())
            tail, running = tallies[filters]
            tail.follow(lambda entry: _count(running, entry, filters), running.clear)
            return copy.deepcopy(running)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
