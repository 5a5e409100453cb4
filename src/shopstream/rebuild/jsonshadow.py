"""Rebuilding ``database.json``: a new file beside it, renamed over it.

The live file is read as the API reads it (``JsonView``): once whole, then only what the
worker appended since, a line being written left for the next look. Each entry is
re-categorised as read and written back as it was read, a dictionary serialised again
(never made a ticket: that took a third of the time). The new file is written by the JSON
store itself, then renamed over the live one, which every process
that has the file open notices (``jsonfile``, ``jsonview``): readers read the new file,
and the worker writes into it, after writing back the few tickets it appended between the
rebuild's last look and the rename (as it stored them: under the list it follows).
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson

from shopstream.errors import StoreError
from shopstream.rebuild.shadow import BesideFile
from shopstream.rebuild.writer import BATCH, BatchWriter
from shopstream.stores import JsonFileStore
from shopstream.stores.jsonlines import Entry
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
        self._ids: list[str] = []  # of the entries read, not written yet
        self._entries: list[bytes] = []
        self._view = JsonView(live, summing=False)

    def prepare(self) -> None:
        self._lock.take()
        self.path.unlink(missing_ok=True)  # an interrupted rebuild's: start over
        self.store.open()
        self._identity = _identity(self.live)

    def feed(self, writer: BatchWriter) -> None:
        if not self._view.ids:
            writer.reporting.total(_entries_about(self.live))
        self._follow(writer)

    def _follow(self, writer: BatchWriter) -> None:
        """Write each entry of the live file not written before, re-categorised."""
        self._view.on_entry = lambda entry: self._take(entry, writer)
        self._view.refresh()
        self._flush(writer)

    def _take(self, entry: Entry, writer: BatchWriter) -> None:
        writer.changes.recategorise_entry(entry)
        self._ids.append(entry["id"])
        self._entries.append(orjson.dumps(entry))
        if len(self._ids) >= BATCH:
            self._flush(writer)

    def _flush(self, writer: BatchWriter) -> None:
        """Write the entries taken; first, refuse a live file replaced since ``prepare``.

        Checked before writing: the view reads a replaced file from its start, so what it
        gives then is entries the shadow holds already.
        """
        if _identity(self.live) != self._identity:
            raise StoreError(
                f"{self.live} was replaced while it was being rebuilt (an editor saving it?); "
                "it was left as it is: run the rebuild again"
            )
        writer.check()
        if self._ids:
            self.store.add_new(self._ids, self._entries)
            writer.copied(len(self._ids))
            self._ids, self._entries = [], []

    def swap(self, writer: BatchWriter) -> int:
        before = writer.written
        self._follow(writer)
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
        return writer.written - before

    def discard(self) -> None:
        self.store.close()
        self.path.unlink(missing_ok=True)
