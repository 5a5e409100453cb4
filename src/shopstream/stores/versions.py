"""Which version of the manager's list each ticket was categorised with, in the SQL stores.

Each ticket row has a ``catalog_version``, and a roll-up beside the others counts tickets
per store, day and version, so that ``catalog_versions`` in the figures costs what the
other figures cost. A store made before versions were recorded is given both when a
worker opens it: the column (its tickets are ``unversioned``) and the roll-up, filled
from the tickets already stored, in one transaction. Until then, its readers count every
ticket as ``unversioned`` (``or_unversioned``), not none.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

from shopstream.analytics import Filters, Tally
from shopstream.catalog import UNVERSIONED
from shopstream.stores.rollup import summed

if TYPE_CHECKING:  # psycopg is imported only for a PostgreSQL store (stores/__init__.py)
    import psycopg

_COLUMN = f"catalog_version TEXT NOT NULL DEFAULT '{UNVERSIONED}'"
_TABLE = """
CREATE TABLE daily_versions (
    store           TEXT   NOT NULL,
    date            {date} NOT NULL,
    catalog_version TEXT   NOT NULL,
    tickets         BIGINT NOT NULL,
    PRIMARY KEY (store, catalog_version, date)
){options}
"""
_INDEX = "CREATE INDEX daily_versions_by_date ON daily_versions (date)"
FILL_FROM_TICKETS = """
INSERT INTO daily_versions (store, date, catalog_version, tickets)
SELECT store, date, catalog_version, count(*) FROM tickets GROUP BY store, date, catalog_version
"""
SQLITE_ADD = """
INSERT INTO daily_versions (store, date, catalog_version, tickets) VALUES (?, ?, ?, ?)
ON CONFLICT (store, catalog_version, date) DO UPDATE SET tickets = tickets + excluded.tickets
"""
POSTGRES_ADD = """
INSERT INTO daily_versions (store, date, catalog_version, tickets)
SELECT * FROM unnest(%s::text[], %s::date[], %s::text[], %s::bigint[]) AS v
ORDER BY 1, 3, 2
ON CONFLICT (store, catalog_version, date) DO UPDATE SET
    tickets = daily_versions.tickets + excluded.tickets
"""


def sqlite_versioned(db: sqlite3.Connection) -> bool:
    """Whether the store's tickets record their version (a worker of this version opened it)."""
    return "catalog_version" in {row[1] for row in db.execute("PRAGMA table_info(tickets)")}


POSTGRES_VERSIONED = """
SELECT 1 FROM information_schema.columns
WHERE table_schema = %s AND table_name = 'tickets' AND column_name = 'catalog_version'
"""
"""a row if the tickets of the schema given record their version"""


def migrate_sqlite(db: sqlite3.Connection) -> None:
    """Add the column and the roll-up if the store lacks them (``db`` in autocommit mode)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        if not sqlite_versioned(db):
            db.execute(f"ALTER TABLE tickets ADD COLUMN {_COLUMN}")
        found = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'daily_versions'")
        if found.fetchone() is None:
            db.execute(_TABLE.format(date="TEXT", options=" WITHOUT ROWID"))
            db.execute(_INDEX)
            db.execute(FILL_FROM_TICKETS)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def migrate_postgres(db: psycopg.Connection) -> None:
    """The same, in the caller's transaction (which holds the schema lock)."""
    db.execute(f"ALTER TABLE tickets ADD COLUMN IF NOT EXISTS {_COLUMN}")
    row = db.execute("SELECT to_regclass('daily_versions')").fetchone()
    if row is None or row[0] is None:
        db.execute(_TABLE.format(date="DATE", options=""))
        db.execute(_INDEX)
        db.execute(FILL_FROM_TICKETS)


def read_versions(db: Any, filters: Filters, mark: str = "?") -> dict[str, int]:
    """Catalog version -> tickets categorised with it, for ``filters``.

    Apart from ``read_tally``, as ``read_names`` is: a store written before versions were
    recorded has no ``daily_versions`` until a writer opens it (``or_unversioned``).
    """
    rows = summed(db, "catalog_version, sum(tickets)", "daily_versions", "catalog_version",
                  filters, mark)  # fmt: skip
    return {version: int(count) for version, count in rows}


def or_unversioned(found: dict[str, int], tally: Tally) -> dict[str, int]:
    """``found`` (``read_versions``), or for a store whose roll-up is missing, every ticket
    of ``tally`` as ``unversioned``: categorised before versions were recorded."""
    if found:
        return found
    tickets = sum(stored.count for stored in tally.tickets.values())
    return {UNVERSIONED: tickets} if tickets else {}
