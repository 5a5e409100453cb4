"""What every store keeps, from storing a batch to the manager's figures over the API.

A subclass provides ``store_url``: the URL of a fresh store of its kind.
"""

from __future__ import annotations

import datetime
import json
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from shopstream.analytics import Filters, figures, timeline
from shopstream.api import create_app
from shopstream.config import Settings, StoreSettings
from shopstream.errors import TicketRefused
from shopstream.stores import Added, Store, open_store
from tests.analytics_data import (
    BUNDLED,
    CATEGORIES,
    EXPECTED,
    EXPECTED_BRUSSELS,
    EXPECTED_EMPTY,
    EXPECTED_JAN_2,
    TICKETS_BY_DATE,
    approx_figures,
    enriched_tickets,
)
from tests.helpers import Command
from tests.unit.fakes import FakePublisher
from tests.unit.storedata import enriched

JAN_2 = datetime.date(2020, 1, 2)


def _figures(store: Store, filters: Filters | None = None) -> dict[str, Any]:
    return figures(store.tally(filters or Filters()), CATEGORIES, BUNDLED.version).model_dump()


def assert_a_refusal_keeps_nothing(store_url: str, refuse_poison: Callable[[str], None]) -> None:
    """Data the store refuses for good (``refuse_poison`` adds the constraint) is a
    ``TicketRefused``, and nothing of the refused batch is kept."""
    store = open_store(store_url)
    store.open()
    refuse_poison(store_url)
    with pytest.raises(TicketRefused):
        store.add([enriched("1"), enriched("2", store="Poison")])
    assert store.add([enriched("1")]).new == 1
    store.close()


def forget_versions(store_url: str) -> None:
    """Make the store as shopstream left it before tickets recorded their list's version."""
    if store_url.endswith(".json"):
        path = Path(store_url)
        path.write_text(re.sub(r',"catalog_version":"[^"]*"', "", path.read_text()))
        return
    drop = ["ALTER TABLE tickets DROP COLUMN catalog_version", "DROP TABLE daily_versions"]
    if store_url.startswith("sqlite:///"):
        with closing(sqlite3.connect(store_url.removeprefix("sqlite:///"))) as db:
            for statement in drop:
                db.execute(statement)
            db.commit()
        return
    with psycopg.connect(store_url) as db:
        for statement in drop:
            db.execute(statement)


class StoreFixtures:
    """A fresh store opened for writing, one filled with the figures' fixture, an API on it."""

    @pytest.fixture
    def store(self, store_url: str) -> Iterator[Store]:
        opened = open_store(store_url)
        opened.open()
        yield opened
        opened.close()

    @pytest.fixture
    def filled(self, store_url: str) -> str:
        """A store holding the hand-computed analytics fixture; its URL."""
        writer = open_store(store_url)
        writer.open()
        writer.add(enriched_tickets())
        writer.close()
        return store_url

    @pytest.fixture
    def client(self, store_url: str) -> Iterator[TestClient]:
        settings = Settings(store=StoreSettings(database_url=store_url))
        with TestClient(create_app(settings, publisher=FakePublisher())) as test_client:
            yield test_client


