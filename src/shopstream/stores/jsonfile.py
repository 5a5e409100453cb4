"""The exercise's ``database.json``, appended in constant time per batch, under a person's hands.

Appending a batch overwrites only the closing ``\\n]\\n`` after the last entry, then
fsyncs (layout in ``jsonlines``). Committed entries are never overwritten, so a crash
mid-append can only leave a torn tail after them: ``open`` cuts off that tail alone, after
keeping it fsynced in a ``.torn-*`` file beside the database. Any other line that is not a
stored ticket stops the worker, naming the line, with nothing changed.

Before each append the worker checks that the file at the path is still the one it has
open. An editor that saved through a new file and a rename replaced it: the worker adopts
the new file, writes back every ticket of the old one that the new one lacks, and fails
the batch in hand so that it is written again, into the new file. One worker writes the
file at a time, which an exclusive lock enforces. Readers follow the file (``jsonview``).
"""

from __future__ import annotations

import datetime
import fcntl
import logging
import os
import shutil
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from shopstream.analytics import Filters, Tally
from shopstream.catalog import UNVERSIONED
from shopstream.errors import StoreError, StoreUnavailable
from shopstream.models import EnrichedProduct, EnrichedTicket, Purchase, purchase
from shopstream.stores.base import Added
from shopstream.stores.idindex import IdIndex
from shopstream.stores.jsonlines import (
    OPEN,
    SEPARATOR,
    Entry,
    Kind,
    Line,
    UnreadableLine,
    closing,
    first_line,
    lines,
    read_at,
)
from shopstream.stores.jsonview import JsonView, every_entry

log = logging.getLogger(__name__)

_SMALL = 64


def entry_ticket(entry: Entry) -> EnrichedTicket:
    """An entry as the ticket it holds."""
    return EnrichedTicket(
        id=entry["id"],
        store=entry["store"],
        date=datetime.date.fromisoformat(entry["date"]),
        total_price=entry["total_price"],
        products=[
            EnrichedProduct(id=p["id"], name=p["name"], price=p["price"], category=p["category"])
            for p in entry["products"]
        ],
        catalog_version=entry.get("catalog_version", UNVERSIONED),
    )


def entry_purchase(entry: Entry) -> Purchase:
    """An entry's purchase, as ``models.purchase`` gives it for a ticket."""
    return (
        entry["store"],
        entry["date"],
        tuple((p["id"], p["name"], p["price"]) for p in entry["products"]),
    )


def _write_at(file: BinaryIO, offset: int, data: bytes) -> None:
    """Write ``data`` as the file's last bytes and make it durable."""
    file.seek(offset)
    file.write(data)
    file.flush()
    # A write that failed half-way (disk full) may have left longer garbage behind.
    file.truncate(offset + len(data))
    os.fsync(file.fileno())


def _sync_directory(path: Path) -> None:
    """Make a file's creation (or rename) in ``path``'s directory durable."""
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _keep_aside(path: Path, suffix: str, source: BinaryIO, start: int) -> tuple[Path, int]:
    """``source`` from byte ``start`` on, copied into a new file beside ``path`` and fsynced
    with its directory entry; the copy's path and size."""
    aside = path.with_name(f"{path.name}.{suffix}-{time.time_ns()}")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as out:
        source.seek(start)
        shutil.copyfileobj(source, out)
        out.flush()
        os.fsync(out.fileno())
        size = out.tell()
    _sync_directory(aside)
    return aside, size


def _reading(file: BinaryIO) -> BinaryIO:
    """A reader of ``file`` with a buffer of its own: what others wrote since is seen."""
    return os.fdopen(os.dup(file.fileno()), "rb")


def _identity(stat: os.stat_result) -> tuple[int, int]:
    return stat.st_dev, stat.st_ino


