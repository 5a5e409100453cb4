"""Topic admin: is a broker there, and do our topics exist."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import ConsumerGroupState, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    ClusterMetadata,
    NewTopic,
    OffsetSpec,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialAlteration,
    UserScramCredentialUpsertion,
)

from shopstream.config import Settings
from shopstream.errors import BrokerError, ConfigurationError
from shopstream.kafka.config import client_config, message_limit
from shopstream.supervise import wait_for

log = logging.getLogger(__name__)


def _admin(config: dict[str, Any], **callbacks: Callable[[KafkaError], None]) -> AdminClient:
    # Silence librdkafka's own connection chatter: the caller reports the outcome.
    client_config: dict[str, Any] = {**config, "log_level": 0, **callbacks}
    return AdminClient(client_config)


_SLICE_S = 0.5
_LATEST = OffsetSpec.latest()  # type: ignore[no-untyped-call]


def _connect(config: dict[str, Any], timeout: float) -> tuple[AdminClient, ClusterMetadata]:
    """An admin client and the cluster's metadata, asked for in half-second slices.

    Slices, so that refused credentials and failed TLS handshakes show at once:
    librdkafka reports them only as error events and keeps retrying; served between
    slices, they end the wait with the reason.
    """
    refusals: list[KafkaError] = []

    def note(error: KafkaError) -> None:
        if _refusal(error):
            refusals.append(error)

    admin = _admin(config, error_cb=note)
    deadline = time.monotonic() + timeout
    while True:
        try:
            slice_s = min(_SLICE_S, max(deadline - time.monotonic(), 0.01))
            return admin, admin.list_topics(timeout=slice_s)
        except KafkaException:
            admin.poll(0)
            if refusals:
                raise ConfigurationError(_refusal(refusals[0])) from None
            if time.monotonic() >= deadline:
                raise


def _refusal(error: KafkaError) -> str | None:
    """What to tell when ``error`` means Kafka will never take this client as configured.

    A broker that refuses the client's certificate (or its absence) sends a TLS alert,
    which librdkafka reports as a transport error with OpenSSL's "SSL alert number".
    """
    code, reason = error.code(), error.str()
    if code == KafkaError._AUTHENTICATION:
        return (
            "Kafka refused the credentials (KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD, "
            f"KAFKA_SASL_MECHANISM): {reason}"
        )
    if code == KafkaError._SSL:
        return f"the TLS handshake with Kafka failed (KAFKA_SSL_CA_FILE): {reason}"
    if code == KafkaError._TRANSPORT and "SSL alert number" in reason:
        return (
            "Kafka refused the TLS connection: it requires a client certificate its CA "
            f"signed (KAFKA_SSL_CERT_FILE, KAFKA_SSL_KEY_FILE): {reason}"
        )
    return None


def answering_cluster_id(config: dict[str, Any], timeout: float = 2.0) -> str | None:
    """The id of the cluster whose brokers ``config`` names, if they answer in time."""
    try:
        _, metadata = _connect(config, timeout)
    except KafkaException:
        return None
    cluster_id: str | None = metadata.cluster_id
    return cluster_id


def broker_answers(config: dict[str, Any], timeout: float = 2.0) -> bool:
    """Whether the brokers ``config`` names return cluster metadata in time.

    Raises ``ConfigurationError`` when they answer but refuse the credentials.
    """
    try:
        _connect(config, timeout)
    except KafkaException:
        return False
    return True


def add_scram_user(config: dict[str, Any], username: str, password: str) -> None:
    """Create or reset ``username``'s SCRAM-SHA-256 and -512 credentials on the brokers."""
    admin = _admin(config)  # kept alive until the futures settle
    # One request may alter a user once: one request per mechanism.
    for mechanism in (ScramMechanism.SCRAM_SHA_256, ScramMechanism.SCRAM_SHA_512):
        upsert: list[UserScramCredentialAlteration] = [
            UserScramCredentialUpsertion(
                username, ScramCredentialInfo(mechanism, 4096), password.encode()
            )
        ]
        for future in admin.alter_user_scram_credentials(upsert).values():
            try:
                future.result()
            except KafkaException as exc:
                raise BrokerError(
                    f"could not set the SCRAM credentials of {username}: {exc}"
                ) from exc


def topic_configs(settings: Settings) -> dict[str, dict[str, str]]:
    """The configuration of each topic shopstream creates.

    Retention outlives any outage by default (forever): the ticket topic is the truth the
    stores are views of, and a ticket acknowledged but not yet stored must still be there
    when the worker comes back, however long it was down.
    """
    retention = {"retention.ms": str(settings.kafka.retention_ms), "retention.bytes": "-1"}
    return {
        settings.kafka.topic: {
            **retention,
            "max.message.bytes": str(message_limit(settings)),
        },
        settings.kafka.dead_letter_topic: {
            **retention,
            "max.message.bytes": str(message_limit(settings, dead_letters=True)),
        },
    }


