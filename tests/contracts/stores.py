"""What every store keeps, from storing a batch to the manager's figures over the API.

A subclass provides ``store_url``: the URL of a fresh store of its kind.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from shopstream.analytics import Filters, figures, timeline
from shopstream.api import create_app
from shopstream.catalog import Catalog
from shopstream.config import Settings, StoreSettings
from shopstream.errors import TicketRefused
from shopstream.rebuild.inplace import rebuild
from shopstream.stores import Added, Store, open_store
from tests.analytics_data import (
    BUNDLED,
    CATEGORIES,
    EXPECTED,
    EXPECTED_BRUSSELS,
    EXPECTED_EMPTY,
    EXPECTED_JAN_2,
    EXPECTED_TOP,
    EXPECTED_TOP_FEB_1,
    EXPECTED_TOP_GHENT,
    TICKETS_BY_DATE,
    TOP_REVENUE,
    TOP_TICKETS,
    approx_figures,
    enriched_tickets,
)
from tests.helpers import Command, settings_from
from tests.unit.fakes import FakePublisher
from tests.unit.storedata import enriched

JAN_2 = datetime.date(2020, 1, 2)
FEB_1 = datetime.date(2020, 2, 1)


def _figures(store: Store, filters: Filters | None = None) -> dict[str, Any]:
    """The figures as the API writes them (money as JSON numbers), under the bundled list."""
    tally = store.tally(filters or Filters())
    return figures(tally, CATEGORIES, BUNDLED.version).model_dump(mode="json")


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


def assert_a_store_from_before_top_products_gets_them(
    store_url: str, drop_names: Callable[[str], None]
) -> None:
    """A SQL store written before ``daily_names`` existed (``drop_names`` drops it): its
    readers still get every other figure, and the next writer to open it fills the table."""
    writer = open_store(store_url)
    writer.open()
    writer.add(enriched_tickets(TOP_TICKETS))
    writer.close()
    drop_names(store_url)
    before = _figures(open_store(store_url))
    assert before["top_products"] == []
    assert before["revenue"] == float(TOP_REVENUE)
    upgraded = open_store(store_url)
    upgraded.open()
    upgraded.add(enriched_tickets([TOP_TICKETS[0]]))  # stored already: counted once
    assert _figures(upgraded)["top_products"] == approx_figures({"top": EXPECTED_TOP})["top"]
    upgraded.close()
    again = open_store(store_url)
    again.open()  # the table is not filled twice
    assert _figures(again)["top_products"] == approx_figures({"top": EXPECTED_TOP})["top"]
    again.close()


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

    def test_a_store_made_before_versions_is_read_as_unversioned_before_a_worker_opens_it(
        self, store: Store, store_url: str
    ) -> None:
        """`report` and the API read a store without opening it for writing: an older
        store's figures said 0 tickets, its missing version roll-up taken for an empty store."""
        store.add([enriched("1"), enriched("2", store="Ghent")])
        store.close()
        forget_versions(store_url)
        reader = open_store(store_url)
        assert reader.tally(Filters()).versions == {"unversioned": 2}
        assert reader.tally(Filters(store="Ghent")).versions == {"unversioned": 1}
        assert reader.tally(Filters(store="Nowhere")).versions == {}
        assert sum(t.count for t in reader.tally(Filters()).tickets.values()) == 2
        reader.close()

    def test_a_store_made_before_versions_is_rebuilt(
        self, store: Store, store_url: str, tmp_path: Path
    ) -> None:
        """The rebuild read each ticket's version from an older store: a raw traceback."""
        store.add([enriched("1"), enriched("2", store="Ghent")])
        store.close()
        forget_versions(store_url)
        categories = tmp_path / "categories.json"
        categories.write_text(json.dumps({"Fruit": "banana", "Breakfast": "bread"}))
        settings = settings_from(DATABASE_URL=store_url, CATEGORIES_FILE=str(categories))
        catalog = Catalog.load(categories)
        assert rebuild(settings, catalog, threading.Event()).tickets == 2
        reader = open_store(store_url)
        assert reader.tally(Filters()).versions == {catalog.version.hash: 2}
        assert {p.category for t in reader.tickets() for p in t.products} == {"Fruit", "Breakfast"}
        reader.close()

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

    @pytest.mark.parametrize(
        ("filters", "expected"),
        [
            (Filters(), EXPECTED_TOP),
            (Filters(store="Ghent"), EXPECTED_TOP_GHENT),
            (Filters(date_from=FEB_1, date_to=FEB_1), EXPECTED_TOP_FEB_1),
            (Filters(store="Brussels", date_from=datetime.date(2020, 2, 3)), []),
        ],
    )
    def test_the_top_products_rank_by_lines_then_revenue_then_name(
        self, store: Store, filters: Filters, expected: list[dict[str, Any]]
    ) -> None:
        store.add(enriched_tickets(TOP_TICKETS[:2]))
        store.add(enriched_tickets(TOP_TICKETS[2:]))  # a name summed over batches
        assert _figures(store, filters)["top_products"] == approx_figures({"t": expected})["t"]
        assert _figures(store)["revenue"] == float(TOP_REVENUE)

    def test_money_is_to_the_cent_halves_up_however_it_was_summed(self, store: Store) -> None:
        """Ten tickets of 0.10, each in its own batch, add up in binary to 0.9999999999999999;
        1.005 and 0.125 are halves, which ``round`` and JavaScript's ``toFixed`` round down."""
        for i in range(10):
            store.add([enriched(f"dime-{i}", store="Dimes", price=0.05)])
        store.add([enriched("half", store="Halves", price=0.5025)])  # total 1.005
        store.add([enriched("eighth", store="Eighths", price=0.0625)])  # total 0.125
        shown = _figures(store)
        assert shown["revenue_by_store"] == {"Dimes": 1.0, "Eighths": 0.13, "Halves": 1.01}
        assert shown["revenue"] == 2.13  # 1.00 + 1.005 + 0.125 = 2.13 exactly
        assert figures(store.tally(Filters()), CATEGORIES).revenue == Decimal("2.13")
        assert shown["tickets_by_store"] == {"Dimes": 10, "Eighths": 1, "Halves": 1}

    def test_a_reader_keeps_up_as_the_writer_appends(self, store: Store, store_url: str) -> None:
        reader = open_store(store_url)
        first, *rest = enriched_tickets()
        store.add([first])
        assert figures(reader.tally(Filters()), CATEGORIES).tickets == 1
        store.add(rest)
        assert _figures(reader) == approx_figures(EXPECTED)
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

    def test_the_top_products_follow_the_filters(self, client: TestClient, store_url: str) -> None:
        writer = open_store(store_url)
        writer.open()
        writer.add(enriched_tickets(TOP_TICKETS))
        writer.close()
        top = client.get("/analytics?store=Ghent").json()["top_products"]
        assert top == approx_figures({"t": EXPECTED_TOP_GHENT})["t"]
        feb_1 = client.get("/analytics?date_from=2020-02-01&date_to=2020-02-01").json()
        assert feb_1["top_products"] == approx_figures({"t": EXPECTED_TOP_FEB_1})["t"]


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

    def test_tables_show_revenue_tickets_and_top_products(
        self, filled: str, command: Command
    ) -> None:
        lines = command("report", DATABASE_URL=filled).stdout.splitlines()

        def row(first: str) -> list[str]:
            found = [line for line in lines if line.strip("│ ").startswith(first)]
            assert found, first
            return [cell.strip() for cell in found[0].strip("│").split("│")]

        assert row("Revenue") == ["Revenue", "9.80"]
        assert row("Brussels") == ["Brussels", "2", "4.50", "1.13", "2.25"]
        assert row("Antwerp") == ["Antwerp", "1", "3.30", "3.30", "3.30"]
        assert row("Cake") == ["Cake", "1", "3.30"]
        assert row("Kiwi") == ["Kiwi", "1", "0.10"]


