"""PostgreSQL: the SQLite store's tables, for many workers on many machines.

A batch is one transaction: its tickets are copied into a temporary staging table and
inserted with ``ON CONFLICT (id) DO NOTHING RETURNING id``, so only the tickets no one
stored before get product lines and count in the daily roll-ups. Two workers racing on
the same ticket id serialise on the primary key: the second one inserts nothing. Every
transaction takes its row locks in key order (tickets by id, then the roll-ups by key),
so racing writers wait for each other but never deadlock. Offsets are committed by the
worker only after ``add`` returns, that is after ``COMMIT``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

import psycopg

from shopstream.analytics import Filters, Tally
from shopstream.errors import ConfigurationError, StoreError, StoreUnavailable, TicketRefused
from shopstream.models import EnrichedTicket, purchase
from shopstream.secret_url import mask, scrub
from shopstream.stores import versions
from shopstream.stores.base import Added
from shopstream.stores.rollup import NAMES_FROM_PRODUCTS, read_names, read_tally, rollup
from shopstream.stores.sql import STORED_PURCHASES, STORED_TICKETS, purchases, tickets

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    id          TEXT PRIMARY KEY,
    store       TEXT NOT NULL,
    date        DATE NOT NULL,
    total_price DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS products (
    ticket_id  TEXT    NOT NULL REFERENCES tickets (id),
    line       INTEGER NOT NULL,
    product_id TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    price      DOUBLE PRECISION NOT NULL,
    category   TEXT    NOT NULL,
    PRIMARY KEY (ticket_id, line)
);
CREATE TABLE IF NOT EXISTS daily_tickets (
    store     TEXT    NOT NULL,
    date      DATE    NOT NULL,
    tickets   BIGINT  NOT NULL,
    total_sum DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (store, date)
);
CREATE TABLE IF NOT EXISTS daily_products (
    store     TEXT    NOT NULL,
    date      DATE    NOT NULL,
    category  TEXT    NOT NULL,
    lines     BIGINT  NOT NULL,
    price_sum DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (store, category, date)
);
CREATE TABLE IF NOT EXISTS daily_names (
    store     TEXT    NOT NULL,
    date      DATE    NOT NULL,
    name      TEXT    NOT NULL,
    lines     BIGINT  NOT NULL,
    price_sum DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (store, name, date)
);
CREATE INDEX IF NOT EXISTS daily_tickets_by_date ON daily_tickets (date);
CREATE INDEX IF NOT EXISTS daily_products_by_date ON daily_products (date);
CREATE INDEX IF NOT EXISTS daily_names_by_date ON daily_names (date);
"""
# Several workers may start at once: one creates the tables, the others wait for it.
_SCHEMA_LOCK = 0x73686F70  # "shop"
_STAGE = """
CREATE TEMPORARY TABLE IF NOT EXISTS staged_tickets (
    id TEXT, store TEXT, date DATE, total_price DOUBLE PRECISION, catalog_version TEXT
) ON COMMIT DELETE ROWS
"""
_INSERT_NEW = """
INSERT INTO tickets (id, store, date, total_price, catalog_version)
SELECT id, store, date, total_price, catalog_version FROM staged_tickets ORDER BY id
ON CONFLICT (id) DO NOTHING
RETURNING id
"""


def _adding(table: str, columns: dict[str, str], key: tuple[str, ...]) -> str:
    """The statement adding a batch's roll-up rows to ``table`` (``columns``: name -> type).

    The rows come as one array per column (``unnest``): one round trip however many days.
    They are inserted in ``key`` order, the primary key's, so that racing writers lock
    rows in one order and never deadlock. The columns not in ``key`` are sums.
    """
    names = list(columns)
    arrays = ", ".join(f"%s::{kind}[]" for kind in columns.values())
    order = ", ".join(str(names.index(column) + 1) for column in key)
    sums = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in names if c not in key)
    return (
        f"INSERT INTO {table} ({', '.join(names)}) SELECT * FROM unnest({arrays}) AS batch"  # noqa: S608
        f" ORDER BY {order} ON CONFLICT ({', '.join(key)}) DO UPDATE SET {sums}"
    )


