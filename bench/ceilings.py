"""What this machine allows without shopstream: Kafka's own producer, a bare SQLite insert."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import tempfile
import time
import uuid
from contextlib import closing
from functools import partial
from pathlib import Path

from confluent_kafka import Producer

from bench.context import Bench
from bench.drains import DRAIN_TICKETS
from bench.figures import Figure
from shopstream.config import KafkaSettings, Settings
from shopstream.kafka.admin import ensure_topics
from shopstream.load import example_ticket
from shopstream.localkafka.broker import LocalBroker


def producer_performance(broker: LocalBroker, records: int) -> float:
    """Kafka's ProducerPerformance with our record size, acks=all, idempotent: records/s."""
    topic = f"perf-{uuid.uuid4().hex[:8]}"
    ensure_topics(
        Settings(kafka=KafkaSettings(bootstrap_servers=broker.bootstrap_servers, topic=topic))
    )
    record = len(json.dumps(example_ticket("x" * 16)))
    result = subprocess.run(
        [
            "java",
            "-cp",
            f"{broker.libs}/*",
            "org.apache.kafka.tools.ProducerPerformance",
            *("--topic", topic, "--num-records", str(records)),
            *("--record-size", str(record), "--throughput", "-1"),
            "--producer-props",
            f"bootstrap.servers={broker.bootstrap_servers}",
            "acks=all",
            "enable.idempotence=true",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    rates = re.findall(r"([\d.]+) records/sec", result.stdout)
    return float(rates[-1])


def sqlite_insert(scratch: Path, tickets: int) -> float:
    """The SQLite store's rows, inserted with nothing else around them: tickets/s."""
    rows = [(f"t{i}", "Brussels", "2020-01-01", 4.5) for i in range(tickets)]
    lines = [
        (f"t{i}", n, "123456789", name, 1.5, category)
        for i in range(tickets)
        for n, (name, category) in enumerate(
            (("Banana", "Fruit"), ("Bread", "Bakery"), ("Water", "Drink"))
        )
    ]
    path = Path(tempfile.mkdtemp(dir=scratch)) / "ceiling.db"
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(
            "CREATE TABLE tickets (id TEXT PRIMARY KEY, store, date, total_price) WITHOUT ROWID"
        )
        db.execute(
            "CREATE TABLE products (ticket_id, line, product_id, name, price, category,"
            " PRIMARY KEY (ticket_id, line)) WITHOUT ROWID"
        )
        started = time.perf_counter()
        db.execute("BEGIN")
        db.executemany("INSERT INTO tickets VALUES (?, ?, ?, ?)", rows)
        db.executemany("INSERT INTO products VALUES (?, ?, ?, ?, ?, ?)", lines)
        db.execute("COMMIT")
        return tickets / (time.perf_counter() - started)


def kafka_round_trip_ms(broker: LocalBroker, messages: int = 1000) -> float:
    """One acks=all message at a time, produced and flushed: the median round trip (ms)."""
    topic = f"rtt-{uuid.uuid4().hex[:8]}"
    ensure_topics(
        Settings(kafka=KafkaSettings(bootstrap_servers=broker.bootstrap_servers, topic=topic))
    )
    producer = Producer(
        {
            "bootstrap.servers": broker.bootstrap_servers,
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": 0,
        }
    )
    value = json.dumps(example_ticket("x" * 16)).encode()
    producer.produce(topic, value)
    producer.flush()
    times = []
    for i in range(messages):
        started = time.perf_counter()
        producer.produce(topic, value, str(i))
        producer.flush()
        times.append(time.perf_counter() - started)
    times.sort()
    return times[len(times) // 2] * 1000


def kafka_and_sqlite(bench: Bench) -> None:
    bench.repeat(
        Figure(
            "kafka_producer_performance",
            "ceiling: Kafka ProducerPerformance, acks=all",
            "records/s",
        ),
        partial(producer_performance, bench.broker, DRAIN_TICKETS),
    )
    bench.repeat(
        Figure("sqlite_insert", "ceiling: SQLite executemany of the rows", "tickets/s"),
        partial(sqlite_insert, bench.scratch, DRAIN_TICKETS),
    )
    bench.repeat(
        Figure("kafka_rtt", "Kafka round trip of one acks=all message, median", "ms"),
        partial(kafka_round_trip_ms, bench.broker),
    )
