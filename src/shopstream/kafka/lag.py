"""The consumer group's lag: per partition of the ticket topic, what no worker committed.

A partition's lag is its end offset (where Kafka writes next) minus the group's committed
offset (where a worker would start reading). Where the group never committed, a worker
starts at the partition's first retained message (``auto.offset.reset=earliest``), so all
of them count. A worker commits what it stored every few seconds (librdkafka's
auto-commit, 5 s), so the lag falls to 0 that long after the store has everything.

Measured by a consumer of the group that never joins it (no subscription), as
``kafka-consumer-groups.sh --describe`` does: it works with every worker stopped, and it
takes no partition from them. Not with the admin API's list_consumer_group_offsets:
librdkafka crashed the process (SIGSEGV) when the group's coordinator was still loading,
on a fresh broker (confluent-kafka-javascript#374 shows the same trace).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import OFFSET_INVALID, Consumer, KafkaError, KafkaException, TopicPartition

from shopstream.config import Settings
from shopstream.kafka.config import client_config

_RETRY_S = 0.2
_COORDINATOR_MOVING = frozenset(
    {
        KafkaError.NOT_COORDINATOR,
        KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
        KafkaError.COORDINATOR_NOT_AVAILABLE,
    }
)


@dataclass(frozen=True)
class PartitionOffsets:
    partition: int
    start: int
    """the first offset still retained"""
    end: int
    """the offset the next message will get"""
    committed: int | None
    """where the group will read on, or None if it never committed here"""

    @property
    def lag(self) -> int:
        """Messages past the committed offset (or the start) that the group has not stored."""
        read_from = self.start if self.committed is None else max(self.committed, self.start)
        return max(self.end - read_from, 0)


def group_reader(settings: Settings, role: str) -> Consumer:
    """A consumer of the workers' group that reads offsets only: it never subscribes."""
    config: dict[str, Any] = {
        **client_config(settings, role),
        "group.id": settings.worker.group,
        "enable.auto.commit": False,
        # Quiet: its caller says what it could not measure; a worker's own consumer
        # already reports an unreachable broker.
        "log_level": 0,
        "error_cb": _ignore,
    }
    return Consumer(config)


def _ignore(_: KafkaError) -> None:
    pass


def partition_offsets(
    reader: Consumer, topic: str, partitions: Sequence[int], timeout: float
) -> list[PartitionOffsets]:
    """The group's offsets on ``topic``'s ``partitions``; raises KafkaException."""
    if not partitions:
        return []
    asked = [TopicPartition(topic, p) for p in sorted(partitions)]
    found = []
    for position in _committed(reader, asked, timeout):
        start, end = reader.get_watermark_offsets(
            TopicPartition(topic, position.partition), timeout=timeout, cached=False
        )
        committed = None if position.offset == OFFSET_INVALID else position.offset
        found.append(PartitionOffsets(position.partition, start, end, committed))
    return found


def _committed(reader: Consumer, asked: list[TopicPartition], timeout: float) -> Any:
    """The group's committed offsets, asked again while its coordinator is not there yet
    (a group never seen before, on a broker that just started, is still being loaded)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return reader.committed(asked, timeout=max(deadline - time.monotonic(), 0.1))
        except KafkaException as exc:
            error = exc.args[0]
            transient = error.retriable() or error.code() in _COORDINATOR_MOVING
            if not transient or time.monotonic() >= deadline:
                raise
            time.sleep(_RETRY_S)  # the broker's coordinator, not a test: nothing to poll


def topic_partitions(reader: Consumer, topic: str, timeout: float) -> list[int] | None:
    """The partitions of ``topic``; None if it does not exist (yet)."""
    metadata = reader.list_topics(topic, timeout=timeout).topics.get(topic)
    if metadata is None or metadata.error is not None:
        return None
    return sorted(metadata.partitions)


class GroupLag:
    """The worker group's lag on the ticket topic, by partition, as last measured.

    Measured every ``WORKER_PROGRESS_S`` in a thread of its own: asking Kafka takes a
    few round trips, seconds while the group rebalances, and the worker's loop does not
    wait for them. Calling it returns the latest measure at once.
    """

    def __init__(self, settings: Settings, timeout: float = 2.0) -> None:
        self._settings = settings
        self._timeout = timeout
        self._latest: dict[int, int] | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._measure_often, name="lag", daemon=True)
        self._thread.start()

    def __call__(self) -> dict[int, int] | None:
        """The lag by partition; None until measured, or when Kafka did not answer in time."""
        return self._latest

    def _measure_often(self) -> None:
        reader = group_reader(self._settings, "lag")
        try:
            while True:
                self._latest = self._measure(reader)
                if self._stopping.wait(self._settings.worker.progress_s):
                    return
        finally:
            reader.close()

    def _measure(self, reader: Consumer) -> dict[int, int] | None:
        topic = self._settings.kafka.topic
        try:
            partitions = topic_partitions(reader, topic, self._timeout)
            if partitions is None:
                return None
            offsets = partition_offsets(reader, topic, partitions, self._timeout)
        except KafkaException:
            return None
        return {o.partition: o.lag for o in offsets}

    def close(self) -> None:
        self._stopping.set()
        self._thread.join()
