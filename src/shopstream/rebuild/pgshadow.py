"""Rebuilding a PostgreSQL store: its tables built in a schema of their own, then moved in.

The shadow is the PostgreSQL store itself with ``search_path`` set to the schema
``shopstream_rebuild``. The switch is one transaction: it locks the live tables against
writers (readers go on), stores the tickets written since the last look into the shadow,
then moves the live tables out to ``shopstream_replaced`` and the rebuilt ones into
``public``. Queries waiting on those tables then resolve their names again and find the
new ones, prepared statements included; the old tables are dropped after the commit.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from shopstream.errors import StoreError
from shopstream.models import EnrichedTicket
from shopstream.rebuild.shadow import lost_tickets, upgrade
from shopstream.rebuild.sqlcopy import Schemas, copy_recategorised
from shopstream.rebuild.writer import BatchWriter
from shopstream.secret_url import mask
from shopstream.stores import versions
from shopstream.stores.postgres import PostgresStore
from shopstream.stores.sql import TICKETS_WHERE, tickets

SCHEMA = "shopstream_rebuild"
REPLACED = "shopstream_replaced"
LIVE = "public"
_REBUILD_LOCK = 0x72656275  # "rebu": one rebuild of a database at a time
_NOT_REBUILT = TICKETS_WHERE.format(
    where="WHERE NOT EXISTS (SELECT 1 FROM shopstream_rebuild.tickets r WHERE r.id = t.id)"
)
_ROWS_PER_FETCH = 10_000


def in_schema(url: str, schema: str) -> str:
    """``url`` as connection parameters whose unqualified table names are in ``schema``."""
    options = f"{conninfo_to_dict(url).get('options') or ''} -c search_path={schema}"
    return make_conninfo(url, options=options.strip())


class PostgresShadow:
    def __init__(self, url: str) -> None:
        self.url = url
        self.store = PostgresStore(in_schema(url, SCHEMA))
        self._admin: psycopg.Connection | None = None
        self._fed = False

    def _connect(self, autocommit: bool) -> psycopg.Connection:
        try:
            return psycopg.connect(self.url, autocommit=autocommit)
        except psycopg.Error:
            raise StoreError(f"cannot reach PostgreSQL at {mask(self.url)}") from None

    def prepare(self) -> None:
        admin = self._connect(autocommit=True)
        row = admin.execute("SELECT pg_try_advisory_lock(%s)", (_REBUILD_LOCK,)).fetchone()
        if not (row and row[0]):
            admin.close()
            raise StoreError(f"{mask(self.url)} is being rebuilt by another rebuild")
        self._admin = admin
        if admin.execute(versions.POSTGRES_VERSIONED, (LIVE,)).fetchone() is None:
            upgrade(PostgresStore(self.url))  # an older version's store, or none yet
        self._drop()  # what an interrupted rebuild left: start over
        admin.execute(f"CREATE SCHEMA {SCHEMA}")
        self.store.open()

    def _drop(self) -> None:
        if self._admin is not None:
            for schema in (SCHEMA, REPLACED):
                self._admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")

    def feed(self, writer: BatchWriter) -> None:
        with self._connect(autocommit=False) as db:
            if not self._fed:
                # rows and roll-ups of one moment: one snapshot for the whole copy
                db.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
                db.execute(f"SET LOCAL search_path TO {SCHEMA}")  # the stores' own statements
                copy_recategorised(db, Schemas(live=LIVE, shadow=SCHEMA, mark="%s"), writer)
                self._fed = True
                return
            for ticket in _read(db, _NOT_REBUILT):
                writer.take(ticket)

    def swap(self, writer: BatchWriter) -> int:
        with self._connect(autocommit=False) as db, db.transaction():
            tables = _tables(db, SCHEMA)
            replaced = [table for table in _tables(db, LIVE) if table in tables]
            # tickets first, as every worker's transaction writes it first: no deadlock.
            locked = ", ".join(f"{LIVE}.{table}" for table in replaced)
            db.execute(f"LOCK TABLE {locked} IN EXCLUSIVE MODE")
            tail = writer.convert(list(tickets(db.execute(_NOT_REBUILT))))
            self.store.add(tail)
            if _count(db, LIVE) != _count(db, SCHEMA):
                raise lost_tickets(mask(self.url))
            db.execute(f"CREATE SCHEMA {REPLACED}")
            for table in replaced:
                db.execute(f"ALTER TABLE {LIVE}.{table} SET SCHEMA {REPLACED}")
            for table in tables:
                db.execute(f"ALTER TABLE {SCHEMA}.{table} SET SCHEMA {LIVE}")
        self.store.close()
        self._drop()
        return len(tail)

    def discard(self) -> None:
        self.store.close()
        self._drop()

    def release(self) -> None:
        if self._admin is not None:
            self._admin.close()  # and with it the advisory lock
            self._admin = None


def _read(db: psycopg.Connection, query: str) -> Iterator[EnrichedTicket]:
    """The tickets ``query`` reads, fetched ``_ROWS_PER_FETCH`` rows at a time."""
    with db.cursor(name="rebuild") as rows:
        rows.itersize = _ROWS_PER_FETCH
        rows.execute(query)
        yield from tickets(rows)


def _tables(db: psycopg.Connection, schema: str) -> list[str]:
    """The tables in ``schema`` (whatever the store makes), ``tickets`` first."""
    rows = db.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s"
        " ORDER BY tablename != 'tickets', tablename",
        (schema,),
    )
    return [row[0] for row in rows]


def _count(db: psycopg.Connection, schema: str) -> int:
    row = db.execute(f"SELECT count(*) FROM {schema}.tickets").fetchone()  # noqa: S608
    return int(row[0]) if row else 0
