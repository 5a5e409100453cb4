"""A broker just started runs its request paths interpreted: warm them before it counts as up.

The JVM compiles a method only after some thousands of calls. On a broker just started,
the exercise's stress test (1000 tickets posted one after the other) therefore ran up to
1.7 times as long as on the same broker a minute later (docs/performance.md). So before
``shopstream kafka start`` and ``shopstream up`` report the local broker up, it is sent
the traffic the pipeline sends, through the same clients: the API's producer
(``KafkaPublisher``: idempotent, acks=all, one ticket per request when they come one at a
time, and batches when they come together) and the worker's consumer (``BatchConsumer``:
a group member fetching and committing), on a topic of its own that keeps messages for a
minute.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass

from shopstream.config import Settings
from shopstream.kafka.consumer import BatchConsumer
from shopstream.kafka.producer import KafkaPublisher

WARMUP_TOPIC = "shopstream-warmup"
_RETENTION_MS = 60_000
# Several producers at once: the JIT compiles a method after so many calls, and one
# producer waiting for each acknowledgement makes a few hundred calls a second on a cold
# broker. Eight made 11,700 produce requests in 3 s where one made 480 (docs/performance.md).
_STREAMS = 8
# Every so often a burst, as concurrent clients make: produce requests of several records.
_BURST_EVERY = 200
_BURST = 64
_READ_ALL_S = 10.0
_VALUE = b'{"id":"warm-up","store":"-","date":"2000-01-01","products":[]}'


@dataclass(frozen=True)
class WarmUp:
    published: int
    consumed: int
    seconds: float


def warm_up(
    settings: Settings, bootstrap_servers: str, seconds: float, replicas: int = 1
) -> WarmUp:
    """Publish for ``seconds`` (one at a time, with bursts) while a group member reads them."""
    started = time.monotonic()
    warm = _warm_settings(settings, bootstrap_servers, replicas)
    reader = _Reader(BatchConsumer(warm))
    reader.consumer.subscribe()  # creates the topic
    thread = threading.Thread(target=reader.run, name="warm-up-reader", daemon=True)
    thread.start()
    published = 0
    try:
        published = asyncio.run(_publish(warm, seconds))
    finally:
        reader.until(published)
        thread.join(timeout=_READ_ALL_S + 1)
    return WarmUp(published, reader.consumed, time.monotonic() - started)


def _warm_settings(settings: Settings, bootstrap_servers: str, replicas: int) -> Settings:
    """The same clients on the local broker's plaintext port, the warm-up topic and group."""
    kafka = settings.kafka.model_copy(
        update={
            "bootstrap_servers": bootstrap_servers,
            "security_protocol": "PLAINTEXT",
            "topic": WARMUP_TOPIC,
            "partitions": 1,
            "replication_factor": replicas,  # a cluster's writes need two in-sync copies
            "retention_ms": _RETENTION_MS,
            "ssl_ca_file": None,
            "ssl_cert_file": None,
            "ssl_key_file": None,
        }
    )
    worker = settings.worker.model_copy(update={"group": WARMUP_TOPIC})
    return settings.model_copy(update={"kafka": kafka, "worker": worker})


async def _publish(settings: Settings, seconds: float) -> int:
    """``_STREAMS`` producers, each publishing one at a time, with bursts now and then."""
    publishers = [KafkaPublisher(settings, role="warmup") for _ in range(_STREAMS)]
    for publisher in publishers:
        publisher.start()
    try:
        # The first of each waits for the broker to hand out a producer id, which a broker
        # just started does after a second or two: the warm-up's time starts after them.
        await asyncio.gather(*(p.publish([("w", _VALUE)]) for p in publishers))
        deadline = time.monotonic() + seconds
        counts = await asyncio.gather(*(_stream(p, deadline) for p in publishers))
    finally:
        await asyncio.gather(*(asyncio.to_thread(p.close) for p in publishers))
    return _STREAMS + sum(counts)


async def _stream(publisher: KafkaPublisher, deadline: float) -> int:
    published = 0
    while time.monotonic() < deadline:
        if published % _BURST_EVERY == 0:
            await asyncio.gather(*(publisher.publish([("w", _VALUE)]) for _ in range(_BURST)))
            published += _BURST
        await publisher.publish([("w", _VALUE)])
        published += 1
    return published


class _Reader:
    """The worker's side: reads and commits, as the worker does, until it has read all."""

    def __init__(self, consumer: BatchConsumer) -> None:
        self.consumer = consumer
        self.consumed = 0
        self._expected = 0
        self._deadline = 0.0
        self._told = threading.Event()

    def until(self, published: int) -> None:
        """Stop once ``published`` messages are read, or ``_READ_ALL_S`` from now."""
        self._expected = published
        self._deadline = time.monotonic() + _READ_ALL_S
        self._told.set()

    def run(self) -> None:
        try:
            while not self._told.is_set() or (
                self.consumed < self._expected and time.monotonic() < self._deadline
            ):
                batch = self.consumer.next_batch(2000, wait=0.1)
                self.consumer.mark_stored(batch)
                self.consumed += len(batch)
        finally:
            self.consumer.close()
