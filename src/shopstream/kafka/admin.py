"""Topic admin: is a broker there, and do our topics exist."""

from __future__ import annotations

import logging
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from shopstream.config import Settings
from shopstream.errors import BrokerError
from shopstream.kafka.config import security_config

log = logging.getLogger(__name__)


def admin_config(settings: Settings) -> dict[str, Any]:
    return {"bootstrap.servers": settings.bootstrap_servers, **security_config(settings)}


def _admin(config: dict[str, Any]) -> AdminClient:
    # Silence librdkafka's own connection chatter: the caller reports the outcome.
    return AdminClient({**config, "log_level": 0})


def broker_answers(config: dict[str, Any], timeout: float = 2.0) -> bool:
    """Whether the brokers ``config`` names return cluster metadata in time."""
    try:
        _admin(config).list_topics(timeout=timeout)
    except KafkaException:
        return False
    return True


def ensure_topics(settings: Settings, timeout: float = 10.0) -> None:
    """Create the ticket topic and its dead-letter topic if they are missing."""
    admin = _admin(admin_config(settings))
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
