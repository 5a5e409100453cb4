"""Rebuilding ``database.json``: a new file beside it, renamed over it.

The live file is read as the API reads it (``JsonView``): once whole, then only what the
worker appended since, a line being written left for the next look. The new file is
written by the JSON store itself, then renamed over the live one, which every process
that has the file open notices (``jsonfile``, ``jsonview``): readers read the new file,
and the worker writes into it, after writing back the few tickets it appended between the
rebuild's last look and the rename (as it stored them: under the list it follows).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from shopstream.errors import StoreError
from shopstream.models import EnrichedTicket
from shopstream.rebuild.shadow import BesideFile, Convert
from shopstream.rebuild.writer import BatchWriter
from shopstream.stores import JsonFileStore
from shopstream.stores.jsonfile import entry_ticket
from shopstream.stores.jsonview import JsonView

_READ_SIZE = 1 << 20


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


def _entries_about(path: Path) -> int:
    """About how many tickets ``path`` holds, for a progress bar: its lines but the array's
    two, without reading a ticket (a person's re-indented entry counts for more)."""
    lines = 0
    try:
        with path.open("rb") as file:
            while chunk := file.read(_READ_SIZE):
                lines += chunk.count(b"\n")
    except FileNotFoundError:
        return 0
    return max(lines - 2, 0)


class JsonShadow(BesideFile):
    def __init__(self, live: Path) -> None:
        super().__init__(live)
        self.store = JsonFileStore(self.path)
        self._identity = _identity(live)
        self._take: Callable[[EnrichedTicket], None] = lambda _: None
        self._view = JsonView(
            live, on_entry=lambda entry: self._take(entry_ticket(entry)), summing=False
        )

    def prepare(self) -> None:
        self._lock.take()
        self.path.unlink(missing_ok=True)  # an interrupted rebuild's: start over
        self.store.open()
        self._identity = _identity(self.live)

    def feed(self, writer: BatchWriter) -> None:
        if not self._view.ids:
            writer.reporting.total(_entries_about(self.live))
        self._follow(writer.take)

    def _follow(self, take: Callable[[EnrichedTicket], None]) -> None:
        """Give ``take`` each ticket of the live file not given before."""
        self._take = take
        self._view.refresh()
        if _identity(self.live) != self._identity:
            raise StoreError(
                f"{self.live} was replaced while it was being rebuilt (an editor saving it?); "
                "it was left as it is: run the rebuild again"
            )

    def swap(self, convert: Convert) -> int:
        tail: list[EnrichedTicket] = []
        self._follow(tail.append)
        if tail:
            self.store.add(convert(tail))
        if self.store.count() != len(self._view.ids):
            raise StoreError(
                f"the rebuilt {self.live} holds {self.store.count()} tickets, the live one "
                f"{len(self._view.ids)}; it was left as it is"
            )
        self.store.close()
        os.replace(self.path, self.live)
        directory = os.open(self.live.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return len(tail)

    def discard(self) -> None:
        self.store.close()
        self.path.unlink(missing_ok=True)
