"""The contract every store keeps, run against each store."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from shopstream.analytics import Filters
from shopstream.errors import ConfigurationError
from shopstream.stores import JsonFileStore, SqliteStore, Store, open_store
from shopstream.stores.postgres import PostgresStore
from tests.unit.storedata import enriched


def test_added_tickets_are_stored(store: Store) -> None:
    assert store.add([enriched("1"), enriched("2")]) == 2
    assert store.count() == 2
    assert store.missing(["1", "2", "3"]) == {"3"}


def test_a_ticket_is_stored_once_whatever_is_redelivered(store: Store) -> None:
    store.add([enriched("1"), enriched("2")])
    assert store.add([enriched("2"), enriched("3"), enriched("3")]) == 1
    assert store.add([enriched("1")]) == 0
    assert store.count() == 3


def test_an_empty_batch_changes_nothing(store: Store) -> None:
    assert store.add([]) == 0
    assert store.count() == 0


def test_a_batch_larger_than_one_statement_is_stored_whole(store: Store) -> None:
    """The SQL stores write rows a hundred per statement; 250 tickets end mid-statement."""
    assert store.add([enriched(str(i)) for i in range(250)]) == 250
    assert store.count() == 250
    assert store.missing(str(i) for i in range(251)) == {"250"}
    assert store.tally(Filters()).products["Brussels", "Bakery"].count == 250


def test_a_reopened_store_has_everything_and_still_dedupes(store: Store, store_url: str) -> None:
    store.add([enriched(str(i)) for i in range(100)])
    store.close()
    again = open_store(store_url)
    again.open()
    assert again.count() == 100
    assert again.add([enriched("5"), enriched("100")]) == 1
    again.close()


def test_a_reader_sees_what_the_writer_stored(store: Store, store_url: str) -> None:
    reader = open_store(store_url)
    assert reader.count() == 0
    store.add([enriched("a"), enriched("b")])
    assert reader.count() == 2
    assert reader.missing(["a", "z"]) == {"z"}


def test_a_reader_of_a_store_not_yet_made_sees_nothing(store_url: str) -> None:
    reader = open_store(store_url)
    assert reader.count() == 0
    assert reader.missing(["1"]) == {"1"}


def test_adding_before_open_is_an_error(store_url: str) -> None:
    with pytest.raises(Exception, match="open"):
        open_store(store_url).add([enriched("1")])


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