# The fixture's product lines as exported, worked out from TICKETS by hand.
EXPORTED = [
    ["ticket_id", "store", "date", "total_price", "line",
     "product_id", "name", "price", "category"],
    ["t1", "Brussels", "2020-01-01", "0.3", "1", "0", "Banana", "0.1", "Fruit"],
    ["t1", "Brussels", "2020-01-01", "0.3", "2", "1", "bread", "0.2", "Bakery"],
    ["t2", "Brussels", "2020-01-02", "4.2", "1", "0", "WATER", "1.5", "Drink"],
    ["t2", "Brussels", "2020-01-02", "4.2", "2", "1", "Chocolate", "2.7", "Other"],
    ["t3", "Ghent", "2020-01-02", "2.0", "1", "0", "an apple", "0.7", "Fruit"],
    ["t3", "Ghent", "2020-01-02", "2.0", "2", "1", "Kiwi", "0.1", "Fruit"],
    ["t3", "Ghent", "2020-01-02", "2.0", "3", "2", "Beer", "1.2", "Drink"],
    ["t4", "Antwerp", "2020-01-03", "3.3", "1", "0", "Cake", "3.3", "Bakery"],
]  # fmt: skip


def _csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


class ExportContract(StoreFixtures):
    """The stored product lines from 'shopstream export' and GET /export.csv."""

    def test_csv_has_every_product_line_in_the_documented_columns(
        self, filled: str, command: Command
    ) -> None:
        result = command("export", DATABASE_URL=filled)
        assert result.returncode == 0, result.stderr
        assert _csv(result.stdout) == EXPORTED
        assert result.stdout.startswith("ticket_id,store,")
        assert result.stdout.endswith("Cake,3.3,Bakery\r\n")  # RFC 4180 line ends

    def test_the_filters_are_the_figures_filters(self, filled: str, command: Command) -> None:
        args = ("--store", "Brussels", "--from", "2020-01-02", "--to", "2020-01-02")
        assert _csv(command("export", *args, DATABASE_URL=filled).stdout) == [
            EXPORTED[0],
            *EXPORTED[3:5],
        ]
        january_2 = command(
            "export", "--from", "2020-01-02", "--to", "2020-01-02", DATABASE_URL=filled
        )
        assert _csv(january_2.stdout) == [EXPORTED[0], *EXPORTED[3:8]]
        assert _csv(command("export", "--store", "Nowhere", DATABASE_URL=filled).stdout) == [
            EXPORTED[0]
        ]

    def test_json_lines_to_a_file_hold_the_same_values_typed(
        self, filled: str, command: Command, tmp_path: Path
    ) -> None:
        output = tmp_path / "lines.jsonl"
        result = command(
            "export", "--format", "jsonl", "--output", str(output), DATABASE_URL=filled
        )
        assert (result.returncode, result.stdout) == (0, "")
        lines = [json.loads(line) for line in output.read_text().splitlines()]
        assert lines[0] == {
            "ticket_id": "t1",
            "store": "Brussels",
            "date": "2020-01-01",
            "total_price": 0.3,
            "line": 1,
            "product_id": "0",
            "name": "Banana",
            "price": 0.1,
            "category": "Fruit",
        }
        assert [[str(v) for v in line.values()] for line in lines] == EXPORTED[1:]
        assert not list(tmp_path.glob("*.partial"))

    def test_an_empty_store_exports_the_header(self, store_url: str, command: Command) -> None:
        assert _csv(command("export", DATABASE_URL=store_url).stdout) == [EXPORTED[0]]

    @pytest.mark.usefixtures("filled")
    def test_the_api_serves_the_same_csv_as_a_download(
        self, client: TestClient, command: Command, store_url: str
    ) -> None:
        response = client.get("/export.csv?store=Ghent&date_from=2020-01-02")
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert response.headers["content-disposition"].startswith("attachment;")
        exported = command(
            "export", "--store", "Ghent", "--from", "2020-01-02", DATABASE_URL=store_url
        )
        assert response.text == exported.stdout
        assert _csv(response.text) == [EXPORTED[0], *EXPORTED[5:8]]
        assert _csv(client.get("/export.csv").text) == EXPORTED
