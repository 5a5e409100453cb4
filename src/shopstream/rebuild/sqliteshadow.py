"""Rebuilding a SQLite store: a database file beside it, copied into it in one transaction.

SQLite cannot have a file renamed under connections open on it (its write-ahead log
belongs to a path), so the switch happens inside the live file: one write transaction
empties each table and fills it from the rebuilt file, with the tickets stored since the
last look added re-categorised. Readers see the old tables until it commits, then the new
ones; workers wait for it (and retry their batch if it outlasts their busy timeout).
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from shopstream.errors import StoreError
from shopstream.rebuild.shadow import BesideFile, lost_tickets, upgrade
from shopstream.rebuild.sqlcopy import Schemas, copy_recategorised
from shopstream.rebuild.writer import BatchWriter
from shopstream.stores import SqliteStore, versions
from shopstream.stores.sql import TICKETS_WHERE, tickets
from shopstream.stores.sqlite import read_only_uri

_NOT_REBUILT = TICKETS_WHERE.format(
    where="WHERE NOT EXISTS (SELECT 1 FROM rebuilt.tickets r WHERE r.id = t.id)"
)
_SWITCH_WAIT_MS = 120_000  # a worker's batch in progress finishes first
_CHECKPOINT_WAIT_MS = 2_000


class SqliteShadow(BesideFile):
    def __init__(self, live: Path) -> None:
        super().__init__(live)
        self.store = SqliteStore(self.path)
        self._fed = False

    def prepare(self) -> None:
        self._lock.take()
        self._upgrade_live()
        self._remove()  # an interrupted rebuild's: start over
        self.store.open()

    def _upgrade_live(self) -> None:
        """The live store brought to this version's tables if an older version wrote it."""
        if not self.live.exists():  # a typo in DATABASE_URL: make no store there
            raise StoreError(f"there is no SQLite store at {self.live}: nothing to rebuild")
        try:
            with closing(sqlite3.connect(read_only_uri(self.live), uri=True)) as db:
                versioned = versions.sqlite_versioned(db)
            if not versioned:
                upgrade(SqliteStore(self.live))
        except sqlite3.Error as exc:
            raise StoreError(
                f"sqlite store {self.live} could not be brought to this version's tables: {exc}"
            ) from exc

    def _remove(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)

    def _reading(self) -> sqlite3.Connection:
        """A read-only connection to the live store, the shadow attached as ``rebuilt``."""
        db = sqlite3.connect(read_only_uri(self.live), uri=True)
        db.execute("ATTACH DATABASE ? AS rebuilt", (read_only_uri(self.path),))
        return db

    def feed(self, writer: BatchWriter) -> None:
        if not self._fed:
            self._copy(writer)
            self._fed = True
            return
        with closing(self._reading()) as db:
            for ticket in tickets(db.execute(_NOT_REBUILT)):
                writer.take(ticket)

    def _copy(self, writer: BatchWriter) -> None:
        """Every live ticket, copied by SQLite in one transaction on one snapshot of it.

        Under a rollback journal, not the store's write-ahead log: a new page needs no
        journal, so the shadow takes the store's size on disk, where a log would hold a
        second copy of it until the transaction's end.
        """
        self.store.close()  # the journal mode changes only with no other connection
        db = sqlite3.connect(self.path, uri=True, isolation_level=None)  # a path: not file:
        try:
            db.execute("PRAGMA main.journal_mode=DELETE")
            db.execute("ATTACH DATABASE ? AS live", (read_only_uri(self.live),))
            db.execute("BEGIN")
            try:
                copy_recategorised(db, Schemas(live="live", shadow="main", mark="?"), writer)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        finally:
            db.close()
        self.store.open()  # back in WAL mode, for the tickets the workers store meanwhile

    def swap(self, writer: BatchWriter) -> int:
        self.store.close()
        db = sqlite3.connect(self.live, isolation_level=None)
        try:
            db.execute(f"PRAGMA busy_timeout={_SWITCH_WAIT_MS}")
            db.execute("ATTACH DATABASE ? AS rebuilt", (str(self.path),))
            db.execute("BEGIN IMMEDIATE")
            try:
                tail = writer.convert(list(tickets(db.execute(_NOT_REBUILT))))
                live = _count(db, "main")
                if live != _count(db, "rebuilt") + len(tail):
                    raise lost_tickets(str(self.live))
                for table in _tables(db):
                    _copy(db, table)
                SqliteStore.write_batch(db, tail)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("DETACH DATABASE rebuilt")
            # The copy went through the log: give its space back, if no writer is busy.
            db.execute(f"PRAGMA busy_timeout={_CHECKPOINT_WAIT_MS}")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            db.close()
        self._remove()
        return len(tail)

    def discard(self) -> None:
        self.store.close()
        self._remove()


def _count(db: sqlite3.Connection, schema: str) -> int:
    return int(db.execute(f"SELECT count(*) FROM {schema}.tickets").fetchone()[0])  # noqa: S608


def _tables(db: sqlite3.Connection) -> list[str]:
    """Every table the rebuilt store has: those the store makes, whatever they are."""
    rows = db.execute(
        "SELECT name FROM rebuilt.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    return [row[0] for row in rows]


def _copy(db: sqlite3.Connection, table: str) -> None:
    """Replace the rows of the live ``table`` with the rebuilt one's (names from the schema)."""
    columns = ", ".join(row[1] for row in db.execute(f"PRAGMA rebuilt.table_info({table})"))
    db.execute(f"DELETE FROM main.{table}")  # noqa: S608
    db.execute(f"INSERT INTO main.{table} ({columns}) SELECT {columns} FROM rebuilt.{table}")  # noqa: S608
