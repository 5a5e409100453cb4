"""SQLite: tickets, product lines and their daily roll-ups; one transaction per batch."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from itertools import chain
from pathlib import Path
from typing import TypeVar

from shopstream.analytics import Filters, Tally
from shopstream.errors import StoreError
from shopstream.models import EnrichedTicket
from shopstream.stores.rollup import read_tally, rollup

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    id          TEXT PRIMARY KEY,
    store       TEXT NOT NULL,
    date        TEXT NOT NULL,
    total_price REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS products (
    ticket_id  TEXT    NOT NULL REFERENCES tickets (id),
    line       INTEGER NOT NULL,
    product_id TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    price      REAL    NOT NULL,
    category   TEXT    NOT NULL,
    PRIMARY KEY (ticket_id, line)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS daily_tickets (
    store     TEXT    NOT NULL,
    date      TEXT    NOT NULL,
    tickets   INTEGER NOT NULL,
    total_sum REAL    NOT NULL,
    PRIMARY KEY (store, date)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS daily_products (
    store     TEXT    NOT NULL,
    date      TEXT    NOT NULL,
    category  TEXT    NOT NULL,
    lines     INTEGER NOT NULL,
    price_sum REAL    NOT NULL,
    PRIMARY KEY (store, category, date)  -- in GROUP BY store, category order
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS daily_tickets_by_date ON daily_tickets (date);
CREATE INDEX IF NOT EXISTS daily_products_by_date ON daily_products (date);
"""
_ADD_DAYS = """
INSERT INTO daily_tickets (store, date, tickets, total_sum) VALUES (?, ?, ?, ?)
ON CONFLICT (store, date) DO UPDATE SET
    tickets = tickets + excluded.tickets, total_sum = total_sum + excluded.total_sum
"""
_ADD_LINES = """
INSERT INTO daily_products (store, date, category, lines, price_sum) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (store, date, category) DO UPDATE SET
    lines = lines + excluded.lines, price_sum = price_sum + excluded.price_sum
"""
# SQLite allows 32766 host parameters per statement; stay well below.
_IDS_PER_QUERY = 500
_ROWS_PER_INSERT = 100

T = TypeVar("T")


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _insert(db: sqlite3.Connection, table: str, rows: Sequence[tuple[object, ...]]) -> None:
    """``INSERT INTO table VALUES`` of up to 100 rows a statement.

    A product line costs SQLite about a quarter less this way than one row per step of an
    ``executemany`` (7.8 against 5.8 µs per ticket of three lines, measured).
    """
    if not rows:
        return
    width = len(rows[0])
    row_marks = f"({', '.join('?' * width)})"
    for chunk in _chunks(rows, _ROWS_PER_INSERT):
        marks = ", ".join([row_marks] * len(chunk))
        db.execute(f"INSERT INTO {table} VALUES {marks}", list(chain.from_iterable(chunk)))  # noqa: S608


class SqliteStore:
    """A SQLite file in WAL mode, synchronous=FULL so a committed batch survives power loss."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA busy_timeout=5000")
        db.executescript(_SCHEMA)
        self._db = db

    def add(self, tickets: Sequence[EnrichedTicket]) -> int:
        if self._db is None:
            raise StoreError("the sqlite store was not opened for writing; call open() first")
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            stored = self._present(db, [t.id for t in tickets])
            fresh: dict[str, EnrichedTicket] = {}
            for ticket in tickets:
                if ticket.id not in stored:
                    fresh.setdefault(ticket.id, ticket)
            _insert(
                db,
                "tickets (id, store, date, total_price)",
                [(t.id, t.store, t.date.isoformat(), t.total_price) for t in fresh.values()],
            )
            _insert(
                db,
                "products (ticket_id, line, product_id, name, price, category)",
                [
                    (t.id, line, p.id, p.name, p.price, p.category)
                    for t in fresh.values()
                    for line, p in enumerate(t.products)
                ],
            )
            daily = rollup(fresh.values())
            db.executemany(_ADD_DAYS, daily.days)
            db.executemany(_ADD_LINES, daily.lines)
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise StoreError(f"sqlite store {self.path}: {exc}") from exc
        return len(fresh)

    @staticmethod
    def _present(db: sqlite3.Connection, ids: Sequence[str]) -> set[str]:
        present: set[str] = set()
        for chunk in _chunks(ids, _IDS_PER_QUERY):
            marks = ",".join("?" * len(chunk))
            rows = db.execute(f"SELECT id FROM tickets WHERE id IN ({marks})", chunk)  # noqa: S608
            present.update(row[0] for row in rows)
        return present

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection | None]:
        """The writer's connection, or a read-only one; None when nothing is stored yet."""
        if self._db is not None:
            yield self._db
        elif not self.path.exists():
            yield None
        else:
            with closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as db:
                yield db

    def missing(self, ids: Iterable[str]) -> set[str]:
        wanted = list(dict.fromkeys(ids))
        with self._reading() as db:
            try:
                return set(wanted) - (self._present(db, wanted) if db else set())
            except sqlite3.OperationalError:  # no tables yet: nothing stored
                return set(wanted)

    def count(self) -> int:
        with self._reading() as db:
            try:
                return int(db.execute("SELECT count(*) FROM tickets").fetchone()[0]) if db else 0
            except sqlite3.OperationalError:
                return 0

    def tally(self, filters: Filters) -> Tally:
        with self._reading() as db:
            if db is None:
                return Tally()
            try:
                return read_tally(db, filters)
            except sqlite3.OperationalError:  # no tables yet: nothing stored
                return Tally()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
