"""The topics shopstream publishes to are served by their leaders before it publishes.

A broker names a new partition's leader before that leader has loaded it. Publishing in
that gap lost three acknowledged tickets in the fault suite (Kafka 4.4, KAFKA-15591):
``ensure_topics``, which the API and the worker call before they start, returns only
once every partition answers.
"""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec  # type: ignore[attr-defined]

from shopstream.config import KafkaSettings, Settings
from shopstream.errors import BrokerError
from shopstream.kafka.admin import await_leaders, ensure_topics
from shopstream.localkafka.broker import LocalBroker
from shopstream.localkafka.cluster import LocalCluster
from shopstream.supervise import wait_for

pytestmark = pytest.mark.integration

_PARTITIONS = 6


def _settings(kafka: LocalBroker | LocalCluster) -> Settings:
    topic = f"topics-{uuid.uuid4().hex[:10]}"
    return Settings(
        kafka=KafkaSettings(
            bootstrap_servers=kafka.bootstrap_servers,
            topic=topic,
            partitions=_PARTITIONS,
            replication_factor=1,
        )
    )


def _unserved(settings: Settings) -> list[str]:
    """The partitions of both topics whose leader does not answer for them right now."""
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
    topics = (settings.kafka.topic, settings.kafka.dead_letter_topic)
    latest = OffsetSpec.latest()  # type: ignore[no-untyped-call]
    asked = {TopicPartition(t, p): latest for t in topics for p in range(_PARTITIONS)}
    unserved = []
    for tp, future in admin.list_offsets(asked, request_timeout=10).items():
        try:
            future.result()
        except KafkaException as exc:
            unserved.append(f"{tp.topic} [{tp.partition}]: {exc.args[0].str()}")
    return unserved


def test_every_partition_is_served_once_the_topics_are_created(kafka: LocalBroker) -> None:
    for _ in range(3):  # on main, fresh topics had unserved partitions 15 times in 15
        settings = _settings(kafka)
        ensure_topics(settings)
        assert _unserved(settings) == []


def test_topics_another_process_just_created_are_waited_for(kafka: LocalBroker) -> None:
    """`shopstream up` starts the worker and the API together: one creates the topics, the
    other finds them there, and must not publish before they are served either."""
    for _ in range(5):
        settings = _settings(kafka)
        admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
        topics = [
            NewTopic(name, num_partitions=_PARTITIONS, replication_factor=1)
            for name in (settings.kafka.topic, settings.kafka.dead_letter_topic)
        ]
        admin.create_topics(topics)  # not waited for: the other process's request
        ensure_topics(settings)
        assert _unserved(settings) == []


def _leaders(settings: Settings) -> list[int]:
    """The leader of each partition of the ticket topic in fresh metadata (-1: none)."""
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
    topic = admin.list_topics(settings.kafka.topic, timeout=10).topics[settings.kafka.topic]
    return [p.leader for p in topic.partitions.values()]


def test_leaders_back_are_seen_by_a_client_that_saw_none(cluster: LocalCluster) -> None:
    """In CI every partition stayed "No leaders found" for the whole wait. librdkafka's
    ListOffsets takes a partition that its metadata cache holds without a leader for failed,
    and never asks the brokers again: the wait must refresh that metadata itself."""
    settings = _settings(cluster)
    node = cluster.nodes[-1]
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
    on_node = NewTopic(settings.kafka.topic, _PARTITIONS, replica_assignment=[[3]] * _PARTITIONS)
    for future in admin.create_topics([on_node]).values():
        future.result()
    node.stop()  # a controlled shutdown: every partition, its one replica there, has no leader
    wait_for(lambda: set(_leaders(settings)) == {-1}, 60, "no partition with a leader")

    partitions = [TopicPartition(settings.kafka.topic, p) for p in range(_PARTITIONS)]
    with pytest.raises(BrokerError, match=f"{_PARTITIONS} partitions unserved"):
        await_leaders(admin, partitions, timeout=1)

    cluster.start()
    wait_for(lambda: -1 not in _leaders(settings), 60, "every partition led again")
    await_leaders(admin, partitions, timeout=30)  # on main: "No leaders found" until the end
