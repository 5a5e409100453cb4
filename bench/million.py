"""A million tickets: the worker's memory once they are stored, and GET /analytics over them.

The tickets span 25 stores and a year of dates, so the store and date filters select
real slices (4% and about 8%) rather than all or nothing. They come in date order, the
stores interleaved within each day, as tills send them: a batch of 2,000 then touches
some 50 daily roll-up rows. With each ticket on another day than the last, it touched
8,000: ``add`` cost 28 instead of 13 to 15 µs per ticket in SQLite, 125 instead of 46
in PostgreSQL (measured on batches of 2,000).
"""

from __future__ import annotations

import datetime
import statistics
import time
from collections.abc import Iterator

import httpx2
import orjson
from confluent_kafka import Producer

from bench.stack import Stack, check_stored, peak_rss_mb
from shopstream.config import KafkaSettings, Settings
from shopstream.kafka.admin import ensure_topics
from shopstream.localkafka.broker import LocalBroker
from shopstream.models import example_ticket

TICKETS = 1_000_000
STORES = 25
FIRST_DAY = datetime.date(2024, 1, 1)
DAYS = 366  # 2024, a leap year
QUERIES = {
    "unfiltered": {},
    "one store": {"store": "Store 07"},
    "one month": {"date_from": "2024-03-01", "date_to": "2024-03-31"},
}
_CALLS = 20
# More different filters than a reader kept tallies for (16, before the JSON store kept
# daily sums): each call asks for another store, as rotating dashboards would.
ROTATING_STORES = 17


def _tickets(count: int) -> Iterator[tuple[str, bytes]]:
    for i in range(count):
        ticket = example_ticket(f"m{i}")
        ticket["store"] = f"Store {i % STORES:02d}"
        ticket["date"] = (FIRST_DAY + datetime.timedelta(days=i * DAYS // count)).isoformat()
        yield ticket["id"], orjson.dumps(ticket)


def fill_topic(broker: LocalBroker, topic: str, count: int) -> None:
    """Put ``count`` tickets on ``topic`` (not timed: the drains that follow are)."""
    ensure_topics(
        Settings(kafka=KafkaSettings(bootstrap_servers=broker.bootstrap_servers, topic=topic))
    )
    producer = Producer({"bootstrap.servers": broker.bootstrap_servers, "linger.ms": 20})
    for key, value in _tickets(count):
        while True:
            try:
                producer.produce(topic, value, key)
                break
            except BufferError:
                producer.poll(0.1)
    producer.flush()


def drain_and_query(stack: Stack, count: int) -> dict[str, float]:
    """Store ``count`` tickets with one worker, then time ``GET /analytics`` over them.

    Returns the drain rate, the worker's peak RSS, and per query the first call and the
    median of the next ones (ms).
    """
    started = time.perf_counter()
    stack.start_worker()
    check_stored(stack, count, timeout=600)
    result = {
        "drain_rate": count / (time.perf_counter() - started),
        "worker_rss_mb": peak_rss_mb(stack.pid("worker")),
    }
    stack.start_api()
    with httpx2.Client(base_url=stack.url, timeout=120) as client:
        for name, params in QUERIES.items():
            times = []
            for _ in range(_CALLS + 1):
                began = time.perf_counter()
                response = client.get("/analytics", params=params)
                times.append((time.perf_counter() - began) * 1000)
                response.raise_for_status()
            expected = {"unfiltered": count, "one store": count // STORES}.get(name)
            if expected is not None and response.json()["tickets"] != expected:
                raise RuntimeError(f"{name}: {response.json()['tickets']} tickets, not {expected}")
            result[f"{name} first"] = times[0]
            result[name] = statistics.median(times[1:])
        times = []
        for call in range(_CALLS * 2):
            params = {"store": f"Store {call % ROTATING_STORES:02d}"}
            began = time.perf_counter()
            client.get("/analytics", params=params).raise_for_status()
            times.append((time.perf_counter() - began) * 1000)
        result[f"{ROTATING_STORES} stores in turn"] = statistics.median(times)
    return result
