"""The layout of ``database.json``: a JSON array with one ticket per line.

::

    [
    {"id":"1",...},
    {"id":"2",...}
    ]

``json.load`` reads it as an ordinary array; shopstream reads it a line at a time, so it
can append without rewriting, resume reading where it stopped, and find where a torn
write begins. Entries are only ever added at the end: the bytes of a stored entry never
change, only the separator or closing bracket after the last one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from shopstream.errors import StoreError

OPEN = b"[\n"
CLOSE = b"\n]\n"
CLOSE_EMPTY = b"]\n"
SEPARATOR = b",\n"

Entry = dict[str, Any]


def closing(has_entries: bool) -> bytes:
    return CLOSE if has_entries else CLOSE_EMPTY


def _parse(line: bytes) -> Entry | None:
    """The ticket on one line, or None when the line is not a whole entry."""
    end = line.rfind(b"}")
    if not line.startswith(b"{") or end < 0:
        return None
    try:
        parsed = orjson.loads(line[: end + 1])
    except orjson.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) and isinstance(parsed.get("id"), str) else None


def check_layout(file: BinaryIO, path: Path) -> None:
    """Refuse a file in any other layout, e.g. the output of ``json.dump(indent=4)``."""
    file.seek(0)
    first = file.readline()
    second = file.read(1)
    # After "[", every line of ours starts with "{" or is the "]"; a zero byte is a hole a
    # power cut left in an unfinished write. An indented json.dump starts with spaces.
    if first != OPEN or second not in (b"{", b"]", b"\x00", b""):
        raise StoreError(
            f"{path} is not a JSON array in shopstream's layout (one ticket per line): "
            "move it aside and start again, shopstream will not write over it"
        )


def entries(file: BinaryIO, start: int) -> Iterator[tuple[int, Entry]]:
    """Whole entries from byte ``start`` on, each with the offset just past its ``}``.

    ``start`` is ``len(OPEN)`` or an offset this function yielded before. Reading stops
    at the closing bracket or at the first line that is not a whole entry (a torn tail,
    or the end of what a concurrent writer has written so far).
    """
    file.seek(start)
    position = start
    for line in file:
        body = line.strip()
        if body in (b"", b","):  # what followed the entry we resumed after
            position += len(line)
            continue
        entry = _parse(line)
        if entry is None:
            return
        yield position + line.rfind(b"}") + 1, entry
        position += len(line)


@dataclass
class Tail:
    """Follows a file that grows at the end: each ``follow`` reads only the new entries."""

    path: Path
    offset: int = len(OPEN)
    inode: int | None = None

    def follow(self, take: Callable[[Entry], None], restart: Callable[[], None]) -> None:
        """Give each entry added since the last call to ``take``.

        If the file was replaced or cut shorter (a repair), call ``restart`` first and
        read it from the beginning.
        """
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return
        if stat.st_size == 0:  # being created
            return
        if stat.st_ino != self.inode or stat.st_size < self.offset:
            restart()
            self.inode, self.offset = stat.st_ino, len(OPEN)
        with self.path.open("rb") as file:
            check_layout(file, self.path)
            for end, entry in entries(file, self.offset):
                take(entry)
                self.offset = end
