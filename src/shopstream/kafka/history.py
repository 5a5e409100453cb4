"""The ticket topic read from its first offset by a group of its own, up to another group's
position: what ``rebuild --into`` builds a new store from.

``HistoryReader`` is a ``worker.Consumer``, so the worker's own code stores what it reads.
Its positions are committed as the worker marks batches stored, as the worker's are, so an
interrupted rebuild resumes where it stopped. It stops at the positions ``targets`` gives
(the live workers' committed offsets), asked again each time they are reached, for the
live workers may have gone on meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from confluent_kafka import OFFSET_INVALID, Consumer, KafkaException, Message
from confluent_kafka import TopicPartition as Position

from shopstream.config import Settings
from shopstream.errors import BrokerError
from shopstream.kafka.config import client_config, consumer_config
from shopstream.kafka.consumer import BatchConsumer

_TIMEOUT_S = 10.0

Offsets = dict[int, int]
"""partition -> offset"""


@dataclass(frozen=True)
class Watermarks:
    first: Offsets
    """partition -> its first offset still on the topic"""
    end: Offsets
    """partition -> the offset the next message will have"""


def _looking(settings: Settings, group: str) -> Consumer:
    """A client that asks about ``group``'s offsets without joining it."""
    return Consumer({**client_config(settings, "history"), "group.id": group})


def _partitions(consumer: Consumer, topic: str) -> list[int]:
    try:
        metadata = consumer.list_topics(topic, timeout=_TIMEOUT_S).topics[topic]
    except (KafkaException, KeyError) as exc:
        raise BrokerError(f"cannot read the topic {topic}: {exc}") from exc
    if metadata.error is not None:
        raise BrokerError(f"cannot read the topic {topic}: {metadata.error}")
    return sorted(metadata.partitions)


def watermarks(settings: Settings) -> Watermarks:
    topic = settings.kafka.topic
    consumer = _looking(settings, f"{settings.worker.group}.history")
    try:
        first: Offsets = {}
        end: Offsets = {}
        for partition in _partitions(consumer, topic):
            low, high = consumer.get_watermark_offsets(Position(topic, partition), _TIMEOUT_S)
            first[partition], end[partition] = low, high
        return Watermarks(first, end)
    finally:
        consumer.close()


def committed(settings: Settings, group: str) -> Offsets:
    """``group``'s committed position on the ticket topic, by partition (none: not there)."""
    topic = settings.kafka.topic
    consumer = _looking(settings, group)
    try:
        partitions = [Position(topic, p) for p in _partitions(consumer, topic)]
        found = consumer.committed(partitions, timeout=_TIMEOUT_S)
    except KafkaException as exc:
        raise BrokerError(f"cannot read the position of group {group}: {exc}") from exc
    finally:
        consumer.close()
    return {p.partition: p.offset for p in found if p.offset != OFFSET_INVALID and not p.error}


class HistoryReader(BatchConsumer):
    """The topic from ``start`` to ``targets()``, as a group of its own (``group``)."""

    def __init__(
        self,
        settings: Settings,
        group: str,
        start: Offsets,
        targets: Callable[[], Offsets],
    ) -> None:
        super().__init__(
            settings.model_copy(
                update={"worker": settings.worker.model_copy(update={"group": group})}
            )
        )
        self._start = start
        self._targets = targets
        self._target: Offsets = {}
        self._position = dict(start)
        self._reached: set[int] = set()

    def subscribe(self) -> None:
        """Take every partition from its start (no group membership: no rebalancing)."""
        topic = self._settings.kafka.topic
        self._consumer = Consumer(consumer_config(self._settings))
        self._target = self._targets()
        self._consumer.assign([Position(topic, p, o) for p, o in self._start.items()])
        for partition in self._start:
            self._check_reached(partition, fetched=False)

    def next_batch(self, max_messages: int, wait: float) -> list[Message]:
        batch: list[Message] = []
        for message in super().next_batch(max_messages, wait):
            partition, offset = message.partition() or 0, message.offset() or 0
            if partition in self._reached or offset >= self._target.get(partition, 0):
                continue  # past the live position (read ahead): left for later, if ever
            batch.append(message)
            self._position[partition] = offset + 1
            self._check_reached(partition)
        return batch

    def rewind(self, messages: Sequence[Message]) -> None:
        super().rewind(messages)
        for message in messages:
            partition, offset = message.partition() or 0, message.offset() or 0
            self._position[partition] = min(self._position[partition], offset)
            if partition in self._reached:
                self._reached.discard(partition)
                self._member().resume([Position(self._settings.kafka.topic, partition)])

    def _check_reached(self, partition: int, fetched: bool = True) -> None:
        """Pause a partition at the live position; what was fetched past it is read again
        from there once the position moves on."""
        if self._position[partition] < self._target.get(partition, 0):
            return
        topic = self._settings.kafka.topic
        self._reached.add(partition)
        self._member().pause([Position(topic, partition)])
        if fetched:
            self._member().seek(Position(topic, partition, self._position[partition]))

    def done(self) -> bool:
        """Whether every partition is at the live position, asked again now."""
        if len(self._reached) < len(self._position):
            return False
        self._target = self._targets()
        moved = [p for p in self._reached if self._position[p] < self._target.get(p, 0)]
        if not moved:
            return True
        topic = self._settings.kafka.topic
        self._member().resume([Position(topic, p) for p in moved])
        self._reached.difference_update(moved)
        return False