_LINE_COLUMNS = {"lines": "bigint", "price_sum": "float8"}
_ADD_DAYS = _adding(
    "daily_tickets",
    {"store": "text", "date": "date", "tickets": "bigint", "total_sum": "float8"},
    ("store", "date"),
)
_ADD_LINES = _adding(
    "daily_products",
    {"store": "text", "date": "date", "category": "text", **_LINE_COLUMNS},
    ("store", "category", "date"),
)
_ADD_NAMES = _adding(
    "daily_names",
    {"store": "text", "date": "date", "name": "text", **_LINE_COLUMNS},
    ("store", "name", "date"),
)
_CONNECT_TIMEOUT_S = 5
_STORED = STORED_PURCHASES.format(condition="= ANY(%s)")
# SQLSTATE classes by what they mean for a batch; any other is about the database itself
# (28 authorization, 3D a database missing, 42 a table, a column or a right missing, as
# 42501 insufficient_privilege): the worker stops with its message.
_REFUSED = ("22", "23")  # data exception, integrity constraint violation: this data
_BUSY = ("08", "40", "53", "55", "57", "58")  # connection, rollback, resources, restart, I/O
# A connection the server refused for what it is, which a retry cannot change. libpq gives
# no SQLSTATE for a failed connection (psycopg's error has none), only the server's
# message, which names these in PostgreSQL's English (its default messages). Anything else
# is taken as the server unreachable or restarting (57P03 starting up, shutting down, in
# recovery; 53300 too many clients), and retried.
_REFUSED_FOR_GOOD = (
    "does not exist",  # 3D000 the database, 28000 the role
    "authentication failed",  # 28P01 a wrong password; 28000 peer, ident, certificate
    "no pg_hba.conf entry",  # 28000 this user, database or host is not let in
    "not permitted to log in",  # 28000 a role without LOGIN
    "permission denied for database",  # 42501 no CONNECT privilege
    "no password supplied",  # libpq: the server asks for a password, the URL has none
)


def _problem(exc: psycopg.Error, doing: str) -> StoreError:
    """``exc`` as what the worker should do about it: retry, isolate the ticket, or stop."""
    message = f"PostgreSQL {doing}: {exc}"
    state = exc.sqlstate or ""
    if state.startswith(_REFUSED):
        return TicketRefused(message)
    if state.startswith(_BUSY) or (not state and isinstance(exc, psycopg.OperationalError)):
        return StoreUnavailable(message)
    return StoreError(message)


def _columns(rows: Sequence[tuple[object, ...]]) -> list[list[object]]:
    """Rows as one list per column: the arrays ``unnest`` takes."""
    return [list(column) for column in zip(*rows, strict=True)]


