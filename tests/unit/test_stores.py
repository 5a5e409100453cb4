"""The contract every store keeps, run against each store."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from shopstream.analytics import Filters
from shopstream.errors import ConfigurationError, StoreError
from shopstream.stores import JsonFileStore, SqliteStore, open_store
from shopstream.stores.postgres import PostgresStore
from tests.contracts.stores import (
    StoreContract,
    assert_a_refusal_keeps_nothing,
    assert_a_store_from_before_top_products_gets_them,
)
from tests.unit.storedata import enriched


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("database.json", JsonFileStore),
        ("data/x.json", JsonFileStore),
        ("sqlite:///shop.db", SqliteStore),
        ("sqlite:////tmp/shop.db", SqliteStore),
        ("postgresql://shop:secret@db:5432/shop", PostgresStore),
        ("postgres://localhost/shop", PostgresStore),
    ],
)
def test_database_url_chooses_the_store(url: str, kind: type) -> None:
    assert isinstance(open_store(url), kind)


@pytest.mark.parametrize("url", ["database.csv", "mysql://x/y", "", "http://x/db.json"])
def test_an_unknown_database_url_is_refused_with_the_choices(url: str) -> None:
    with pytest.raises(ConfigurationError, match=r"\.json.*sqlite:///"):
        open_store(url)


def test_sqlite_keeps_every_product_line_of_a_large_batch(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "shop.db")
    store.open()
    store.add([enriched(str(i)) for i in range(250)])
    store.close()
    with closing(sqlite3.connect(tmp_path / "shop.db")) as db:
        assert db.execute("SELECT count(*) FROM products").fetchone() == (500,)
        last = "SELECT line, name FROM products WHERE ticket_id = '249' ORDER BY line"
        assert db.execute(last).fetchall() == [(0, "Banana"), (1, "Bread")]


def _refuse_in_sqlite(url: str) -> None:
    with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as db:
        db.execute(
            "CREATE TRIGGER no_poison BEFORE INSERT ON tickets WHEN NEW.store = 'Poison'"
            " BEGIN SELECT RAISE(ABORT, 'no poison here'); END"
        )
        db.commit()


def test_data_sqlite_refuses_for_good_is_a_ticket_refusal(tmp_path: Path) -> None:
    assert_a_refusal_keeps_nothing(f"sqlite:///{tmp_path / 'shop.db'}", _refuse_in_sqlite)


def _drop_names_in_sqlite(url: str) -> None:
    with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as db:
        db.execute("DROP TABLE daily_names")
        db.commit()


def test_a_sqlite_store_from_before_top_products_gets_them(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    assert_a_store_from_before_top_products_gets_them(url, _drop_names_in_sqlite)


def test_a_sqlite_file_that_is_not_a_database_is_an_error_not_an_empty_store(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shop.db"
    path.write_bytes(b"this is not a database" * 100)
    reader = SqliteStore(path)
    with pytest.raises(StoreError, match="not a database"):
        reader.tally(Filters())
    with pytest.raises(StoreError):
        reader.count()


def test_a_sqlite_database_without_tables_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    sqlite3.connect(path).close()
    assert SqliteStore(path).count() == 0


class TestStores(StoreContract):
    """On JSON and SQLite."""
