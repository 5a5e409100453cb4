"""``shopstream rebuild``: every stored ticket re-categorised with the list in force.

The store is rebuilt from itself, beside itself, then switched to at once (``shadow``):
the stored tickets are the worker's rules already applied to the ticket topic (what it
refused is not there), and their products keep the names the tills sent, which is all a
category is derived from. While the shadow is built, the API answers from the live store
and the workers go on writing into it; the rebuild follows what they write, and takes the
last of it under the store's write lock, just before the switch.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from shopstream.catalog import Catalog
from shopstream.config import Settings
from shopstream.errors import ConfigurationError
from shopstream.rebuild.changes import Changes
from shopstream.rebuild.shadow import Shadow
from shopstream.rebuild.writer import BATCH, UNHEARD, BatchWriter, Reporting
from shopstream.secret_url import mask

log = logging.getLogger(__name__)

TAIL_ROUNDS = 5
"""looks at what the workers stored meanwhile, before the last one under the write lock"""


def shadow_of(database_url: str) -> Shadow:
    """The shadow for the store ``database_url`` names."""
    if database_url.startswith(("postgresql://", "postgres://")):
        from shopstream.rebuild.pgshadow import PostgresShadow  # psycopg only when needed

        return PostgresShadow(database_url)
    if database_url.startswith("sqlite:///"):
        from shopstream.rebuild.sqliteshadow import SqliteShadow

        return SqliteShadow(Path(database_url.removeprefix("sqlite:///")))
    if database_url.endswith(".json") and "://" not in database_url:
        from shopstream.rebuild.jsonshadow import JsonShadow

        return JsonShadow(Path(database_url))
    raise ConfigurationError(f"DATABASE_URL={mask(database_url)!r} is not a store to rebuild")


@dataclass(frozen=True)
class Rebuilt:
    changes: Changes
    tickets: int
    """tickets in the store once switched"""
    meanwhile: int
    """of them, tickets the workers stored while the rebuild ran"""
    seconds: float

    @property
    def rate(self) -> float:
        return self.tickets / self.seconds if self.seconds else 0.0


def rebuild(
    settings: Settings,
    catalog: Catalog,
    stopping: threading.Event,
    reporting: Reporting = UNHEARD,
) -> Rebuilt:
    """Rebuild the store in force (``DATABASE_URL``) with ``catalog``, the list in force
    (``CATEGORIES_FILE``) when the rebuild starts.

    ``reporting`` hears how many tickets there are to rebuild (again when more arrive) and
    how many were just written. Raises ``Interrupted`` once ``stopping`` is
    set, the live store untouched.
    """
    started = time.perf_counter()
    url = settings.store.database_url.get_secret_value()
    shadow = shadow_of(url)
    writer = BatchWriter(shadow.store, Changes(catalog), stopping, reporting)
    try:
        shadow.prepare()
    except BaseException:
        shadow.release()  # the lock, if it was taken: the next rebuild may start
        raise
    try:
        shadow.feed(writer)
        writer.flush()
        first = writer.written
        for _ in range(TAIL_ROUNDS):
            before = writer.written
            shadow.feed(writer)
            writer.flush()
            reporting.total(writer.written)
            if writer.written - before < BATCH:
                break
        _check_unchanged(settings, catalog)
        writer.check()
        shadow.swap(writer)  # the last tickets, counted by the writer
    except BaseException:
        shadow.discard()
        raise
    finally:
        shadow.release()
    return Rebuilt(
        writer.changes, writer.written, writer.written - first, time.perf_counter() - started
    )


def _check_unchanged(settings: Settings, applied: Catalog) -> None:
    """Refuse to switch to tickets categorised with a list that is no longer the one in force."""
    now = Catalog.load(settings.store.categories_file)
    if now.version.hash != applied.version.hash:
        raise ConfigurationError(
            f"the category list changed while the store was rebuilt with version "
            f"{applied.version.hash} (it is now {now.version.hash}); the store was left as "
            "it is: run the rebuild again"
        )