class StoreContract(StoreFixtures):
    """Storing: idempotent by id, durable, readable by another process."""

    def test_added_tickets_are_stored(self, store: Store) -> None:
        assert store.add([enriched("1"), enriched("2")]).new == 2
        assert store.count() == 2
        assert store.missing(["1", "2", "3"]) == {"3"}

    def test_a_ticket_is_stored_once_whatever_is_redelivered(self, store: Store) -> None:
        store.add([enriched("1"), enriched("2")])
        assert store.add([enriched("2"), enriched("3"), enriched("3")]).new == 1
        assert store.add([enriched("1")]).new == 0
        assert store.count() == 3

    def test_an_empty_batch_changes_nothing(self, store: Store) -> None:
        assert store.add([]).new == 0
        assert store.count() == 0

    def test_a_batch_larger_than_one_statement_is_stored_whole(self, store: Store) -> None:
        """The SQL stores write rows a hundred per statement; 250 tickets end mid-statement."""
        assert store.add([enriched(str(i)) for i in range(250)]).new == 250
        assert store.count() == 250
        assert store.missing(str(i) for i in range(251)) == {"250"}
        assert store.tally(Filters()).products["Brussels", "Bakery"].count == 250

    def test_a_reopened_store_has_everything_and_still_dedupes(
        self, store: Store, store_url: str
    ) -> None:
        store.add([enriched(str(i)) for i in range(100)])
        store.close()
        again = open_store(store_url)
        again.open()
        assert again.count() == 100
        assert again.add([enriched("5"), enriched("100")]).new == 1
        again.close()

    def test_a_reader_sees_what_the_writer_stored(self, store: Store, store_url: str) -> None:
        reader = open_store(store_url)
        assert reader.count() == 0
        store.add([enriched("a"), enriched("b")])
        assert reader.count() == 2
        assert reader.missing(["a", "z"]) == {"z"}

    def test_a_reader_of_a_store_not_yet_made_sees_nothing(self, store_url: str) -> None:
        reader = open_store(store_url)
        assert reader.count() == 0
        assert reader.missing(["1"]) == {"1"}

    def test_adding_before_open_is_an_error(self, store_url: str) -> None:
        with pytest.raises(Exception, match="open"):
            open_store(store_url).add([enriched("1")])

    def test_the_same_id_with_another_purchase_is_a_conflict_and_the_first_stays(
        self,
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

    def test_each_ticket_keeps_the_version_of_the_list_it_was_categorised_with(
        self, store: Store
    ) -> None:
        old, new, ghent = enriched("1"), enriched("2"), enriched("3", store="Ghent")
        old.catalog_version, new.catalog_version, ghent.catalog_version = "aaa", "bbb", "bbb"
        store.add([old, new])
        store.add([ghent])
        assert store.tally(Filters()).versions == {"aaa": 1, "bbb": 2}
        assert store.tally(Filters(store="Ghent")).versions == {"bbb": 1}
        assert store.tally(Filters(date_from=JAN_2)).versions == {}
        assert {t.id: t.catalog_version for t in store.tickets()} == {
            "1": "aaa",
            "2": "bbb",
            "3": "bbb",
        }

    def test_a_store_made_before_versions_counts_its_tickets_as_unversioned(
        self, store: Store, store_url: str
    ) -> None:
        before = [enriched("1"), enriched("2", store="Ghent")]
        for ticket in before:
            ticket.catalog_version = "aaa"  # forgotten below
        store.add(before)
        store.close()
        forget_versions(store_url)
        again = open_store(store_url)
        again.open()  # what a worker of this version does first
        later = enriched("3")
        later.catalog_version = "bbb"
        again.add([later])
        assert again.tally(Filters()).versions == {"unversioned": 2, "bbb": 1}
        assert again.tally(Filters(store="Ghent")).versions == {"unversioned": 1}
        assert sorted(t.catalog_version for t in again.tickets()) == ["bbb", *["unversioned"] * 2]
        again.close()

    def test_the_same_purchase_categorised_otherwise_is_no_conflict(self, store: Store) -> None:
        """Categories follow the manager's list, which may change between two deliveries."""
        store.add([enriched("1")])
        again = enriched("1")
        again.products[0].category = "Other"
        assert store.add([again]) == Added(0, [])


class FiguresContract(StoreFixtures):
    """The manager's figures from the store, checked against hand-computed fixtures."""

    @pytest.mark.parametrize(
        ("filters", "expected"),
        [
            (Filters(), EXPECTED),
            (Filters(store="Brussels"), EXPECTED_BRUSSELS),
            (Filters(date_from=JAN_2, date_to=JAN_2), EXPECTED_JAN_2),
            (Filters(store="Nowhere"), EXPECTED_EMPTY),
            (Filters(date_from=datetime.date(2021, 1, 1)), EXPECTED_EMPTY),
        ],
    )
    def test_each_store_gives_the_hand_computed_figures(
        self, store: Store, filters: Filters, expected: dict[str, Any]
    ) -> None:
        store.add(enriched_tickets())
        assert _figures(store, filters) == approx_figures(expected)

    def test_an_empty_store_answers_zeros(self, store: Store) -> None:
        assert _figures(store) == EXPECTED_EMPTY
        assert timeline(store.tally(Filters())).tickets_by_date == {}

    def test_a_store_not_yet_made_answers_zeros(self, store_url: str) -> None:
        assert figures(open_store(store_url).tally(Filters()), CATEGORIES).tickets == 0

    def test_redelivered_tickets_do_not_count_twice(self, store: Store) -> None:
        store.add(enriched_tickets())
        store.add(enriched_tickets())
        assert _figures(store) == approx_figures(EXPECTED)

    def test_the_timeline_counts_tickets_per_day(self, store: Store) -> None:
        store.add(enriched_tickets())
        assert timeline(store.tally(Filters())).tickets_by_date == TICKETS_BY_DATE
        brussels = timeline(store.tally(Filters(store="Brussels"))).tickets_by_date
        assert brussels == {"2020-01-01": 1, "2020-01-02": 1}

    def test_a_reader_keeps_up_as_the_writer_appends(self, store: Store, store_url: str) -> None:
        reader = open_store(store_url)
        first, *rest = enriched_tickets()
        store.add([first])
        assert figures(reader.tally(Filters()), CATEGORIES).tickets == 1
        store.add(rest)
        tally = reader.tally(Filters())
        assert figures(tally, CATEGORIES, BUNDLED.version).model_dump() == approx_figures(EXPECTED)
        store.add([enriched("extra", store="Ghent", price=1.0)])
        assert figures(reader.tally(Filters()), CATEGORIES).tickets == 5


class ApiFiguresContract(StoreFixtures):
    """The same figures from GET /analytics and /analytics/timeline."""

    @pytest.mark.usefixtures("filled")
    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("", EXPECTED),
            ("?store=Brussels", EXPECTED_BRUSSELS),
            ("?date_from=2020-01-02&date_to=2020-01-02", EXPECTED_JAN_2),
            ("?store=Ghent&date_to=2019-12-31", EXPECTED_EMPTY),
        ],
    )
    def test_analytics_gives_the_hand_computed_figures(
        self, client: TestClient, query: str, expected: dict[str, Any]
    ) -> None:
        response = client.get(f"/analytics{query}")
        assert response.status_code == 200
        assert response.json() == approx_figures(expected)

    def test_an_empty_store_answers_zeros_not_an_error(self, client: TestClient) -> None:
        assert client.get("/analytics").json() == EXPECTED_EMPTY
        assert client.get("/analytics/timeline").json() == {"tickets_by_date": {}}

    @pytest.mark.usefixtures("filled")
    def test_the_timeline_counts_tickets_per_day(self, client: TestClient) -> None:
        assert client.get("/analytics/timeline").json() == {"tickets_by_date": TICKETS_BY_DATE}


class ReportContract(StoreFixtures):
    """The same figures from 'shopstream report', as JSON and as tables."""

    def test_json_is_the_apis_figures(self, filled: str, command: Command) -> None:
        result = command("report", "--json", DATABASE_URL=filled)
        assert json.loads(result.stdout) == approx_figures(EXPECTED)

    def test_filters_apply(self, filled: str, command: Command) -> None:
        args = ("--store", "Brussels", "--from", "2020-01-01", "--to", "2020-01-02", "--json")
        result = command("report", *args, DATABASE_URL=filled)
        assert json.loads(result.stdout) == approx_figures(EXPECTED_BRUSSELS)

    def test_tables_show_every_store_and_category(self, filled: str, command: Command) -> None:
        text = command("report", DATABASE_URL=filled).stdout
        for word in ("Brussels", "Ghent", "Antwerp", "Fruit", "Bakery", "Drink", "Other"):
            assert word in text
        assert "37.5%" in text  # Fruit: 3 of 8 lines
        assert "1.13" in text  # Brussels: 4.5 / 4 = 1.125, rounded as a till does