def ensure_topics(settings: Settings, timeout: float = 10.0) -> None:
    """Create the ticket topic and its dead-letter topic if they are missing, and return
    once the leader of each of their partitions serves it."""
    try:
        admin, metadata = _connect(client_config(settings, "admin"), timeout)
    except KafkaException as exc:
        raise BrokerError(
            f"no Kafka broker answered at {settings.bootstrap_servers}: start one with "
            "`shopstream kafka start`, or set KAFKA_BOOTSTRAP_SERVERS"
        ) from exc
    configs = topic_configs(settings)
    counts = {
        name: len(metadata.topics[name].partitions) for name in configs if name in metadata.topics
    }
    new_topics = [
        NewTopic(
            name,
            num_partitions=settings.kafka.partitions,
            replication_factor=settings.kafka.replication_factor,
            config=config,
        )
        for name, config in configs.items()
        if name not in counts
    ]
    if new_topics:
        for name, future in admin.create_topics(new_topics, operation_timeout=timeout).items():
            try:
                future.result()
                log.info("created topic %s (%d partitions)", name, settings.kafka.partitions)
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise BrokerError(f"could not create topic {name}: {exc}") from exc
            counts[name] = settings.kafka.partitions
    partitions = [TopicPartition(name, p) for name, count in counts.items() for p in range(count)]
    await_leaders(admin, partitions, timeout)


def await_leaders(admin: AdminClient, partitions: list[TopicPartition], timeout: float) -> None:
    """Return once the leader of every partition answers for it (a ListOffsets request).

    A broker names a new partition's leader in its metadata before that leader has loaded
    the partition, and a produce sent meanwhile fails and is retried. An idempotent
    producer keeps sending the partition's next batches; a broker before Kafka 4.5
    (KAFKA-15591) takes a later batch as the partition's first, and the earlier one is
    never written, while librdkafka reports it delivered: acknowledged tickets lost. The
    topics must be served before anything is published to them, even when another process
    created them a moment ago (`shopstream up` starts the API and the worker together).

    Each round asks for the topics' metadata first. librdkafka's ListOffsets takes a
    partition that its metadata cache holds without a leader for failed and never asks
    again, so one answer given while a leader was missing would otherwise fail every
    round of the wait, however soon the leader came back.
    """
    waiting = dict.fromkeys(partitions, "")  # each one with the reason it was not served

    def served() -> bool:
        unled = _without_leader(admin, list(waiting))
        waiting.update(unled)
        asked = {tp: _LATEST for tp in waiting if tp not in unled}
        if asked:
            for tp, future in admin.list_offsets(asked, request_timeout=_SLICE_S * 4).items():
                try:
                    future.result()
                except KafkaException as exc:
                    waiting[tp] = exc.args[0].str()
                else:
                    del waiting[tp]
        return not waiting

    try:
        wait_for(served, timeout, "every partition served by its leader")
    except TimeoutError:
        tp, reason = next(iter(waiting.items()))
        raise BrokerError(
            f"no leader served {tp.topic} [{tp.partition}] within {timeout:.0f} s "
            f"({len(waiting)} partitions unserved): {reason}"
        ) from None


def _without_leader(
    admin: AdminClient, partitions: list[TopicPartition]
) -> dict[TopicPartition, str]:
    """Those of ``partitions`` that fresh metadata names no leader for, each with why.

    Asking refreshes the client's metadata cache too, which ListOffsets reads.
    """
    unled: dict[TopicPartition, str] = {}
    for name in dict.fromkeys(tp.topic for tp in partitions):
        try:
            topic = admin.list_topics(name, timeout=_SLICE_S * 4).topics[name]
        except KafkaException as exc:
            unled.update((tp, exc.args[0].str()) for tp in partitions if tp.topic == name)
            continue
        for tp in partitions:
            if tp.topic != name:
                continue
            partition = topic.partitions.get(tp.partition)
            error = topic.error or (partition.error if partition is not None else None)
            if error is not None:
                unled[tp] = error.str()
            elif partition is None:
                unled[tp] = "not in the topic's metadata yet"
            elif partition.leader < 0:
                unled[tp] = "no leader in the topic's metadata"
    return unled


def group_assigned(settings: Settings, timeout: float = 2.0) -> bool:
    """Whether the worker group is stable with every partition of the ticket topic assigned."""
    admin = _admin(client_config(settings, "admin"))
    group, topic = settings.worker.group, settings.kafka.topic
    try:
        partitions = admin.list_topics(topic, timeout=timeout).topics[topic].partitions
        described = admin.describe_consumer_groups([group], request_timeout=timeout)[group]
        description = described.result()
    except KafkaException:
        return False
    if description.state != ConsumerGroupState.STABLE:
        return False
    assigned = {
        tp.partition
        for member in description.members
        for tp in member.assignment.topic_partitions
        if tp.topic == topic
    }
    return bool(partitions) and assigned == set(partitions)
