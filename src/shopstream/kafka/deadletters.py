"""The dead-letter topic: what the worker cannot store, with why and whence; for people too.

A letter is the original message (value and key unchanged) with its reason and origin in
headers, whose names are the constants below. The dead-letter topic is created to take any
message the ticket topic can carry; one it still refuses for its size (a topic made
elsewhere, with a smaller limit) goes as a truncated copy, its original size in a header,
so the worker never stalls on it: the whole message stays on the ticket topic at the offset
the headers name.

``list_letters`` reads the whole topic without joining a group. ``replay`` re-publishes to
the ticket topic what was dead-lettered since the last replay (its position is a consumer
group's committed offset), once the store, catalog or code that rejected it is fixed; what
is still not a ticket comes straight back, with a fresh reason.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial

from confluent_kafka import (
    OFFSET_INVALID,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)

from shopstream.config import Settings
from shopstream.errors import BrokerError, PublishError, ShopstreamError
from shopstream.kafka.admin import ensure_topics
from shopstream.kafka.config import client_config, producer_config

log = logging.getLogger(__name__)

REASON = "dlq.reason"
TOPIC = "dlq.topic"
PARTITION = "dlq.partition"
OFFSET = "dlq.offset"
WORKER = "dlq.worker"
TRUNCATED = "dlq.truncated"
"""set on a truncated copy: the original value's size in bytes"""

ID_CONFLICT = "id conflict"
"""the reason a ticket whose id is stored with another purchase starts with"""

TRUNCATED_BYTES = 16 * 1024
_TOO_LARGE = frozenset({KafkaError.MSG_SIZE_TOO_LARGE, KafkaError.RECORD_LIST_TOO_LARGE})

Headers = list[tuple[str, str | bytes | None]]
Report = Callable[[KafkaError | None, Message], None]


@dataclass(frozen=True)
class Rejected:
    """A message that cannot be stored, and the reason."""

    message: Message
    reason: str


def dead_letter_headers(rejected: Rejected) -> Headers:
    message = rejected.message
    return [
        (REASON, rejected.reason.encode()),
        (TOPIC, (message.topic() or "").encode()),
        (PARTITION, str(message.partition()).encode()),
        (OFFSET, str(message.offset()).encode()),
        (WORKER, socket.gethostname().encode()),
    ]


def _letter(rejected: Rejected, truncate: bool) -> tuple[bytes, Headers]:
    """The value and headers of a letter: the whole message, or its start."""
    value = rejected.message.value() or b""
    headers = dead_letter_headers(rejected)
    if not truncate:
        return value, headers
    log.warning(
        "a dead letter of %d bytes is too large for its topic: sending its start", len(value)
    )
    return value[:TRUNCATED_BYTES], [*headers, (TRUNCATED, str(len(value)).encode())]


class DeadLetters:
    """Publishes rejected messages to ``<topic>.dlq``, reason and origin in headers."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._producer: Producer | None = None

    def _running(self) -> Producer:
        if self._producer is None:
            self._producer = Producer(
                producer_config(self._settings, "worker-dlq", dead_letters=True)
            )
        return self._producer

    def send(self, rejected: Sequence[Rejected]) -> None:
        """Publish and wait for the broker's ack, so the originals may then be committed."""
        producer = self._running()
        self._ensure_topic(producer)
        too_large: list[Rejected] = []
        failures: list[str] = []

        def report(item: Rejected, error: KafkaError | None, _: Message) -> None:
            if error is None:
                return
            if error.code() in _TOO_LARGE:
                too_large.append(item)
            else:
                failures.append(error.str())

        for item in rejected:
            self._produce(producer, item, partial(report, item))
        left = producer.flush(self._settings.kafka.publish_timeout_s)
        if too_large:  # the broker refused these: their copies go the same way
            for item in too_large:
                self._produce(producer, item, partial(report, item), truncate=True)
            left = producer.flush(self._settings.kafka.publish_timeout_s)
        if left or failures:
            raise PublishError(
                f"dead-letter topic did not take {left + len(failures)} messages: {failures[:3]}"
            )

    def _produce(
        self, producer: Producer, item: Rejected, report: Report, truncate: bool = False
    ) -> None:
        """Queue one letter, its truncated copy if it is too large for librdkafka."""
        topic, key = self._settings.kafka.dead_letter_topic, item.message.key()
        try:
            _queue(producer, topic, *_letter(item, truncate), key, report)
        except KafkaException as exc:
            if truncate or exc.args[0].code() not in _TOO_LARGE:
                raise PublishError(f"the dead-letter topic refused a message: {exc}") from exc
            _queue(producer, topic, *_letter(item, truncate=True), key, report)

    def _ensure_topic(self, producer: Producer) -> None:
        """Create the dead-letter topic again if it was deleted while the worker ran."""
        topic = self._settings.kafka.dead_letter_topic
        try:
            metadata = producer.list_topics(topic, timeout=self._settings.kafka.publish_timeout_s)
        except KafkaException as exc:
            raise PublishError(f"Kafka did not answer for the dead-letter topic: {exc}") from exc
        found = metadata.topics.get(topic)
        if found is None or found.error is not None:
            log.warning("the dead-letter topic %s is missing: creating it again", topic)
            try:
                ensure_topics(self._settings)
            except ShopstreamError as exc:
                raise PublishError(f"could not create the dead-letter topic: {exc}") from exc

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush(self._settings.kafka.publish_timeout_s)
            self._producer = None


