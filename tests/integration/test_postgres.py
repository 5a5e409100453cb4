"""The PostgreSQL store under faults: a database restart under load, racing writers."""

from __future__ import annotations

import threading

import httpx2
import psycopg
import pytest

from shopstream.analytics import Filters
from shopstream.stores.postgres import PostgresStore
from shopstream.supervise import wait_for
from testbed.pipeline import MakePipeline
from testbed.postgres import PostgresServer
from tests.contracts.stores import (
    assert_a_refusal_keeps_nothing,
    assert_a_store_from_before_top_products_gets_them,
)
from tests.helpers import ticket
from tests.unit.storedata import enriched

pytestmark = pytest.mark.integration


def test_a_database_restart_loses_nothing_and_doubles_nothing(
    make_pipeline: MakePipeline, postgres: PostgresServer
) -> None:
    url = postgres.new_database()
    pipeline = make_pipeline(url)
    pipeline.start_api()
    pipeline.start_worker()
    first = [f"before-{i}" for i in range(200)]
    assert (
        httpx2.post(
            f"{pipeline.url}/data/batch", json=[ticket(i) for i in first], timeout=10
        ).status_code
        == 202
    )
    pipeline.wait_stored(first)

    postgres.stop(mode="immediate")  # a crash: connections dropped, no clean shutdown
    try:
        during = [f"during-{i}" for i in range(300)]
        for start in range(0, len(during), 50):
            chunk = [ticket(i) for i in during[start : start + 50]]
            response = httpx2.post(f"{pipeline.url}/data/batch", json=chunk, timeout=10)
            assert response.status_code == 202  # Kafka has them; the store does not yet
        wait_for(
            lambda: (
                "did not store the batch" in pipeline.logs()
                or "cannot reach PostgreSQL" in pipeline.logs()
            ),
            30,
            "the worker to notice the database is down",
        )
    finally:
        postgres.resume()

    pipeline.wait_stored(first + during, timeout=90)
    with psycopg.connect(url) as db:
        assert db.execute("SELECT count(*), count(DISTINCT id) FROM tickets").fetchone() == (
            500,
            500,
        )
        assert db.execute("SELECT sum(tickets) FROM daily_tickets").fetchone() == (500,)
        assert db.execute("SELECT count(*) FROM products").fetchone() == (1500,)


def test_writers_racing_on_the_same_tickets_store_each_once(postgres: PostgresServer) -> None:
    url = postgres.new_database()
    writers = [PostgresStore(url) for _ in range(4)]
    for writer in writers:
        writer.open()
    tickets = [enriched(str(i)) for i in range(2000)]
    added: list[int] = []

    def write(store: PostgresStore, offset: int) -> None:
        # Overlapping batches in a different order per writer.
        mine = tickets[offset:] + tickets[:offset]
        added.extend(store.add(mine[start : start + 250]).new for start in range(0, 2000, 250))

    threads = [threading.Thread(target=write, args=(w, i * 500)) for i, w in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(added) == 2000
    assert writers[0].count() == 2000
    assert writers[0].tally(Filters()).tickets["Brussels"].count == 2000
    for writer in writers:
        writer.close()


def test_a_ticket_postgresql_refuses_never_stalls_its_batch_or_partition(
    make_pipeline: MakePipeline, postgres: PostgresServer
) -> None:
    """Reproduced on main: one ticket refused for good was retried for ever, with the seven
    others of its batch, and the partition stored nothing more."""
    url = postgres.new_database()
    pipeline = make_pipeline(url, KAFKA_PARTITIONS="1")
    pipeline.start_api()
    pipeline.start_worker()
    pipeline.wait_stored([_post(pipeline.url, ticket("first"))])
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("ALTER TABLE tickets ADD CONSTRAINT no_poison CHECK (store <> 'Poison')")
    batch = [ticket(f"b{i}") for i in range(7)]
    batch.insert(3, ticket("poison", store="Poison"))
    response = httpx2.post(f"{pipeline.url}/data/batch", json=batch, timeout=10)
    assert response.status_code == 202
    pipeline.wait_stored([f"b{i}" for i in range(7)], timeout=60)
    pipeline.wait_stored([_post(pipeline.url, ticket("after"))])  # the partition goes on
    assert pipeline.store.missing(["poison"]) == {"poison"}
    wait_for(lambda: "the store refused it" in pipeline.logs(), 30, "the poison dead-lettered")
    assert "no_poison" in pipeline.logs()


def _post(url: str, body: dict[str, object]) -> str:
    assert httpx2.post(f"{url}/data", json=body, timeout=10).status_code == 202
    return str(body["id"])


def _refuse_poison(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("ALTER TABLE tickets ADD CONSTRAINT no_poison CHECK (store <> 'Poison')")


def test_data_postgresql_refuses_for_good_is_a_ticket_refusal(postgres: PostgresServer) -> None:
    assert_a_refusal_keeps_nothing(postgres.new_database(), _refuse_poison)


def _drop_names(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("DROP TABLE daily_names")


def test_a_postgresql_store_from_before_top_products_gets_them(postgres: PostgresServer) -> None:
    assert_a_store_from_before_top_products_gets_them(postgres.new_database(), _drop_names)