class JsonFileStore:
    """``database.json``: the exercise's format, appended in constant time per batch."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: BinaryIO | None = None
        self._ids = IdIndex()
        self._entries_end = len(OPEN)  # just past the last entry's "}", or the "[" line
        self._view = JsonView(path)

    # -- writing -------------------------------------------------------------------------

    def open(self) -> None:
        self._file = self._locked(self.path)
        try:
            self._load(self._file)
        except BaseException:
            self._file.close()
            self._file = None
            raise
        if self._ids:  # a new file says nothing (a rebuild's shadow is one)
            log.info("json store %s open: %d tickets", self.path, len(self._ids))

    def _locked(self, path: Path) -> BinaryIO:
        """``path`` open for writing (created if missing), under this process's lock."""
        path.parent.mkdir(parents=True, exist_ok=True)
        created = not path.exists()
        file = os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o644), "r+b")
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.close()
            raise StoreError(
                f"{path} is being written by another worker; stop it, or use "
                "DATABASE_URL=sqlite:///... to run several workers"
            ) from None
        if created:
            _sync_directory(path)
        return file

    def _load(self, file: BinaryIO) -> None:
        """Index every entry, cut a torn tail, and refuse any other line it cannot read."""
        with _reading(file) as reader:
            if os.fstat(file.fileno()).st_size < _SMALL and reader.read().strip() in (b"", b"[]"):
                # New, or the empty array a user made by hand as the exercise suggests.
                _write_at(file, 0, OPEN + closing(False))
            start = first_line(reader)
            if start == 0:
                raise StoreError(
                    f"{self.path} is not a JSON array in shopstream's layout (one ticket per "
                    "line): move it aside and start again, shopstream will not write over it"
                )
            self._ids = IdIndex()
            self._entries_end = start
            for line in self._whole_entries(reader, start):
                self._index(reader, line)
                self._entries_end = line.end
            reader.seek(self._entries_end)
            if reader.read() != closing(len(self._ids) > 0):
                self._repair(file, reader)

    def _whole_entries(self, file: BinaryIO, start: int) -> Iterator[Line]:
        """The entries up to where a torn write begins; raise for any other odd line.

        A torn write leaves at most one line that is not an entry, the file's last, or a
        hole of zero bytes after which everything belongs to that same unfinished write.
        """
        pending: Line | None = None
        closed = False
        for line in lines(file, start, 2):
            if line.kind is Kind.BLANK:
                continue
            if pending is not None:
                if pending.torn:
                    return
                raise UnreadableLine(self.path, pending)
            if closed:
                raise UnreadableLine(self.path, _after_closing(line))
            if line.kind is Kind.UNREADABLE:
                pending = line
            elif line.kind is Kind.CLOSING:
                closed = True
            else:
                yield line
        if pending is not None and pending.whole_object:  # the last line, edited by hand
            raise UnreadableLine(self.path, pending)

    def _index(self, file: BinaryIO, line: Line) -> None:
        entry = line.entry
        assert entry is not None  # noqa: S101 - an ENTRY line carries its entry
        twin = self._stored_at(file, entry["id"])
        if twin is not None:
            raise StoreError(
                f"{self.path}: ticket {entry['id']} is on line {_line_number(file, twin)} and "
                f"again on line {line.number}. Nothing was changed; remove one of them"
            )
        self._ids.add(entry["id"], line.start)

    def _stored_at(self, file: BinaryIO, ticket_id: str) -> int | None:
        """Where the entry of ``ticket_id`` starts, if it is stored."""
        for offset in self._ids.candidates(ticket_id):
            entry = read_at(file.fileno(), offset)
            if entry is not None and entry["id"] == ticket_id:
                return offset
        return None

    def _repair(self, file: BinaryIO, reader: BinaryIO) -> None:
        """Cut the torn tail after the last whole entry, keep it aside, close the array."""
        aside, size = _keep_aside(self.path, "torn", reader, self._entries_end)
        _write_at(file, self._entries_end, closing(len(self._ids) > 0))
        log.warning(
            "repaired %s: cut %d bytes of an interrupted write after ticket %d (kept in %s)",
            self.path,
            size,
            len(self._ids),
            aside,
        )

    def add(self, tickets: Sequence[EnrichedTicket]) -> Added:
        file = self._writable()
        batch = {t.id: t for t in tickets}
        fresh: list[EnrichedTicket] = []
        conflicts: list[str] = []
        for ticket in batch.values():
            offset = self._stored_at(file, ticket.id)
            if offset is None:
                fresh.append(ticket)
                continue
            stored = read_at(file.fileno(), offset)
            if stored is None or entry_purchase(stored) != purchase(ticket):
                conflicts.append(ticket.id)
        if fresh:
            self._append(file, [t.to_json() for t in fresh], [t.id for t in fresh])
        return Added(len(fresh), conflicts)

    def add_new(self, ids: list[str], entries: list[bytes]) -> None:
        """Append ``entries``, already serialised as ``to_json`` does, of the tickets ``ids``:
        a rebuild's, read once each from another file. Raises if one is stored already."""
        file = self._writable()
        held = [ticket_id for ticket_id in ids if self._stored_at(file, ticket_id) is not None]
        if held or len(set(ids)) != len(ids):
            raise StoreError(
                f"{self.path} was given tickets it holds already, or one twice "
                f"({', '.join(held[:3]) or 'in one batch'}); none of them was written"
            )
        self._append(file, entries, ids)

    def _append(self, file: BinaryIO, entries: list[bytes], ids: list[str]) -> None:
        offset = self._entries_end
        chunk = bytearray()
        starts: list[int] = []
        for entry in entries:
            if self._ids or starts:
                chunk += SEPARATOR
            starts.append(offset + len(chunk))
            chunk += entry
        _write_at(file, offset, bytes(chunk) + closing(True))
        self._entries_end = offset + len(chunk)
        for ticket_id, start in zip(ids, starts, strict=True):
            self._ids.add(ticket_id, start)

    def _writable(self) -> BinaryIO:
        """The open file, checked to be the one at the path and as the worker left it."""
        if self._file is None:
            raise StoreError("the json store was not opened for writing; call open() first")
        try:
            at_path = _identity(os.stat(self.path))
        except FileNotFoundError:
            at_path = None
        held = os.fstat(self._file.fileno())
        if at_path != _identity(held):
            self._adopt_replacement(self._file)
            raise StoreUnavailable(
                f"{self.path} was replaced while the worker wrote it; the worker now writes the "
                "new file and stores the batch again"
            )
        if held.st_size != self._entries_end + len(closing(len(self._ids) > 0)):
            self._reload_changed(self._file)
        return self._file

    def _adopt_replacement(self, old: BinaryIO) -> None:
        """Write into the file now at the path, with every ticket of ``old`` it lacks."""
        kept = len(self._ids)
        new = self._locked(self.path)
        try:
            self._load(new)
        except StoreError as exc:
            new.close()
            with _reading(old) as reader:
                aside, _ = _keep_aside(self.path, "replaced", reader, 0)
            raise StoreError(
                f"{exc}. The file the worker wrote until then, with all {kept} tickets, is "
                f"kept as {aside}"
            ) from exc
        self._file = new
        with _reading(old) as reader:
            restored = [
                (line.entry["id"], line.text)
                for line in self._whole_entries(reader, first_line(reader))
                if line.entry is not None and self._stored_at(new, line.entry["id"]) is None
            ]
        if restored:
            self._append(new, [text for _, text in restored], [i for i, _ in restored])
        old.close()
        log.warning(
            "%s was replaced while the worker wrote it (an editor saving?): %d tickets that "
            "the new file lacked were written back into it",
            self.path,
            len(restored),
        )

    def _reload_changed(self, file: BinaryIO) -> None:
        """The file was written in place by someone else: read it again, or stop."""
        kept = len(self._ids)
        self._load(file)
        if len(self._ids) < kept:
            raise StoreError(
                f"{self.path} was rewritten in place while the worker wrote it and "
                f"{kept - len(self._ids)} stored tickets are gone from it. The ticket topic "
                "still holds them; the worker stops rather than write on"
            )
        log.warning("%s was changed in place; the worker read it again", self.path)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    # -- reading -------------------------------------------------------------------------

    def missing(self, ids: Iterable[str]) -> set[str]:
        wanted = set(ids)
        if self._file is not None:
            return {i for i in wanted if self._stored_at(self._file, i) is None}
        self._view.refresh()
        return {i for i in wanted if not self._view.has(i)}

    def count(self) -> int:
        if self._file is not None:
            return len(self._ids)
        self._view.refresh()
        return len(self._view.ids)

    def tally(self, filters: Filters) -> Tally:
        self._view.refresh()
        return self._view.sums.tally(filters)

    def tickets(self) -> Iterator[EnrichedTicket]:
        return (entry_ticket(entry) for entry in every_entry(self.path))


def _after_closing(line: Line) -> Line:
    return Line(
        Kind.UNREADABLE, line.number, line.start, line.end, line.text, problem="after the closing ]"
    )


def _line_number(file: BinaryIO, offset: int) -> int:
    """The number of the line that byte ``offset`` is on (rarely needed: a slow count)."""
    file.seek(0)
    return file.read(offset).count(b"\n") + 1
