"""``shopstream rebuild`` in place, on the file stores, without a pipeline: the logic alone."""

from __future__ import annotations

import datetime
import json
import os
import sqlite3
import threading
from collections.abc import Mapping
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from shopstream.analytics import Filters, Sum, Tally
from shopstream.catalog import Catalog
from shopstream.config import Settings
from shopstream.enrich import enrich
from shopstream.errors import ConfigurationError, StoreError
from shopstream.models import EnrichedProduct, EnrichedTicket, Ticket
from shopstream.rebuild import sqlcopy
from shopstream.rebuild.changes import Changes
from shopstream.rebuild.inplace import rebuild, shadow_of
from shopstream.rebuild.writer import BatchWriter, Interrupted, Reporting
from shopstream.stores import Store, open_store
from tests.helpers import settings_from
from tests.unit.storedata import enriched

BREAD_FOR_BREAKFAST = {"Fruit": "banana", "Breakfast": "bread"}


@pytest.fixture(params=["json", "sqlite"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "json":
        return str(tmp_path / "database.json")
    return f"sqlite:///{tmp_path / 'shop.db'}"


def _prepared(store_url: str, tmp_path: Path, count: int) -> tuple[Settings, Catalog, Path]:
    """``count`` tickets stored under the bundled list, and settings naming a new list."""
    store = open_store(store_url)
    store.open()
    store.add([enriched(f"t{i}") for i in range(count)])
    store.close()
    categories = tmp_path / "categories.json"
    categories.write_text(json.dumps(BREAD_FOR_BREAKFAST))
    settings = settings_from(DATABASE_URL=store_url, CATEGORIES_FILE=str(categories))
    return settings, Catalog.load(categories), categories


def test_summary_names_each_move_with_its_lines_and_products() -> None:
    catalog = Catalog.from_manager_list({"Fruit": "banana", "Breakfast": "bread, toast"})
    changes = Changes(catalog)
    tickets = [enriched(f"t{i}") for i in range(1234)]
    tickets[0].products[1].name = "Toast"
    tickets[1].products[1].category = "Other"
    done = changes.recategorised(tickets)
    assert {p.category for t in done for p in t.products} == {"Fruit", "Breakfast"}
    assert {t.catalog_version for t in done} == {catalog.version.hash}
    assert changes.summary() == [
        "Bakery → Breakfast: 1,233 lines (bread, toast)",
        "Other → Breakfast: 1 line (bread)",
    ]


def test_a_rebuild_recategorises_every_ticket_and_keeps_the_ids(
    store_url: str, tmp_path: Path
) -> None:
    settings, catalog, _ = _prepared(store_url, tmp_path, 500)
    totals: list[int] = []
    done = rebuild(settings, catalog, threading.Event(), Reporting(total=totals.append))
    assert done.tickets == 500
    assert totals[0] == 500
    assert done.changes.summary() == ["Bakery → Breakfast: 500 lines (bread)"]
    stored = list(open_store(store_url).tickets())
    assert sorted(t.id for t in stored) == sorted(f"t{i}" for i in range(500))
    assert {(t.catalog_version, t.products[1].category) for t in stored} == {
        (catalog.version.hash, "Breakfast")
    }
    assert not list(tmp_path.glob("*.rebuild*"))


def test_an_interrupted_rebuild_changes_nothing(store_url: str, tmp_path: Path) -> None:
    settings, catalog, _ = _prepared(store_url, tmp_path, 300)
    before = [(t.id, t.products[1].category) for t in open_store(store_url).tickets()]
    stopping = threading.Event()
    stopping.set()
    with pytest.raises(Interrupted):
        rebuild(settings, catalog, stopping)
    assert [(t.id, t.products[1].category) for t in open_store(store_url).tickets()] == before
    assert not list(tmp_path.glob("*.rebuild*"))


def test_a_list_changed_during_the_rebuild_is_not_switched_to(
    store_url: str, tmp_path: Path
) -> None:
    settings, catalog, categories = _prepared(store_url, tmp_path, 10)
    categories.write_text(json.dumps({"Fruit": "banana", "Morning": "bread"}))
    with pytest.raises(ConfigurationError, match="the category list changed"):
        rebuild(settings, catalog, threading.Event())
    assert {t.products[1].category for t in open_store(store_url).tickets()} == {"Bakery"}
    assert not list(tmp_path.glob("*.rebuild*"))


def _varied(count: int, catalog: Catalog) -> list[EnrichedTicket]:
    """Tickets over 3 stores and 5 days, names in every case and some no list knows."""
    names = ["Banana", "BREAD", "the bread", "milk", "Soap", "BaNaNa"]
    return [
        enrich(
            Ticket.model_validate_json(
                json.dumps(
                    {
                        "id": f"v{i:04d}",
                        "store": f"Store {i % 3}",
                        "date": f"2024-01-0{1 + i % 5}",
                        "products": [
                            {"id": str(line), "name": names[(i + line) % 6], "price": 0.1 * line}
                            for line in range(1 + i % 4)
                        ],
                    }
                )
            ),
            catalog,
        )
        for i in range(count)
    ]


@pytest.mark.parametrize(
    "filters",
    [Filters(), Filters(store="Store 1"), Filters(date_from=datetime.date(2024, 1, 2))],
    ids=["all", "one store", "from a day"],
)
def test_a_rebuilt_store_holds_what_storing_its_tickets_afresh_would(
    store_url: str, tmp_path: Path, filters: Filters, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SQL stores copy rows and sum roll-ups in SQL: the figures must be the same.

    In chunks of 64 tickets, so that the 700 span eleven of them."""
    monkeypatch.setattr(sqlcopy, "CHUNK", 64)
    _store(store_url, _varied(700, Catalog.load()))
    rebuilt = _rebuilt_under_new_list(store_url, tmp_path)
    expected = _store(_beside(store_url, tmp_path), _varied(700, rebuilt))
    assert _rounded(open_store(store_url).tally(filters)) == _rounded(expected.tally(filters))
    assert list(open_store(store_url).tickets()) == list(expected.tickets())


def test_a_rebuild_sums_the_roll_ups_from_the_rows_not_from_the_live_ones(
    tmp_path: Path,
) -> None:
    """A worker older than ``daily_names`` wrote rows without their names' roll-up (a rolling
    upgrade): the rebuilt store's figures are those of its rows all the same."""
    store_url = f"sqlite:///{tmp_path / 'shop.db'}"
    _store(store_url, _varied(60, Catalog.load()))
    with closing(sqlite3.connect(tmp_path / "shop.db")) as db, db:
        db.execute("DELETE FROM daily_names WHERE store = 'Store 1'")
    rebuilt = _rebuilt_under_new_list(store_url, tmp_path)
    expected = _store(_beside(store_url, tmp_path), _varied(60, rebuilt))
    assert _rounded(open_store(store_url).tally(Filters())) == _rounded(expected.tally(Filters()))


def _store(store_url: str, tickets: list[EnrichedTicket]) -> Store:
    store = open_store(store_url)
    store.open()
    store.add(tickets)
    store.close()
    return store


def _rebuilt_under_new_list(store_url: str, tmp_path: Path) -> Catalog:
    """The store rebuilt under a list that moves bread and milk; that list."""
    categories = tmp_path / "categories.json"
    categories.write_text(json.dumps({"Fruit": "banana", "Breakfast": "bread", "Drink": "milk"}))
    catalog = Catalog.load(categories)
    settings = settings_from(DATABASE_URL=store_url, CATEGORIES_FILE=str(categories))
    rebuild(settings, catalog, threading.Event())
    return catalog


def _beside(store_url: str, tmp_path: Path) -> str:
    return (
        f"sqlite:///{tmp_path / 'afresh.db'}"
        if "sqlite" in store_url
        else str(tmp_path / "afresh.json")
    )


def _rounded(tally: Tally) -> dict[str, object]:
    """A tally's counts, and its sums to 9 places: summed in another order, they may differ
    in the last bits."""

    def sums(table: Mapping[Any, Sum]) -> dict[Any, tuple[int, float]]:
        return {key: (s.count, round(s.amount, 9)) for key, s in table.items() if s.count}

    return {
        "tickets": sums(tally.tickets),
        "products": sums(tally.products),
        "names": sums(tally.names),
        "days": dict(tally.days),
        "versions": dict(tally.versions),
    }


def test_a_sqlite_store_in_a_directory_named_like_a_uri_is_rebuilt_in_place(
    tmp_path: Path,
) -> None:
    """The rebuild opens the live file by URI (read-only): ``?`` and ``#`` in its path are
    quoted, not taken for a query or a fragment naming another file."""
    directory = tmp_path / "shop#1?mode=rw"
    directory.mkdir()
    store_url = f"sqlite:///{directory / 'shop.db'}"
    settings, catalog, _ = _prepared(store_url, directory, 50)
    assert rebuild(settings, catalog, threading.Event()).tickets == 50
    assert {t.products[1].category for t in open_store(store_url).tickets()} == {"Breakfast"}
    assert not list(directory.glob("*.rebuild*"))
    assert [p.name for p in tmp_path.iterdir()] == [directory.name]  # no file named "shop"


def test_a_json_rebuild_writes_each_entry_as_storing_its_ticket_would(tmp_path: Path) -> None:
    """The JSON rebuild re-categorises the entries it reads, never making tickets of them:
    what it writes must be the bytes ``to_json`` gives the ticket re-categorised, whatever
    a person did to the line (keys reordered, spaced, one added, the version missing)."""
    path = tmp_path / "database.json"
    stored = _varied(40, Catalog.load())
    _store(str(path), stored)
    by_hand = (
        '  { "store": "Store 9", "id": "by-hand", "total_price": 3, "date": "2024-02-28", '
        '"note": "kept?", "products": [{"price": 3, "category": "Other", "name": " MILK ", '
        '"id": "7"}] } '
    )
    text = path.read_text()
    path.write_text(text.removesuffix("\n]\n") + ",\n" + by_hand + "\n]\n")
    catalog = _rebuilt_under_new_list(str(path), tmp_path)
    hand_made = EnrichedTicket(
        id="by-hand",
        store="Store 9",
        date=datetime.date(2024, 2, 28),
        total_price=3,
        products=[EnrichedProduct(id="7", name=" MILK ", price=3, category="Other")],
    )
    expected = Changes(catalog).recategorised([*stored, hand_made])
    assert path.read_bytes() == b"[\n" + b",\n".join(t.to_json() for t in expected) + b"\n]\n"
    assert json.loads(path.read_text())[-1]["products"][0]["category"] == "Drink"


def test_a_json_file_an_editor_replaced_during_the_rebuild_is_named_as_such(
    tmp_path: Path,
) -> None:
    """Read again from its start, a replaced file's entries reached the shadow first, which
    refused them as held already: the error spoke of ids, not of the file replaced."""
    live = tmp_path / "database.json"
    _, catalog, _ = _prepared(str(live), tmp_path, 5)
    shadow = shadow_of(str(live))
    writer = BatchWriter(shadow.store, Changes(catalog), threading.Event())
    shadow.prepare()
    try:
        shadow.feed(writer)
        writer.flush()
        saved = tmp_path / "database.json~"  # an editor's save: a copy renamed over
        saved.write_bytes(live.read_bytes())
        os.replace(saved, live)
        with pytest.raises(StoreError, match="was replaced while it was being rebuilt"):
            shadow.swap(writer)
    finally:
        shadow.discard()
        shadow.release()
    assert [t.id for t in open_store(str(live)).tickets()] == [f"t{i}" for i in range(5)]


def test_a_sqlite_store_that_is_not_there_is_refused_and_not_made(tmp_path: Path) -> None:
    """A typo in DATABASE_URL: no store made at it, and the refusal lets the next rebuild
    start (it left the rebuild's lock held when ``prepare`` failed)."""
    _, catalog, categories = _prepared(f"sqlite:///{tmp_path / 'shop.db'}", tmp_path, 1)
    typo = f"sqlite:///{tmp_path / 'typo' / 'shp.db'}"
    settings = settings_from(DATABASE_URL=typo, CATEGORIES_FILE=str(categories))
    for _ in range(2):  # the second is refused for the same reason, not as "being rebuilt"
        with pytest.raises(StoreError, match="there is no SQLite store at"):
            rebuild(settings, catalog, threading.Event())
    assert not (tmp_path / "typo" / "shp.db").exists()
    assert not list((tmp_path / "typo").glob("*"))


def test_a_current_sqlite_store_is_rebuilt_while_a_worker_holds_its_write_lock(
    tmp_path: Path,
) -> None:
    """Bringing the live store to this version's tables takes its write lock: on a store
    already current, the rebuild must not, or a worker's batch held it past 5 s and the
    rebuild ended in a raw 'database is locked'."""
    store_url = f"sqlite:///{tmp_path / 'shop.db'}"
    _, catalog, _ = _prepared(store_url, tmp_path, 10)
    shadow = shadow_of(store_url)
    with closing(sqlite3.connect(tmp_path / "shop.db", isolation_level=None)) as worker:
        worker.execute("BEGIN IMMEDIATE")  # a batch in progress
        try:
            shadow.prepare()
            shadow.feed(BatchWriter(shadow.store, Changes(catalog), threading.Event()))
        finally:
            worker.execute("ROLLBACK")
            shadow.discard()
            shadow.release()
