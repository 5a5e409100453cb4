"""Load, faults and the verdict: acknowledged ⊆ stored, and one stored record per id."""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
from collections import Counter
from contextlib import closing
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import httpx2
import psycopg

from shopstream.models import Purchase
from shopstream.stores import Store
from shopstream.stores.jsonfile import entry_purchase
from shopstream.stores.sql import STORED_PURCHASES, purchases
from tests.helpers import ticket, wait_for
from tests.integration.conftest import Pipeline


@dataclass
class Load:
    """Concurrent clients POSTing fresh tickets to /data until stopped."""

    url: str
    clients: int = 8
    acknowledged: list[str] = field(default_factory=list)
    refused: Counter[int] = field(default_factory=Counter)
    errors: int = 0
    slowest_refusal_s: float = 0.0
    _stopping: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Load:
        for client in range(self.clients):
            thread = threading.Thread(target=self._client, args=(client,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _client(self, client: int) -> None:
        sent = 0
        with httpx2.Client(timeout=15) as http:
            while not self._stopping.is_set():
                ticket_id = f"c{client}-{sent}"
                sent += 1
                started = time.monotonic()
                try:
                    response = http.post(f"{self.url}/data", json=ticket(ticket_id))
                except httpx2.HTTPError:
                    self.errors += 1
                    time.sleep(0.05)  # the API is down: do not spin
                    continue
                if response.status_code == 202:
                    self.acknowledged.append(ticket_id)
                else:
                    self.refused[response.status_code] += 1
                    self.slowest_refusal_s = max(self.slowest_refusal_s, time.monotonic() - started)

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join()


@dataclass(frozen=True)
class Verdict:
    scenario: str
    faults: int
    acknowledged: int
    stored: int
    lost: int
    duplicated: int

    def line(self) -> str:
        return (
            f"{self.scenario:<32} faults {self.faults:>3}  acknowledged {self.acknowledged:>6}  "
            f"stored {self.stored:>6}  lost {self.lost}  duplicated {self.duplicated}"
        )


_COPIES = (
    "SELECT t.id, count(p.line) FROM tickets t"
    " LEFT JOIN products p ON p.ticket_id = t.id GROUP BY t.id"
)


def stored_ids(database_url: str) -> Counter[str]:
    """How many copies of each ticket the store holds (a JSON file, SQLite or PostgreSQL)."""
    if database_url.startswith(("postgresql://", "postgres://")):
        with psycopg.connect(database_url) as pg:
            rows: list[tuple[str, int]] = pg.execute(_COPIES).fetchall()
    elif database_url.startswith("sqlite:///"):
        with closing(sqlite3.connect(database_url.removeprefix("sqlite:///"))) as db:
            rows = db.execute(_COPIES).fetchall()
    else:
        return Counter(t["id"] for t in json.loads(Path(database_url).read_text()))
    # Every load ticket carries the seed's three products: more lines, more copies.
    return Counter({ticket_id: lines // 3 for ticket_id, lines in rows})


def stored_purchases(database_url: str) -> list[tuple[str, Purchase]]:
    """Every stored ticket's id and purchase, as often as the store holds it."""
    if database_url.startswith(("postgresql://", "postgres://")):
        query = STORED_PURCHASES.format(condition="IS NOT NULL")
        with psycopg.connect(database_url) as pg:
            return list(purchases(pg.execute(query).fetchall()).items())
    if database_url.startswith("sqlite:///"):
        query = STORED_PURCHASES.format(condition="IS NOT NULL")
        with closing(sqlite3.connect(database_url.removeprefix("sqlite:///"))) as db:
            return list(purchases(db.execute(query).fetchall()).items())
    entries = json.loads(Path(database_url).read_text())
    return [(entry["id"], entry_purchase(entry)) for entry in entries]


def stored_at_least(store: Store, count: int) -> bool:
    return store.count() >= count


def let_some_through(store: Store, low: int = 100, high: int = 400) -> None:
    """Wait until a random few hundred more tickets are stored (the load keeps going)."""
    target = store.count() + random.randint(low, high)
    wait_for(partial(stored_at_least, store, target), 60, f"{target} tickets stored")


def verdict(scenario: str, faults: int, load: Load, database_url: str) -> Verdict:
    stored = stored_ids(database_url)
    return Verdict(
        scenario=scenario,
        faults=faults,
        acknowledged=len(load.acknowledged),
        stored=len(stored),
        lost=len(set(load.acknowledged) - set(stored)),
        duplicated=sum(1 for n in stored.values() if n > 1),
    )


def finish(scenario: str, faults: int, load: Load, pipeline: Pipeline) -> Verdict:
    """Stop the load, wait for every acknowledged ticket, and check none is lost or doubled."""
    load.stop()
    pipeline.wait_stored(load.acknowledged, timeout=120)
    result = verdict(scenario, faults, load, pipeline.env["DATABASE_URL"])
    print(result.line())
    assert result.acknowledged > 0
    assert result.lost == 0
    assert result.duplicated == 0
    return result
