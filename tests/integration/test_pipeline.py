"""HTTP -> Kafka -> worker -> store, on a real broker, for each store."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx2
import psycopg
import pytest

from testbed.pipeline import MakePipeline
from tests.helpers import EXAMPLE_AFTER_PROCESSING, EXAMPLE_TICKET, shopstream, ticket

pytestmark = pytest.mark.integration


def test_a_posted_ticket_is_stored_enriched_in_database_json(
    make_pipeline: MakePipeline, tmp_path: Path
) -> None:
    pipeline = make_pipeline()
    pipeline.start_api()
    pipeline.start_worker()
    response = httpx2.post(f"{pipeline.url}/data", json=EXAMPLE_TICKET, timeout=10)
    assert response.status_code == 202
    pipeline.wait_stored(["123456789"])
    assert json.loads((tmp_path / "database.json").read_text()) == [EXAMPLE_AFTER_PROCESSING]


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_posted_batch_is_stored_enriched_in_sql(
    make_pipeline: MakePipeline, tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'shop.db'}"
        connect: Callable[[], Any] = partial(sqlite3.connect, tmp_path / "shop.db")
    else:
        url = request.getfixturevalue("postgres").new_database()
        connect = partial(psycopg.connect, url)
    pipeline = make_pipeline(url)
    pipeline.start_api()
    pipeline.start_worker()
    batch = [ticket(f"b{i}") for i in range(50)]
    batch.append(
        ticket(
            "odd",
            products=[
                {"id": 9, "name": " CHOCOLATE ", "price": 0.1},
                {"id": 8, "name": "an apple", "price": 0.2},
            ],
        )
    )
    response = httpx2.post(f"{pipeline.url}/data/batch", json=batch, timeout=10)
    assert response.status_code == 202
    pipeline.wait_stored([t["id"] for t in batch])
    with connect() as db:
        assert db.execute("SELECT count(*) FROM tickets").fetchone() == (51,)
        assert db.execute("SELECT total_price FROM tickets WHERE id='odd'").fetchone() == (0.3,)
        lines = db.execute(
            "SELECT product_id, name, category FROM products WHERE ticket_id='odd' ORDER BY line"
        ).fetchall()
        assert lines == [("9", "CHOCOLATE", "Other"), ("8", "an apple", "Fruit")]
        categories = db.execute(
            "SELECT category, count(*) FROM products WHERE ticket_id != 'odd' GROUP BY category"
        ).fetchall()
        assert sorted(categories) == [("Bakery", 50), ("Drink", 50), ("Fruit", 50)]
    analytics = httpx2.get(f"{pipeline.url}/analytics", timeout=10).json()
    assert (analytics["tickets"], analytics["products"]) == (51, 152)


def test_the_seed_stress_test_stores_exactly_1000_enriched_tickets(
    make_pipeline: MakePipeline, tmp_path: Path
) -> None:
    pipeline = make_pipeline()
    pipeline.start_api()
    pipeline.start_worker()
    result = shopstream(
        "stress", "--count", "1000", "--url", f"{pipeline.url}/data", env=pipeline.env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "accepted 1000" in result.stdout
    assert "stored 1000" in result.stdout
    assert result.stdout.startswith("sending "), result.stdout[:80]  # no markup shown as text
    # The seed's own counting snippet, then a look at every ticket.
    with (tmp_path / "database.json").open() as f:
        data = json.load(f)
    assert len(data) == 1000
    assert len({t["id"] for t in data}) == 1000
    for stored in data:
        assert stored["total_price"] == 4.5
        assert [p["category"] for p in stored["products"]] == ["Fruit", "Bakery", "Drink"]


def test_invalid_tickets_are_refused_and_nothing_is_stored(
    make_pipeline: MakePipeline, tmp_path: Path
) -> None:
    pipeline = make_pipeline()
    pipeline.start_api()
    pipeline.start_worker()
    bad = httpx2.post(f"{pipeline.url}/data", json=ticket("bad", date="2020-02-30"), timeout=10)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["field"] == "date"
    good = httpx2.post(f"{pipeline.url}/data", json=ticket("good"), timeout=10)
    assert good.status_code == 202
    pipeline.wait_stored(["good"])
    assert [t["id"] for t in json.loads((tmp_path / "database.json").read_text())] == ["good"]
