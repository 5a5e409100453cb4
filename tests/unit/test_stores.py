"""The contract every store keeps, run against each store."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import psycopg
import pytest

from shopstream.analytics import Filters
from shopstream.errors import ConfigurationError, StoreError, TicketRefused
from shopstream.stores import Added, JsonFileStore, SqliteStore, Store, open_store
from shopstream.stores.postgres import PostgresStore
from tests.postgres import PostgresServer
from tests.unit.storedata import enriched


def test_added_tickets_are_stored(store: Store) -> None:
    assert store.add([enriched("1"), enriched("2")]).new == 2
    assert store.count() == 2
    assert store.missing(["1", "2", "3"]) == {"3"}


def test_a_ticket_is_stored_once_whatever_is_redelivered(store: Store) -> None:
    store.add([enriched("1"), enriched("2")])
    assert store.add([enriched("2"), enriched("3"), enriched("3")]).new == 1
    assert store.add([enriched("1")]).new == 0
    assert store.count() == 3


def test_an_empty_batch_changes_nothing(store: Store) -> None:
    assert store.add([]).new == 0
    assert store.count() == 0


def test_a_batch_larger_than_one_statement_is_stored_whole(store: Store) -> None:
    """The SQL stores write rows a hundred per statement; 250 tickets end mid-statement."""
    assert store.add([enriched(str(i)) for i in range(250)]).new == 250
    assert store.count() == 250
    assert store.missing(str(i) for i in range(251)) == {"250"}
    assert store.tally(Filters()).products["Brussels", "Bakery"].count == 250


def test_a_reopened_store_has_everything_and_still_dedupes(store: Store, store_url: str) -> None:
    store.add([enriched(str(i)) for i in range(100)])
    store.close()
    again = open_store(store_url)
    again.open()
    assert again.count() == 100
    assert again.add([enriched("5"), enriched("100")]).new == 1
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


def test_the_same_id_with_another_purchase_is_a_conflict_and_the_first_stays(
    store: Store,
) -> None:
    store.add([enriched("1"), enriched("2")])
    added = store.add([enriched("1", store="Ghent"), enriched("2", price=9.0), enriched("3")])
    assert added.new == 1
    assert sorted(added.conflicts) == ["1", "2"]
    tally = store.tally(Filters())
    assert set(tally.tickets) == {"Brussels"}
    assert tally.tickets["Brussels"].count == 3
    assert tally.products["Brussels", "Fruit"].amount == 4.5


def test_the_same_purchase_categorised_otherwise_is_no_conflict(store: Store) -> None:
    """Categories follow the manager's list, which may change between two deliveries."""
    store.add([enriched("1")])
    again = enriched("1")
    again.products[0].category = "Other"
    assert store.add([again]) == Added(0, [])


def _refuse_in_sqlite(url: str) -> None:
    with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as db:
        db.execute(
            "CREATE TRIGGER no_poison BEFORE INSERT ON tickets WHEN NEW.store = 'Poison'"
            " BEGIN SELECT RAISE(ABORT, 'no poison here'); END"
        )
        db.commit()


def _refuse_in_postgres(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("ALTER TABLE tickets ADD CONSTRAINT no_poison CHECK (store <> 'Poison')")


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_data_a_sql_store_refuses_for_good_is_a_ticket_refusal(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'shop.db'}"
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        url = server.new_database()
    store = open_store(url)
    store.open()
    (_refuse_in_sqlite if kind == "sqlite" else _refuse_in_postgres)(url)
    with pytest.raises(TicketRefused):
        store.add([enriched("1"), enriched("2", store="Poison")])
    assert store.add([enriched("1")]).new == 1  # nothing of the refused batch was kept
    store.close()


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
