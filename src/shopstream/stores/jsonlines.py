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

A person may edit the file. A line may then be indented or spaced differently and still
be read; a line that is not a whole stored ticket is reported with its number, never
taken for the end of the file.
"""

from __future__ import annotations

import datetime
import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any, BinaryIO

import orjson
from pydantic_core import PydanticCustomError, SchemaValidator, ValidationError, core_schema

from shopstream.errors import StoreError

OPEN = b"[\n"
CLOSE = b"\n]\n"
CLOSE_EMPTY = b"]\n"
SEPARATOR = b",\n"

Entry = dict[str, Any]


def closing(has_entries: bool) -> bytes:
    return CLOSE if has_entries else CLOSE_EMPTY


@functools.lru_cache(maxsize=4096)  # a store's tickets share few days
def _calendar_day(day: str) -> str:
    """``day`` if it is one of the calendar's: a person may write 2024-02-30 in the file,
    which the API never accepts and every reader building a ticket would fail on."""
    try:
        datetime.date.fromisoformat(day)
    except ValueError:
        raise PydanticCustomError("calendar_day", "not a day of the calendar") from None
    return day


def _stored_entry_schema() -> core_schema.CoreSchema:
    """A stored ticket as the figures and the duplicate check read it (other keys ignored)."""
    text = core_schema.str_schema(min_length=1, strict=True)
    number = core_schema.union_schema(
        [
            core_schema.float_schema(strict=True, allow_inf_nan=False),
            core_schema.int_schema(strict=True),
        ]
    )

    def fields(
        optional: tuple[str, ...] = (), **schemas: core_schema.CoreSchema
    ) -> core_schema.CoreSchema:
        return core_schema.typed_dict_schema(
            {
                name: core_schema.typed_dict_field(schema, required=name not in optional)
                for name, schema in schemas.items()
            },
            extra_behavior="ignore",
        )

    product = fields(id=text, name=text, price=number, category=text)
    return fields(
        id=text,
        store=text,
        date=core_schema.no_info_after_validator_function(
            _calendar_day,
            core_schema.str_schema(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", strict=True),
        ),
        total_price=number,
        products=core_schema.list_schema(product),
        catalog_version=text,  # not on tickets stored before versions were recorded
        optional=("catalog_version",),
    )


# Parsing and checking a line in one pass in pydantic-core: 2.5 µs against 4.5 for orjson
# and the same checks in Python (measured on stored example tickets).
_STORED_ENTRY = SchemaValidator(_stored_entry_schema())


def _problem(error: ValidationError) -> str:
    first = error.errors(include_url=False, include_input=False)[0]
    where = ".".join(map(str, first["loc"]))
    return f"{where}: {first['msg']}" if where else first["msg"]


class Kind(Enum):
    BLANK = "blank"  # white space, or the separator after an entry read before
    ENTRY = "entry"
    CLOSING = "closing"  # the array's closing bracket
    UNREADABLE = "unreadable"


@dataclass(slots=True)
class Line:
    """One line of the file, or the part of one after an entry, and what it holds.

    Not frozen: a frozen dataclass sets each field through ``object.__setattr__``, 0.96 µs
    a line against 0.27, paid for every line any reader reads.
    """

    kind: Kind
    number: int  # from 1, as an editor counts
    start: int  # byte offset of the entry's "{", else of the line
    end: int  # byte offset just past the entry's "}", else past the line
    text: bytes
    entry: Entry | None = None
    problem: str = ""
    ended: bool = True
    """whether the line ends with its line break: the last may still be being written"""

    @property
    def torn(self) -> bool:
        """Zero bytes: a hole that a power cut left in a write that never finished."""
        return b"\x00" in self.text

    @property
    def whole_object(self) -> bool:
        """Whether the line holds a whole JSON object (one that is not a stored ticket).

        A write cut short leaves a prefix of a stored ticket's line, which is never a whole
        object: such a line is a person's edit, to be named, never cut off as torn.
        """
        body = self.text[: self.text.rfind(b"}") + 1]
        try:
            return isinstance(orjson.loads(body), dict)
        except orjson.JSONDecodeError:
            return False

    def preview(self) -> str:
        return self.text[:80].decode(errors="replace")


class UnreadableLine(StoreError):
    """A line that is not a stored ticket, where only tickets may be."""

    def __init__(self, path: os.PathLike[str] | str, line: Line) -> None:
        super().__init__(
            f"{path}, line {line.number}: not a stored ticket ({line.problem}): "
            f"{line.preview()!r}. Nothing was changed; correct or remove that line "
            "(shopstream keeps one ticket per line), or move it aside to start again"
        )
        self.line = line


def read_entry(text: bytes) -> tuple[Entry, int] | str:
    """The entry ``text`` starts with (after white space) and the index past its ``}``.

    Else the reason it is not one.
    """
    start = len(text) - len(text.lstrip())
    end = text.rfind(b"}")
    if text[start : start + 1] != b"{" or end < 0:
        return "not a JSON object on one line"
    try:
        entry: Entry = _STORED_ENTRY.validate_json(text[start : end + 1])
    except ValidationError as exc:
        return _problem(exc)
    return entry, end + 1


def classify(text: bytes, number: int, offset: int) -> Iterator[Line]:
    """The line ``text`` at byte ``offset``: an entry (and what follows it on the line) or else."""
    body = text.strip()
    if body in (b"", b","):
        yield Line(Kind.BLANK, number, offset, offset + len(text), text)
        return
    if body == b"]":
        yield Line(Kind.CLOSING, number, offset, offset + len(text), text)
        return
    read = read_entry(text)
    ended = text.endswith(b"\n")
    if isinstance(read, str):
        end = offset + len(text)
        yield Line(Kind.UNREADABLE, number, offset, end, text, problem=read, ended=ended)
        return
    entry, end = read
    start = offset + len(text) - len(text.lstrip())
    yield Line(Kind.ENTRY, number, start, offset + end, text[start - offset : end], entry)
    rest = text[end:]
    if rest.strip() not in (b"", b","):  # e.g. ",]": a separator torn over the old bracket
        start, stop = offset + end, offset + len(text)
        yield Line(Kind.UNREADABLE, number, start, stop, rest, problem="junk", ended=ended)


def lines(file: BinaryIO, offset: int, number: int) -> Iterator[Line]:
    """Every line from byte ``offset`` (the start of line ``number``) to the end of the file."""
    file.seek(offset)
    for text in file:
        yield from classify(text, number, offset)
        offset += len(text)
        number += 1


def first_line(file: BinaryIO) -> int:
    """Where the entries start: past the opening ``[`` line; 0 if the file is not a JSON array."""
    file.seek(0)
    first = file.readline()
    return len(first) if first.strip() == b"[" and first.endswith(b"\n") else 0


def read_at(fd: int, offset: int) -> Entry | None:
    """The entry that starts at byte ``offset`` of the file open as ``fd``, if one does."""
    chunk = b""
    while b"\n" not in chunk:
        more = os.pread(fd, max(4096, len(chunk)), offset + len(chunk))
        if not more:
            break
        chunk += more
    read = read_entry(chunk.split(b"\n", 1)[0])
    return None if isinstance(read, str) else read[0]
