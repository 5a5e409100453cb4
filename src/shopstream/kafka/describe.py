"""What Kafka says about the pipeline, for ``shopstream status``.

The brokers, the ticket topic's partitions (leader, replicas, in-sync replicas) with the
workers' lag on each, the group's members and what each was assigned, and how many
letters the dead-letter topic holds (what it retains: every one, at the default
retention).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, ClusterMetadata  # type: ignore[attr-defined]

from shopstream.config import Settings
from shopstream.kafka.config import client_config
from shopstream.kafka.lag import group_reader, partition_offsets


@dataclass(frozen=True)
class Broker:
    id: int
    host: str
    port: int
    controller: bool


@dataclass(frozen=True)
class Partition:
    partition: int
    leader: int
    replicas: list[int]
    in_sync: list[int]
    end: int
    """the offset the next message will get"""
    committed: int | None
    """the group's committed offset, None if it never committed here"""
    lag: int


@dataclass(frozen=True)
class Member:
    client_id: str
    host: str
    partitions: list[int]


@dataclass
class KafkaState:
    """Kafka as ``status`` shows it; ``error`` says why something could not be asked."""

    brokers: list[Broker] = field(default_factory=list)
    partitions: list[Partition] = field(default_factory=list)
    group_state: str = "unknown"
    members: list[Member] = field(default_factory=list)
    dead_letters: int | None = None
    measured: bool = False
    """whether the partitions' offsets, so the lag, are known"""
    error: str | None = None

    @property
    def answers(self) -> bool:
        return bool(self.brokers)

    @property
    def lag(self) -> int | None:
        return sum(p.lag for p in self.partitions) if self.measured else None


def _ignore(_: KafkaError) -> None:
    pass


def describe(settings: Settings, timeout: float = 5.0) -> KafkaState:
    """Ask the brokers; what they do not answer stays empty, with the reason in ``error``."""
    config: dict[str, Any] = {
        **client_config(settings, "status"),
        "log_level": 0,
        "error_cb": _ignore,
    }
    state = KafkaState()
    admin = AdminClient(config)
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        state.error = f"no Kafka broker answers at {settings.bootstrap_servers}: {exc.args[0]}"
        return state
    state.brokers = [
        Broker(b.id, b.host or "", b.port, b.id == metadata.controller_id)
        for b in sorted(metadata.brokers.values(), key=lambda b: b.id)
    ]
    reader = group_reader(settings, "status")
    try:
        state.partitions = _partitions(settings, metadata, reader, timeout)
        state.measured = True
        state.dead_letters = _letters(settings, metadata, reader, timeout)
        _describe_group(settings, admin, state, timeout)
    except KafkaException as exc:
        state.error = f"Kafka did not answer everything: {exc.args[0]}"
    finally:
        reader.close()
    return state


def _partitions(
    settings: Settings, metadata: ClusterMetadata, reader: Consumer, timeout: float
) -> list[Partition]:
    topic = metadata.topics.get(settings.kafka.topic)
    if topic is None or topic.error is not None:
        return []
    offsets = {
        o.partition: o
        for o in partition_offsets(reader, settings.kafka.topic, list(topic.partitions), timeout)
    }
    found = []
    for p in sorted(topic.partitions.values(), key=lambda p: p.id):
        at = offsets[p.id]
        found.append(
            Partition(p.id, p.leader, list(p.replicas), list(p.isrs), at.end, at.committed, at.lag)
        )
    return found


def _letters(
    settings: Settings, metadata: ClusterMetadata, reader: Consumer, timeout: float
) -> int:
    name = settings.kafka.dead_letter_topic
    topic = metadata.topics.get(name)
    if topic is None or topic.error is not None:
        return 0  # no letter was ever sent
    count = 0
    for partition in topic.partitions:
        start, end = reader.get_watermark_offsets(
            TopicPartition(name, partition), timeout=timeout, cached=False
        )
        count += end - start
    return count


def _describe_group(
    settings: Settings, admin: AdminClient, state: KafkaState, timeout: float
) -> None:
    group, topic = settings.worker.group, settings.kafka.topic
    future = admin.describe_consumer_groups([group], request_timeout=timeout)[group]
    description = future.result()
    state.group_state = str(description.state.name).lower()
    state.members = [
        Member(
            m.client_id,
            m.host,
            sorted(tp.partition for tp in m.assignment.topic_partitions if tp.topic == topic),
        )
        for m in sorted(description.members, key=lambda m: m.client_id)
    ]
