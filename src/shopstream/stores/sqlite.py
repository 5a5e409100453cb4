"""SQLite: tickets, product lines and their daily roll-ups; one transaction per batch."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing
from itertools import chain
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

from shopstream.analytics import Filters, Sum, Tally
from shopstream.errors import StoreError, StoreUnavailable, TicketRefused
from shopstream.models import EnrichedTicket, Purchase, purchase
from shopstream.stores import versions
from shopstream.stores.base import Added
from shopstream.stores.rollup import NAMES_FROM_PRODUCTS, read_names, read_tally, rollup
from shopstream.stores.sql import STORED_PURCHASES, STORED_TICKETS, purchases, tickets

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
CREATE TABLE IF NOT EXISTS daily_names (
    store     TEXT    NOT NULL,
    date      TEXT    NOT NULL,
    name      TEXT    NOT NULL,
    lines     INTEGER NOT NULL,
    price_sum REAL    NOT NULL,
    PRIMARY KEY (store, name, date)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS daily_tickets_by_date ON daily_tickets (date);
CREATE INDEX IF NOT EXISTS daily_products_by_date ON daily_products (date);
CREATE INDEX IF NOT EXISTS daily_names_by_date ON daily_names (date);
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
_ADD_NAMES = """
INSERT INTO daily_names (store, date, name, lines, price_sum) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (store, name, date) DO UPDATE SET
    lines = lines + excluded.lines, price_sum = price_sum + excluded.price_sum
"""
# SQLite allows 32766 host parameters per statement; stay well below.
_IDS_PER_QUERY = 500
_ROWS_PER_INSERT = 100

# SQLite's primary result codes, by what they mean for a batch. Anything else is about the
# database itself (read-only, corrupt, not a database, a table or column missing): fatal.
_BUSY = frozenset({5, 6, 10, 13, 15})  # BUSY, LOCKED, IOERR, FULL, PROTOCOL: may mend
_REFUSED = frozenset({18, 19, 20, 25})  # TOOBIG, CONSTRAINT, MISMATCH, RANGE: this data

T = TypeVar("T")


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _problem(path: Path, exc: sqlite3.Error) -> StoreError:
    """``exc`` as what the worker should do about it: retry, isolate the ticket, or stop."""
    message = f"sqlite store {path}: {exc}"
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    if code in _BUSY:
        return StoreUnavailable(message)
    if code in _REFUSED or isinstance(exc, sqlite3.IntegrityError | sqlite3.DataError):
        return TicketRefused(message)
    return StoreError(message)


def read_only_uri(path: Path) -> str:
    """``path`` as a URI SQLite opens read-only: a ``?`` or ``#`` in it is quoted, not read
    as the URI's query or fragment (which would open another file)."""
    return f"file:{quote(str(path))}?mode=ro"


def _no_tables(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` says the tables are not created yet: nothing is stored."""
    return isinstance(exc, sqlite3.OperationalError) and "no such table" in str(exc)


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
        versions.migrate_sqlite(db)
        db.execute("BEGIN IMMEDIATE")  # another worker may be filling it too
        db.execute(NAMES_FROM_PRODUCTS)
        db.execute("COMMIT")
        self._db = db

    def add(self, tickets: Sequence[EnrichedTicket]) -> Added:
        if self._db is None:
            raise StoreError("the sqlite store was not opened for writing; call open() first")
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            added = self.write_batch(db, tickets)
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise _problem(self.path, exc) from exc
        return added

    @classmethod
    def write_batch(cls, db: sqlite3.Connection, tickets: Sequence[EnrichedTicket]) -> Added:
        """What ``add`` writes, in the caller's transaction on ``db`` (a rebuild's switch)."""
        stored = cls._stored(db, [t.id for t in tickets])
        fresh = {t.id: t for t in tickets if t.id not in stored}
        conflicts = [t.id for t in tickets if t.id in stored and stored[t.id] != purchase(t)]
        _insert(
            db,
            "tickets (id, store, date, total_price, catalog_version)",
            [
                (t.id, t.store, t.date.isoformat(), t.total_price, t.catalog_version)
                for t in fresh.values()
            ],
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
        db.executemany(_ADD_NAMES, daily.names)
        db.executemany(versions.SQLITE_ADD, daily.versions)
        return Added(len(fresh), conflicts)

    @classmethod
    def _stored(cls, db: sqlite3.Connection, ids: Sequence[str]) -> dict[str, Purchase]:
        """The stored purchase of each of ``ids`` that is stored (usually none)."""
        present = list(cls._present(db, ids))
        found: dict[str, Purchase] = {}
        for chunk in _chunks(present, _IDS_PER_QUERY):
            condition = f"IN ({','.join('?' * len(chunk))})"
            rows = db.execute(STORED_PURCHASES.format(condition=condition), chunk)
            found.update(purchases(rows))
        return found

    @staticmethod
    def _present(db: sqlite3.Connection, ids: Sequence[str]) -> set[str]:
        present: set[str] = set()
        for chunk in _chunks(ids, _IDS_PER_QUERY):
            marks = ",".join("?" * len(chunk))
            rows = db.execute(f"SELECT id FROM tickets WHERE id IN ({marks})", chunk)  # noqa: S608
            present.update(row[0] for row in rows)
        return present

    def _read(self, query: Callable[[sqlite3.Connection], T], empty: T) -> T:
        """``query`` on the writer's connection or a read-only one; ``empty`` if nothing is stored.

        Only a missing file or missing tables mean "nothing stored"; any other error (a
        file that is not a database, a lock held too long) is a ``StoreError``: the API
        answers 503 rather than the figures of an empty store.
        """
        try:
            if self._db is not None:
                return query(self._db)
            if not self.path.exists():
                return empty
            with closing(sqlite3.connect(read_only_uri(self.path), uri=True)) as db:
                return query(db)
        except sqlite3.Error as exc:
            if _no_tables(exc):
                return empty
            problem = _problem(self.path, exc)
            if isinstance(problem, StoreUnavailable):
                raise problem from exc
            raise StoreError(f"sqlite store {self.path} cannot be read: {exc}") from exc

    def missing(self, ids: Iterable[str]) -> set[str]:
        wanted = list(dict.fromkeys(ids))
        nothing: set[str] = set()
        return set(wanted) - self._read(lambda db: self._present(db, wanted), nothing)

    def count(self) -> int:
        return self._read(
            lambda db: int(db.execute("SELECT count(*) FROM tickets").fetchone()[0]), 0
        )

    def tally(self, filters: Filters) -> Tally:
        tally = self._read(lambda db: read_tally(db, filters), Tally())
        no_names: dict[str, Sum] = {}
        tally.names.update(self._read(lambda db: read_names(db, filters), no_names))
        no_versions: dict[str, int] = {}
        found = self._read(lambda db: versions.read_versions(db, filters), no_versions)
        tally.versions.update(versions.or_unversioned(found, tally))
        return tally

    def tickets(self) -> Iterator[EnrichedTicket]:
        if not self.path.exists():
            return
        try:
            # An export streamed over HTTP reads on from whichever thread the server gives
            # it next; the connection is only ever used by this generator, one step at a time.
            read_only = read_only_uri(self.path)
            with closing(sqlite3.connect(read_only, uri=True, check_same_thread=False)) as db:
                yield from tickets(db.execute(STORED_TICKETS))
        except sqlite3.Error as exc:
            if not _no_tables(exc):
                raise StoreError(f"sqlite store {self.path} cannot be read: {exc}") from exc

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
