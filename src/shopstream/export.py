"""The stored product lines, one row each (``shopstream export``, ``GET /export.csv``).

Rows are made as the store yields its tickets and written out a chunk at a time, so an
export of any size holds one chunk in memory, never the store. The filters are the
figures' own (``Filters``): an export and ``GET /analytics`` count the same tickets.

Tills send any text. In CSV, a text cell that a spreadsheet would run as a formula (one
starting with ``=``, ``+``, ``-`` or ``@`` that is not a plain number) is written with a
leading apostrophe, which spreadsheets show as text; JSON Lines keep every value as stored.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from enum import StrEnum

import orjson

from shopstream.analytics import Filters
from shopstream.models import EnrichedTicket

COLUMNS = (
    "ticket_id",
    "store",
    "date",
    "total_price",
    "line",
    "product_id",
    "name",
    "price",
    "category",
)
Row = tuple[str, str, str, float, int, str, str, float, str]
"""One product line: its ticket's id, store, date and total, then the line (from 1) and
the product's id, name, price and category"""
_TEXT_COLUMNS = [
    COLUMNS.index(name) for name in ("ticket_id", "store", "product_id", "name", "category")
]
_ROWS_PER_CHUNK = 1000
_FORMULA_START = ("=", "+", "-", "@")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


class Format(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


def rows(tickets: Iterable[EnrichedTicket], filters: Filters) -> Iterator[Row]:
    """Each product line of the tickets ``filters`` admits, in the store's order."""
    for ticket in tickets:
        day = ticket.date.isoformat()
        if not filters.admits(ticket.store, day):
            continue
        for line, product in enumerate(ticket.products, start=1):
            yield (
                ticket.id,
                ticket.store,
                day,
                ticket.total_price,
                line,
                product.id,
                product.name,
                product.price,
                product.category,
            )


def spreadsheet_text(text: str) -> str:
    """``text`` as a CSV cell no spreadsheet runs as a formula."""
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def _csv_row(row: Row) -> list[object]:
    cells: list[object] = list(row)
    for column in _TEXT_COLUMNS:
        cells[column] = spreadsheet_text(str(cells[column]))
    return cells


def csv_chunks(lines: Iterable[Row]) -> Iterator[str]:
    """The CSV text (RFC 4180: a header, CRLF line ends), a thousand rows a chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    yield _taken(buffer)  # at once: a download starts before the store is read
    for count, row in enumerate(lines, start=1):
        writer.writerow(_csv_row(row))
        if count % _ROWS_PER_CHUNK == 0:
            yield _taken(buffer)
    yield _taken(buffer)


def _taken(buffer: io.StringIO) -> str:
    """What ``buffer`` holds, leaving it empty."""
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def jsonl_chunks(lines: Iterable[Row]) -> Iterator[str]:
    """One JSON object per line, keyed by ``COLUMNS``, a thousand rows a chunk."""
    chunk: list[bytes] = []
    for row in lines:
        chunk.append(orjson.dumps(dict(zip(COLUMNS, row, strict=True))))
        if len(chunk) == _ROWS_PER_CHUNK:
            yield b"\n".join(chunk).decode() + "\n"
            chunk = []
    if chunk:
        yield b"\n".join(chunk).decode() + "\n"


def chunks(tickets: Iterable[EnrichedTicket], filters: Filters, format: Format) -> Iterator[str]:
    """The export of ``tickets`` under ``filters``, as text chunks to write one after another."""
    lines = rows(tickets, filters)
    return csv_chunks(lines) if format is Format.CSV else jsonl_chunks(lines)
