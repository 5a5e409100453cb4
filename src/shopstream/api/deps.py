"""Request dependencies, as ``Annotated`` aliases the routes declare.

Async on purpose: FastAPI runs a plain ``def`` dependency in its thread pool, two thread
hops per request for what is an attribute lookup.

The ingest routes read their publisher and settings with ``ingest_state`` instead: on
the hottest path, resolving two dependencies cost 24 of the 90 µs the whole app spent
per ``POST /data`` (measured calling the ASGI app in-process with an instant publisher).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from shopstream.catalog import Catalog
from shopstream.catalogfile import CatalogFile
from shopstream.config import Settings
from shopstream.kafka.producer import Publisher
from shopstream.stores import Store


async def _publisher(request: Request) -> Publisher:
    publisher: Publisher = request.app.state.publisher
    return publisher


async def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def _catalog(request: Request) -> Catalog:
    """The list in force: ``CATEGORIES_FILE`` as it is now (a look at the file, and a read
    only when it changed)."""
    categories: CatalogFile = request.app.state.catalog
    return categories.current()


def ingest_state(request: Request) -> tuple[Publisher, Settings]:
    """The publisher and settings of the app serving ``request``."""
    state = request.app.state
    return state.publisher, state.settings


PublisherDep = Annotated[Publisher, Depends(_publisher)]
StoreDep = Annotated[Store, Depends(_store)]
CatalogDep = Annotated[Catalog, Depends(_catalog)]
