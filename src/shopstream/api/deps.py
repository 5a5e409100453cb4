"""Request dependencies, as ``Annotated`` aliases the routes declare.

Async on purpose: FastAPI runs a plain ``def`` dependency in its thread pool, two thread
hops per request for what is an attribute lookup.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from shopstream.catalog import Catalog
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
    catalog: Catalog = request.app.state.catalog
    return catalog


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


PublisherDep = Annotated[Publisher, Depends(_publisher)]
SettingsDep = Annotated[Settings, Depends(_settings)]
StoreDep = Annotated[Store, Depends(_store)]
CatalogDep = Annotated[Catalog, Depends(_catalog)]
