"""Reading the topic in batches, and committing only what the caller says is stored."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from shopstream.config import Settings
from shopstream.kafka.admin import ensure_topics
from shopstream.kafka.config import consumer_config

log = logging.getLogger(__name__)


def _by_partition(
    messages: Sequence[Message], pick: Callable[[int, int], int]
) -> list[TopicPartition]:
    """One position per partition: ``pick`` (min or max) of the messages' offsets."""
    offsets: dict[tuple[str, int], int] = {}
    for message in messages:
        key = (message.topic() or "", message.partition() or 0)
        offset = message.offset() or 0
        offsets[key] = pick(offsets.get(key, offset), offset)
    return [
        TopicPartition(topic, partition, offset) for (topic, partition), offset in offsets.items()
    ]


class BatchConsumer:
    """One member of the worker group, reading batches and storing offsets on request."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._consumer: Consumer | None = None

    def subscribe(self) -> None:
        """Join the group on the ticket topic, creating the topics first if they are missing."""
        ensure_topics(self._settings)
        self._consumer = Consumer(consumer_config(self._settings))
        self._consumer.subscribe([self._settings.kafka.topic])

    def _member(self) -> Consumer:
        if self._consumer is None:
            raise RuntimeError("BatchConsumer.subscribe() was not called")
        return self._consumer

    def next_batch(self, max_messages: int, wait: float) -> list[Message]:
        """What is already fetched, up to ``max_messages``; else wait up to ``wait`` for one.

        Taking what is ready keeps latency low when traffic is light and batches large when
        it is heavy, without a fixed batching delay.
        """
        consumer = self._member()
        messages = consumer.consume(max_messages, timeout=0)
        if not messages:
            first = consumer.poll(wait)
            if first is None:
                return []
            messages = [first, *consumer.consume(max_messages - 1, timeout=0)]
        return [m for m in messages if not self._is_error(m)]

    @staticmethod
    def _is_error(message: Message) -> bool:
        error = message.error()
        if error is None:
            return False
        if error.fatal():
            raise KafkaException(error)
        if error.code() != KafkaError._PARTITION_EOF:
            log.warning("consumer: %s", error)
        return True

    def mark_stored(self, messages: Sequence[Message]) -> None:
        """Let the next commit cover these messages: call only once they are stored."""
        positions = [
            TopicPartition(tp.topic, tp.partition, tp.offset + 1)
            for tp in _by_partition(messages, max)
        ]
        try:
            self._member().store_offsets(offsets=positions)
        except KafkaException as exc:
            # The partition moved to another worker meanwhile; it will re-read and dedupe.
            log.warning("offsets not stored (%s): the new owner re-reads them", exc)

    def rewind(self, messages: Sequence[Message]) -> None:
        """Read these messages again: seek each partition back to its first one."""
        for position in _by_partition(messages, min):
            try:
                self._member().seek(position)
            except KafkaException as exc:
                log.info("not rewinding %s [%d]: %s", position.topic, position.partition, exc)

    def close(self) -> None:
        """Commit what was stored, then leave the group so others take the partitions now."""
        if self._consumer is None:
            return
        try:
            self._consumer.commit(asynchronous=False)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError._NO_OFFSET:
                log.warning("final commit failed: %s", exc)
        self._consumer.close()
        self._consumer = None
