"""The worker's drain of tickets already on the topic, per store; a million, then queried."""

from __future__ import annotations

import json
import time
import uuid

from confluent_kafka import Producer

from bench import million
from bench.context import RUNS, Bench
from bench.figures import Figure
from bench.stack import Stack, check_stored
from shopstream.load import example_ticket
from shopstream.supervise import wait_for

DRAIN_TICKETS = 200_000
PROFILED_TICKETS = 60_000


def drains(bench: Bench) -> None:
    """Tickets already on the topic, per store; timed from the worker's start.

    Also from its first stored ticket: the same drain without the process's start-up
    (imports, joining the group), which is a fixed second or so in a few seconds.
    """
    for label, database in bench.stores():
        key = f"drain_{label.lower()}"
        figure = Figure(key, f"worker drain, {label}", "tickets/s", target="≥ 30,000")
        steady = Figure(
            f"{key}_steady", f"worker drain, {label}, after its first stored ticket", "tickets/s"
        )
        for _ in range(RUNS):
            from_start, from_first = _drain(bench.stack(database()))
            figure.values.append(from_start)
            steady.values.append(from_first)
        bench.add(figure, steady)
        # Profiled apart, on fewer tickets: sampling slows the process it samples.
        _drain(bench.stack(database()), bench, f"worker-drain-{label.lower()}", PROFILED_TICKETS)


def _drain(
    s: Stack, bench: Bench | None = None, profile_name: str = "", tickets: int = DRAIN_TICKETS
) -> tuple[float, float]:
    """Tickets/s from the worker's start, and from its first stored ticket."""
    producer = Producer({"bootstrap.servers": s.bootstrap_servers, "linger.ms": 20})
    s.start_api()  # creates the topics
    for i in range(tickets):
        body = json.dumps(example_ticket(f"d{i}")).encode()
        while True:
            try:
                producer.produce(s.topic, body, f"d{i}".encode())
                break
            except BufferError:
                producer.poll(0.1)
    producer.flush()
    started = time.perf_counter()
    s.start_worker()
    stored_first = wait_for(s.stored, 60, "the first tickets stored")  # how many, once any
    first_at = time.perf_counter()
    finish = None
    if bench is not None and profile_name:  # now past the imports and the group join
        finish = bench.profiled(profile_name, s.pid("worker"), 3)
    check_stored(s, tickets)
    done_at = time.perf_counter()
    if finish is not None:
        finish()
    s.stop()
    return tickets / (done_at - started), (tickets - stored_first) / (done_at - first_at)


def a_million(bench: Bench) -> None:
    """One million tickets on a topic, stored by each store's worker, then queried."""
    topic = f"million-{uuid.uuid4().hex[:8]}"
    million.fill_topic(bench.broker, topic, million.TICKETS)
    for label, database in bench.stores():
        store = label.lower()
        s = bench.stack(database(), topic=topic, group=f"{topic}-{label}")
        result = million.drain_and_query(s, million.TICKETS)
        s.stop()
        bench.add(
            Figure(
                f"million_drain_{store}",
                f"worker drain of 1,000,000, {label}",
                "tickets/s",
                [result["drain_rate"]],
            ),
            Figure(
                f"million_rss_{store}",
                f"worker peak RSS at 1,000,000 stored, {label}",
                "MB",
                [result["worker_rss_mb"]],
                "≤ 250",
            ),
        )
        for query in million.QUERIES:
            target = "stated" if label == "JSON" else "≤ 50"
            query_key = query.replace(" ", "_")
            bench.add(
                Figure(
                    f"million_{store}_{query_key}",
                    f"GET /analytics at 1,000,000, {label}, {query}",
                    "ms",
                    [result[query]],
                    target,
                ),
                Figure(
                    f"million_{store}_{query_key}_first",
                    f"GET /analytics at 1,000,000, {label}, {query}, first call",
                    "ms",
                    [result[f"{query} first"]],
                ),
            )
        rotating = f"{million.ROTATING_STORES} stores in turn"
        bench.add(
            Figure(
                f"million_{store}_rotating",
                f"GET /analytics at 1,000,000, {label}, {rotating}",
                "ms",
                [result[rotating]],
            )
        )