class PostgresStore:
    """Tickets in PostgreSQL; ``url`` is a libpq URL (``postgresql://user@host/db``)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._writer: psycopg.Connection | None = None
        self._reader: psycopg.Connection | None = None
        self._reader_lock = threading.Lock()  # the API reads from its thread pool

    def _connect(self, autocommit: bool) -> psycopg.Connection:
        try:
            return psycopg.connect(
                self.url, autocommit=autocommit, connect_timeout=_CONNECT_TIMEOUT_S
            )
        except psycopg.Error as exc:
            # libpq's message may quote the part of the URL it could not parse, password
            # and all; the original exception is not chained, so no traceback shows it.
            reason = scrub(str(exc), self.url)
            if isinstance(exc, psycopg.ProgrammingError):  # the URL itself: waiting won't help
                raise ConfigurationError(
                    f"DATABASE_URL is not a valid PostgreSQL URL: {reason}"
                ) from None
            if any(words in reason for words in _REFUSED_FOR_GOOD):
                raise StoreError(
                    f"PostgreSQL at {mask(self.url)} refused the connection: {reason}"
                ) from None
            raise StoreUnavailable(
                f"cannot reach PostgreSQL at {mask(self.url)}: {reason}"
            ) from None

    def open(self) -> None:
        db = self._connect(autocommit=False)
        try:
            with db.transaction():
                db.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                db.execute(_SCHEMA)
                versions.migrate_postgres(db)
                db.execute(NAMES_FROM_PRODUCTS)
        except psycopg.Error as exc:
            db.close()
            raise _problem(exc, "could not create the tables") from exc
        self._writer = db

    def _writing(self) -> psycopg.Connection:
        """The writer's connection, made again if the server dropped it (a restart)."""
        if self._writer is None:
            raise StoreError("the PostgreSQL store was not opened for writing; call open() first")
        if self._writer.closed or self._writer.broken:
            self._writer.close()
            self._writer = self._connect(autocommit=False)
        return self._writer

    def add(self, tickets: Sequence[EnrichedTicket]) -> Added:
        db = self._writing()
        if not tickets:
            return Added()
        batch = {t.id: t for t in tickets}
        try:
            with db.transaction():
                db.execute(_STAGE)
                with db.cursor().copy(
                    "COPY staged_tickets (id, store, date, total_price, catalog_version) FROM STDIN"
                ) as copy:
                    for t in batch.values():
                        copy.write_row((t.id, t.store, t.date, t.total_price, t.catalog_version))
                inserted = {row[0] for row in db.execute(_INSERT_NEW)}
                fresh = [t for t in batch.values() if t.id in inserted]
                conflicts = self._conflicts(db, [t for t in batch.values() if t.id not in inserted])
                with db.cursor().copy(
                    "COPY products (ticket_id, line, product_id, name, price, category) FROM STDIN"
                ) as copy:
                    for t in fresh:
                        for line, p in enumerate(t.products):
                            copy.write_row((t.id, line, p.id, p.name, p.price, p.category))
                daily = rollup(fresh)
                if daily.days:
                    db.execute(_ADD_DAYS, _columns(daily.days))
                    db.execute(_ADD_LINES, _columns(daily.lines))
                    db.execute(versions.POSTGRES_ADD, _columns(daily.versions))
                    db.execute(_ADD_NAMES, _columns(daily.names))
        except psycopg.Error as exc:
            raise _problem(exc, "did not store the batch") from exc
        return Added(len(fresh), conflicts)

    @staticmethod
    def _conflicts(db: psycopg.Connection, stored_before: list[EnrichedTicket]) -> list[str]:
        """The ids among ``stored_before`` whose stored purchase is another one."""
        if not stored_before:
            return []
        stored = purchases(db.execute(_STORED, ([t.id for t in stored_before],)))
        return [t.id for t in stored_before if stored.get(t.id) != purchase(t)]

    @contextmanager
    def _reading(self) -> Iterator[psycopg.Connection]:
        """One autocommit connection for reads, made again when the server dropped it."""
        with self._reader_lock:
            if self._reader is None or self._reader.closed or self._reader.broken:
                self._reader = self._connect(autocommit=True)
            try:
                yield self._reader
            except psycopg.errors.UndefinedTable:
                raise
            except psycopg.Error as exc:
                raise _problem(exc, "did not answer") from exc

    def missing(self, ids: Iterable[str]) -> set[str]:
        wanted = list(dict.fromkeys(ids))
        try:
            with self._reading() as db:
                rows = db.execute("SELECT id FROM tickets WHERE id = ANY(%s)", (wanted,))
                return set(wanted) - {row[0] for row in rows}
        except psycopg.errors.UndefinedTable:  # no tables yet: nothing stored
            return set(wanted)

    def count(self) -> int:
        try:
            with self._reading() as db:
                row = db.execute("SELECT count(*) FROM tickets").fetchone()
        except psycopg.errors.UndefinedTable:
            return 0
        return int(row[0]) if row else 0

    def tally(self, filters: Filters) -> Tally:
        try:
            with self._reading() as db:
                tally = read_tally(db, filters, mark="%s", iso_day="to_char(date, 'YYYY-MM-DD')")
        except psycopg.errors.UndefinedTable:  # no tables yet: nothing stored
            return Tally()
        try:
            with self._reading() as db:
                tally.names.update(read_names(db, filters, mark="%s"))
        except psycopg.errors.UndefinedTable:  # written before daily_names: none yet
            pass
        found: dict[str, int] = {}
        try:
            with self._reading() as db:
                found = versions.read_versions(db, filters, mark="%s")
        except psycopg.errors.UndefinedTable:  # written before daily_versions
            pass
        tally.versions.update(versions.or_unversioned(found, tally))
        return tally

    def tickets(self) -> Iterator[EnrichedTicket]:
        try:
            with self._connect(autocommit=False) as db, db.cursor(name="every_ticket") as rows:
                rows.execute(STORED_TICKETS)
                yield from tickets(rows)
        except psycopg.errors.UndefinedTable:  # no tables yet: nothing stored
            return
        except psycopg.Error as exc:
            raise _problem(exc, "did not answer") from exc

    def close(self) -> None:
        for db in (self._writer, self._reader):
            if db is not None:
                db.close()
        self._writer = self._reader = None
