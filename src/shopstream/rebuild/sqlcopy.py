"""A SQL store's tickets copied into its shadow re-categorised, by the database itself.

A product's category depends on its name alone, and a store holds few distinct names
however many lines it has. So the rebuild categorises each distinct name once, in Python,
puts the answers in a temporary table, and lets the database copy every row across with
``INSERT … SELECT`` joined to it: no ticket is read into Python. The roll-ups are then
summed afresh from the copied rows, as a worker would have summed them (the live ones are
not trusted: rows a worker older than ``daily_names`` wrote are missing from it), the lines
per category being the lines per name summed under their new category.

It all happens in one transaction that the caller opens on a snapshot of the live store
(SQLite's read transaction, PostgreSQL's ``REPEATABLE READ``), so that rows and roll-ups
are of the same moment; what the workers store after it is fed by the rebuild's next look.
The tickets go in chunks in id order, for the progress bar and a stop between two chunks
(a stop is not heard inside the statements over the whole store: the names, the moves and
the roll-ups, a few seconds at a million tickets).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shopstream.rebuild.changes import Changes
from shopstream.rebuild.writer import BatchWriter
from shopstream.stores import versions
from shopstream.stores.rollup import NAMES_FROM_PRODUCTS

CHUNK = 20_000
"""tickets per ``INSERT … SELECT``: a progress step, and a point where a stop is heard"""


@dataclass(frozen=True)
class Schemas:
    """Where the connection sees the live tables and the shadow's, and its placeholder."""

    live: str
    shadow: str
    mark: str


def copy_recategorised(db: Any, at: Schemas, writer: BatchWriter) -> None:
    """Every ticket of ``at.live`` into ``at.shadow`` under ``writer``'s list, with its roll-ups.

    ``db`` is a SQLite or psycopg connection, in the caller's transaction, on which an
    unqualified table name is the shadow's (SQLite's main database, PostgreSQL's
    ``search_path``); ``writer``
    counts and reports the tickets copied and the lines that moved, and says when to stop.
    """
    live, shadow, mark = at.live, at.shadow, at.mark
    changes = writer.changes
    version = changes.catalog.version.hash
    names = db.execute(f"SELECT DISTINCT name FROM {live}.products").fetchall()  # noqa: S608
    db.execute("CREATE TEMPORARY TABLE rebuild_categories (name TEXT PRIMARY KEY, category TEXT)")
    db.cursor().executemany(
        f"INSERT INTO rebuild_categories VALUES ({mark}, {mark})",  # noqa: S608
        [(name, changes.catalog.category_of(name)) for (name,) in names],
    )
    db.execute("ANALYZE rebuild_categories")
    _count_moves(db, live, changes)
    writer.reporting.total(int(db.execute(f"SELECT count(*) FROM {live}.tickets").fetchone()[0]))  # noqa: S608
    after = ""  # every id is a non-empty text
    while True:
        writer.check()
        upto, count = db.execute(
            f"SELECT max(id), count(*) FROM (SELECT id FROM {live}.tickets WHERE id > {mark}"  # noqa: S608
            f" ORDER BY id LIMIT {CHUNK}) AS chunk",
            (after,),
        ).fetchone()
        if not count:
            break
        db.execute(
            f"INSERT INTO {shadow}.tickets (id, store, date, total_price, catalog_version)"  # noqa: S608
            f" SELECT id, store, date, total_price, {mark} FROM {live}.tickets"
            f" WHERE id > {mark} AND id <= {mark}",
            (version, after, upto),
        )
        db.execute(
            f"INSERT INTO {shadow}.products (ticket_id, line, product_id, name, price, category)"  # noqa: S608
            " SELECT p.ticket_id, p.line, p.product_id, p.name, p.price, c.category"
            f" FROM {live}.products p JOIN rebuild_categories c ON c.name = p.name"
            f" WHERE p.ticket_id > {mark} AND p.ticket_id <= {mark}",
            (after, upto),
        )
        writer.copied(int(count))
        after = upto
    _sum_rollups(db, shadow)
    db.execute("DROP TABLE rebuild_categories")


def _count_moves(db: Any, live: str, changes: Changes) -> None:
    """The lines whose category the new list changes, by (before, after, name)."""
    rows = db.execute(
        "SELECT p.category, c.category, p.name, count(*)"  # noqa: S608
        f" FROM {live}.products p JOIN rebuild_categories c ON c.name = p.name"
        " WHERE p.category <> c.category GROUP BY p.category, c.category, p.name"
    )
    for before, after, name, lines in rows:
        changes.moved(before, after, name, int(lines))


def _sum_rollups(db: Any, shadow: str) -> None:
    """The shadow's roll-ups, summed from its own rows.

    The per-name and per-version ones are the stores' own statements (``rollup``,
    ``versions``), whose unqualified names the caller resolves to the shadow first.
    """
    db.execute(
        f"INSERT INTO {shadow}.daily_tickets (store, date, tickets, total_sum)"  # noqa: S608
        f" SELECT store, date, count(*), sum(total_price) FROM {shadow}.tickets"
        " GROUP BY store, date"
    )
    db.execute(NAMES_FROM_PRODUCTS)
    db.execute(
        f"INSERT INTO {shadow}.daily_products (store, date, category, lines, price_sum)"  # noqa: S608
        " SELECT n.store, n.date, c.category, sum(n.lines), sum(n.price_sum)"
        f" FROM {shadow}.daily_names n JOIN rebuild_categories c ON c.name = n.name"
        " GROUP BY n.store, n.date, c.category"
    )
    db.execute(versions.FILL_FROM_TICKETS)
