"""Topic admin: is a broker there, and do our topics exist."""

from __future__ import annotations

import logging

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from shopstream.config import Settings
from shopstream.errors import BrokerError

log = logging.getLogger(__name__)


def _admin(bootstrap_servers: str) -> AdminClient:
    # Silence librdkafka's own connection chatter: the caller reports the outcome.
    return AdminClient({"bootstrap.servers": bootstrap_servers, "log_level": 0})


def broker_answers(bootstrap_servers: str, timeout: float = 2.0) -> bool:
    """Whether a broker at ``bootstrap_servers`` returns cluster metadata in time."""
    try:
        _admin(bootstrap_servers).list_topics(timeout=timeout)
    except KafkaException:
        return False
    return True


def ensure_topics(settings: Settings, timeout: float = 10.0) -> None:
    """Create the ticket topic and its dead-letter topic if they are missing."""
    admin = _admin(settings.bootstrap_servers)
    try:
        existing = admin.list_topics(timeout=timeout).topics
    except KafkaException as exc:
        raise BrokerError(
            f"no Kafka broker answered at {settings.bootstrap_servers}: start one with "
            "`shopstream kafka start`, or set KAFKA_BOOTSTRAP_SERVERS"
        ) from exc
    wanted = [settings.kafka_topic, settings.dead_letter_topic]
    new_topics = [
        NewTopic(
            name,
            num_partitions=settings.kafka_partitions,
            replication_factor=settings.kafka_replication_factor,
        )
        for name in wanted
        if name not in existing
    ]
    if not new_topics:
        return
    for name, future in admin.create_topics(new_topics, operation_timeout=timeout).items():
        try:
            future.result()
            log.info("created topic %s (%d partitions)", name, settings.kafka_partitions)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise BrokerError(f"could not create topic {name}: {exc}") from exc