# -- reading and replaying ------------------------------------------------------------

_TIMEOUT_S = 10.0
# Replayed letters are flushed and their offsets committed this many at a time: a replay
# that fails half-way has marked what Kafka took, and the local queue never overflows.
_REPLAY_CHUNK = 1000


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    origin: str
    reason: str
    key: str
    size: int
    preview: str
    truncated_from: int | None = None
    """the original message's size, when the letter holds only its start"""


def _header(message: Message, name: str) -> str:
    headers = message.headers() or []
    for key, value in headers.items() if isinstance(headers, dict) else headers:
        if key == name and value is not None:
            return value.decode(errors="replace") if isinstance(value, bytes) else value
    return ""


def _read_letter(message: Message) -> DeadLetter:
    value = message.value() or b""
    topic, partition = _header(message, TOPIC), _header(message, PARTITION)
    origin = f"{topic}[{partition}]@{_header(message, OFFSET)}"
    truncated = _header(message, TRUNCATED)
    return DeadLetter(
        partition=message.partition() or 0,
        offset=message.offset() or 0,
        origin=origin,
        reason=_header(message, REASON),
        key=(message.key() or b"").decode(errors="replace"),
        size=len(value),
        preview=value[:80].decode(errors="replace"),
        truncated_from=int(truncated) if truncated.isdigit() else None,
    )


def _reader(settings: Settings, group: str) -> Consumer:
    return Consumer(
        {
            **client_config(settings, "dlq"),
            "group.id": group,
            "enable.auto.commit": False,
            "enable.partition.eof": False,
        }
    )


def _read(consumer: Consumer, topic: str, start: dict[int, int]) -> Iterator[Message]:
    """Every message of ``topic`` from ``start`` (partition -> offset) to its current end."""
    try:
        partitions = consumer.list_topics(topic, timeout=_TIMEOUT_S).topics[topic].partitions
    except Exception as exc:
        raise BrokerError(f"cannot read the dead-letter topic {topic}: {exc}") from exc
    ends: dict[int, int] = {}
    positions: list[TopicPartition] = []
    for partition in partitions:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), _TIMEOUT_S)
        first = max(start.get(partition, low), low)
        if first < high:
            ends[partition] = high
            positions.append(TopicPartition(topic, partition, first))
    consumer.assign(positions)
    while ends:
        message = consumer.poll(_TIMEOUT_S)
        if message is None:
            raise BrokerError(f"the dead-letter topic {topic} stopped answering")
        if message.error() is not None:
            continue
        partition, offset = message.partition() or 0, message.offset() or 0
        yield message
        if offset + 1 >= ends.get(partition, 0):
            ends.pop(partition, None)


def list_letters(settings: Settings) -> list[DeadLetter]:
    consumer = _reader(settings, f"{settings.worker.group}.dlq-list")
    try:
        return [_read_letter(m) for m in _read(consumer, settings.kafka.dead_letter_topic, {})]
    finally:
        consumer.close()


def replay(settings: Settings) -> int:
    """Send the letters not yet replayed back to the ticket topic; how many were sent.

    A truncated letter is not sent (it is not the ticket any more): the original is on
    the ticket topic at the letter's origin.
    """
    topic = settings.kafka.dead_letter_topic
    consumer = _reader(settings, f"{settings.worker.group}.dlq-replay")
    producer = Producer(producer_config(settings, "dlq-replay"))
    failures: list[KafkaError] = []

    def report(error: KafkaError | None, _: Message) -> None:
        if error is not None:
            failures.append(error)

    def flush_and_commit(done: dict[int, int]) -> None:
        if producer.flush(settings.kafka.publish_timeout_s) or failures:
            raise PublishError(
                f"Kafka did not acknowledge every replayed letter ({failures[:1]}); the letters "
                "from the last unmarked chunk on will be sent again by the next replay"
            )
        consumer.commit(
            offsets=[TopicPartition(topic, p, o) for p, o in done.items()], asynchronous=False
        )
        done.clear()

    try:
        partitions = consumer.list_topics(topic, timeout=_TIMEOUT_S).topics[topic].partitions
        committed = consumer.committed(
            [TopicPartition(topic, p) for p in partitions], timeout=_TIMEOUT_S
        )
        start = {tp.partition: tp.offset for tp in committed if tp.offset != OFFSET_INVALID}
        sent = pending = 0
        done: dict[int, int] = {}
        for message in _read(consumer, topic, start):
            done[message.partition() or 0] = (message.offset() or 0) + 1
            pending += 1
            if not _header(message, TRUNCATED):
                _queue(producer, settings.kafka.topic, message.value(), None, message.key(), report)
                sent += 1
            if pending == _REPLAY_CHUNK:
                flush_and_commit(done)
                pending = 0
        if done:
            flush_and_commit(done)
        return sent
    finally:
        consumer.close()


def _queue(
    producer: Producer,
    topic: str,
    value: bytes | None,
    headers: Headers | None,
    key: bytes | str | None,
    report: Report,
) -> None:
    """``producer.produce``, waiting while its local queue is full for deliveries to drain it."""
    while True:
        try:
            producer.produce(topic, value, key, headers=headers, on_delivery=report)
            return
        except BufferError:
            producer.poll(0.1)
