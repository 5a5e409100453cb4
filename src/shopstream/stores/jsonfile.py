"""The seed's ``database.json``: one JSON array, appended to without rewriting it.

The file is kept in a layout that ``json.load`` reads as an ordinary array and that can
be appended to and repaired one line at a time::

    [
    {"id":"1",...},
    {"id":"2",...}
    ]

Appending a batch overwrites only the closing ``\\n]\\n`` and writes the new lines after
the last entry, then fsyncs: its cost does not grow with the file. Committed entries are
never overwritten, so a crash mid-append can only leave a torn tail after them; ``open``
cuts that tail off (keeping the bytes in a ``.torn-*`` file beside it) and closes the
array again. One worker writes the file at a time, which an exclusive lock enforces.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import orjson

from shopstream.errors import StoreError
from shopstream.models import EnrichedTicket

log = logging.getLogger(__name__)

_OPEN = b"[\n"
_CLOSE = b"\n]\n"
_CLOSE_EMPTY = b"]\n"
_SEPARATOR = b",\n"
_SMALL = 64


def _entry_id(line: bytes) -> str | None:
    """The ticket id of one entry line, or None when the line is not a whole entry."""
    end = line.rfind(b"}")
    if not line.startswith(b"{") or end < 0:
        return None
    try:
        parsed = orjson.loads(line[: end + 1])
    except orjson.JSONDecodeError:
        return None
    ticket_id = parsed.get("id") if isinstance(parsed, dict) else None
    return ticket_id if isinstance(ticket_id, str) else None


@dataclass
class _Scan:
    """What a pass over the file found: the ids, and where the last whole entry ends."""

    ids: set[str] = field(default_factory=set)
    entries_end: int = len(_OPEN)
    torn: bool = False


def _scan(path: Path) -> _Scan:
    scan = _Scan()
    with path.open("rb") as file:
        first, second = file.readline(), file.peek(1)[:1]
        # Our layout: "[" alone, then entries each starting a line with "{" (an indented
        # json.dump starts them with spaces). A zero byte is a hole a power cut left.
        if first != _OPEN or second not in (b"{", b"]", b"\x00", b""):
            raise StoreError(
                f"{path} is not a JSON array in shopstream's layout (one ticket per line): "
                "move it aside and start again, shopstream will not write over it"
            )
        position = len(_OPEN)
        for line in file:
            if line.rstrip(b"\n") == b"]":
                return scan
            ticket_id = _entry_id(line)
            if ticket_id is None:
                break
            scan.ids.add(ticket_id)
            scan.entries_end = position + line.rfind(b"}") + 1
            position += len(line)
    scan.torn = True
    return scan


class JsonFileStore:
    """``database.json``: the seed's format, appended in constant time per batch."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: BinaryIO | None = None
        self._scan = _Scan()

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
            self._write_at(file, 0, _OPEN + _CLOSE_EMPTY)
        self._scan = _scan(self.path)
        if self._scan.torn:
            self._repair(file)
        self._file = file
        log.info("json store %s open: %d tickets", self.path, len(self._scan.ids))

    def _repair(self, file: BinaryIO) -> None:
        """Cut the torn tail after the last whole entry, keep it aside, close the array."""
        end = self._scan.entries_end
        file.seek(end)
        tail = file.read()
        aside = self.path.with_name(f"{self.path.name}.torn-{time.time_ns()}")
        aside.write_bytes(tail)
        closing = _CLOSE if self._scan.ids else _CLOSE_EMPTY
        self._write_at(file, end, closing)
        self._scan.torn = False
        log.warning(
            "repaired %s: cut %d bytes of an interrupted write after ticket %d (kept in %s)",
            self.path,
            len(tail),
            len(self._scan.ids),
            aside,
        )

    @staticmethod
    def _write_at(file: BinaryIO, offset: int, data: bytes) -> None:
        """Write ``data`` as the file's last bytes and make it durable."""
        file.seek(offset)
        file.write(data)
        file.flush()
        # A write that failed half-way (disk full) may have left longer garbage behind.
        file.truncate(offset + len(data))
        os.fsync(file.fileno())

    def add(self, tickets: Sequence[EnrichedTicket]) -> int:
        if self._file is None:
            raise StoreError("the json store was not opened for writing; call open() first")
        ids = self._scan.ids
        lines: list[bytes] = []
        new_ids: list[str] = []
        for ticket in tickets:
            if ticket.id in ids or ticket.id in new_ids:
                continue
            new_ids.append(ticket.id)
            lines.append(ticket.model_dump_json().encode())
        if not lines:
            return 0
        body = _SEPARATOR.join(lines)
        if ids:
            chunk, offset = _SEPARATOR + body, self._scan.entries_end
        else:
            chunk, offset = body, len(_OPEN)
        self._write_at(self._file, offset, chunk + _CLOSE)
        self._scan.entries_end = offset + len(chunk)
        ids.update(new_ids)
        return len(lines)

    def missing(self, ids: Iterable[str]) -> set[str]:
        return set(ids) - self._known_ids()

    def count(self) -> int:
        return len(self._known_ids())

    def _known_ids(self) -> set[str]:
        if self._file is not None:
            return self._scan.ids
        if not self.path.exists():
            return set()
        return _scan(self.path).ids

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
