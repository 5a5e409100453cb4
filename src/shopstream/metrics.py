"""Prometheus metrics (prometheus-client): what the API and the worker count and expose.

One process keeps its metrics in a registry of its own and exposes it as it is. Several
processes serving as one (``api --workers N``, ``worker --processes N``) use
prometheus-client's multiprocess mode: whoever starts them gives them a fresh
``PROMETHEUS_MULTIPROC_DIR`` (``shared_by_processes``); each writes its values to files
there, and ``/metrics`` adds the files up, so any one of them answers for all. Gauges say
how they combine (``multiprocess_mode``). The mode is chosen when prometheus-client is
imported, so the directory is set before the processes start, never after.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_BATCH_SIZES = (1, 10, 50, 100, 500, 1000, 2000, 5000, 10000, 100000)


def _multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROCESS_DIR))


def own_registry() -> CollectorRegistry | None:
    """Where a process registers its metrics: a registry of its own, or in multiprocess
    mode none (the files hold the values; registered too, they would be exposed twice)."""
    return None if _multiprocess() else CollectorRegistry(auto_describe=True)


def exposed(own: CollectorRegistry | None) -> CollectorRegistry:
    """What ``/metrics`` serves: ``own``, or in multiprocess mode the sum of every process."""
    if own is not None:
        return own
    summed = CollectorRegistry()
    MultiProcessCollector(summed)  # type: ignore[no-untyped-call]
    return summed


@contextmanager
def shared_by_processes() -> Iterator[str]:
    """A fresh metrics directory for the processes about to start; removed after them.

    An operator's own ``PROMETHEUS_MULTIPROC_DIR`` is kept (and left in place).
    """
    given = os.environ.get(MULTIPROCESS_DIR)
    if given:
        yield given
        return
    directory = tempfile.mkdtemp(prefix="shopstream-metrics-")
    os.environ[MULTIPROCESS_DIR] = directory
    try:
        yield directory
    finally:
        del os.environ[MULTIPROCESS_DIR]
        shutil.rmtree(directory, ignore_errors=True)


def forget_process(pid: int) -> None:
    """A process of a multiprocess group exited: its live gauges no longer count."""
    if _multiprocess():
        mark_process_dead(pid)  # type: ignore[no-untyped-call]


class ApiMetrics:
    """The API's: tickets accepted and refused, the time to Kafka's ack, the producer."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.registry = registry
        self.accepted = Counter(
            "shopstream_tickets_accepted",
            "Tickets answered 202: Kafka acknowledged them (each of a batch counts).",
            registry=registry,
        )
        self.refused = Counter(
            "shopstream_tickets_refused",
            "POST /data and /data/batch answered 4xx or 5xx, by status (a batch counts once).",
            ["status"],
            registry=registry,
        )
        self.publish_seconds = Histogram(
            "shopstream_publish_seconds",
            "From a POST's arrival to its 202, that is to Kafka's acknowledgement.",
            buckets=_SECONDS,
            registry=registry,
        )
        self.queue_depth = Gauge(
            "shopstream_producer_queue_messages",
            "Messages the producer holds that Kafka has not acknowledged yet.",
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.kafka_up = Gauge(
            "shopstream_kafka_up",
            "1 if a Kafka broker answered the last check (every 2 s), else 0.",
            multiprocess_mode="livemin",
            registry=registry,
        )


_WORKER_HELP = {
    "stored": "Tickets the store took that it did not have (a copy of a stored one does not).",
    "dead_letters": "Messages sent to the dead-letter topic, by the kind of their reason.",
    "write": "One write of a batch to the store, durable when it returns.",
    "batch": "Messages in each batch the worker handled.",
    "lag": "Per partition: the end offset minus the group's committed offset "
    "(measured every WORKER_PROGRESS_S).",
}


class WorkerMetrics:
    """The worker's: tickets stored, dead letters, store writes, batches, the group's lag."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.registry = registry
        said = _WORKER_HELP
        self.stored = Counter("shopstream_tickets_stored", said["stored"], registry=registry)
        self.dead_letters = Counter(
            "shopstream_dead_letters", said["dead_letters"], ["reason"], registry=registry
        )
        self.store_write_seconds = Histogram(
            "shopstream_store_write_seconds", said["write"], buckets=_SECONDS, registry=registry
        )
        self.batch_size = Histogram(
            "shopstream_worker_batch_messages",
            said["batch"],
            buckets=_BATCH_SIZES,
            registry=registry,
        )
        # A gauge each process sets for the whole group: the latest measure is the one.
        self.lag = Gauge(
            "shopstream_consumer_lag",
            said["lag"],
            ["partition"],
            multiprocess_mode="livemostrecent",
            registry=registry,
        )

    def set_lag(self, lag: dict[int, int]) -> None:
        for partition, behind in lag.items():
            self.lag.labels(str(partition)).set(behind)
