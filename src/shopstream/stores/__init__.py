"""Stores: one ``Store`` interface, chosen by ``DATABASE_URL``."""

from __future__ import annotations

from pathlib import Path

from shopstream.errors import InvalidSettings
from shopstream.secret_url import mask
from shopstream.stores.base import Added, Store
from shopstream.stores.jsonfile import JsonFileStore
from shopstream.stores.sqlite import SqliteStore

__all__ = ["Added", "JsonFileStore", "SqliteStore", "Store", "open_store"]

_SQLITE_PREFIX = "sqlite:///"
_POSTGRES_PREFIXES = ("postgresql://", "postgres://")


def open_store(database_url: str) -> Store:
    """The store ``database_url`` names: ``*.json``, ``sqlite:///path`` or a PostgreSQL URL.

    Nothing is opened yet. psycopg is imported only for a PostgreSQL URL: it took a
    tenth of a second of every other worker's and API's start-up.
    """
    if database_url.startswith(_POSTGRES_PREFIXES):
        from shopstream.stores.postgres import PostgresStore

        return PostgresStore(database_url)
    if database_url.startswith(_SQLITE_PREFIX):
        return SqliteStore(Path(database_url.removeprefix(_SQLITE_PREFIX)))
    if database_url.endswith(".json") and "://" not in database_url:
        return JsonFileStore(Path(database_url))
    raise InvalidSettings(
        f"DATABASE_URL={mask(database_url)!r} is not a store shopstream knows: "
        "use a path ending in .json (e.g. database.json), sqlite:///path/to/file.db "
        "or postgresql://user:password@host:5432/database"
    )
