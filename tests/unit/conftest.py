"""Every store, opened in a temporary directory: tests taking ``store`` run against each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shopstream.stores import Store, open_store
from tests.analytics_data import enriched_tickets
from tests.postgres import PostgresServer


@pytest.fixture(params=["json", "sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "json":
        return str(tmp_path / "database.json")
    if request.param == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres")
        return server.new_database()
    return f"sqlite:///{tmp_path / 'shop.db'}"


@pytest.fixture
def filled(store_url: str) -> str:
    """A store holding the hand-computed analytics fixture; its URL."""
    writer = open_store(store_url)
    writer.open()
    writer.add(enriched_tickets())
    writer.close()
    return store_url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    opened.open()
    yield opened
    opened.close()
