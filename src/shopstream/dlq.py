"""The dead-letter topic for people: see what was rejected and why, and send it back.

``list`` reads the whole topic without joining a group. ``replay`` re-publishes to the
ticket topic what was dead-lettered since the last replay (its position is a consumer
group's committed offset), once the catalog or code that rejected it is fixed; what is
still not a ticket comes straight back, with a fresh reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from confluent_kafka import OFFSET_INVALID, Consumer, KafkaError, Message, Producer, TopicPartition

from shopstream.config import Settings
from shopstream.errors import BrokerError, PublishError
from shopstream.kafka import deadletter
from shopstream.kafka.config import common_config, producer_config

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


def _letter(message: Message) -> DeadLetter:
    value = message.value() or b""
    topic, partition = _header(message, deadletter.TOPIC), _header(message, deadletter.PARTITION)
    origin = f"{topic}[{partition}]@{_header(message, deadletter.OFFSET)}"
    truncated = _header(message, deadletter.TRUNCATED)
    return DeadLetter(
        partition=message.partition() or 0,
        offset=message.offset() or 0,
        origin=origin,
        reason=_header(message, deadletter.REASON),
        key=(message.key() or b"").decode(errors="replace"),
        size=len(value),
        preview=value[:80].decode(errors="replace"),
        truncated_from=int(truncated) if truncated.isdigit() else None,
    )


def _reader(settings: Settings, group: str) -> Consumer:
    return Consumer(
        {
            **common_config(settings, "dlq"),
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
    consumer = _reader(settings, f"{settings.worker_group}.dlq-list")
    try:
        return [_letter(m) for m in _read(consumer, settings.dead_letter_topic, {})]
    finally:
        consumer.close()


def replay(settings: Settings) -> int:
    """Send the letters not yet replayed back to the ticket topic; how many were sent.

    A truncated letter is not sent (it is not the ticket any more): the original is on
    the ticket topic at the letter's origin.
    """
    topic = settings.dead_letter_topic
    consumer = _reader(settings, f"{settings.worker_group}.dlq-replay")
    producer = Producer(producer_config(settings, "dlq-replay"))
    failures: list[KafkaError] = []

    def report(error: KafkaError | None, _: Message) -> None:
        if error is not None:
            failures.append(error)

    def flush_and_commit(done: dict[int, int]) -> None:
        if producer.flush(settings.publish_timeout_s) or failures:
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
            if not _header(message, deadletter.TRUNCATED):
                _produce(producer, settings.kafka_topic, message, report)
                sent += 1
            if pending == _REPLAY_CHUNK:
                flush_and_commit(done)
                pending = 0
        if done:
            flush_and_commit(done)
        return sent
    finally:
        consumer.close()


def _produce(producer: Producer, topic: str, message: Message, report: deadletter.Report) -> None:
    while True:
        try:
            producer.produce(topic, message.value(), message.key(), on_delivery=report)
            return
        except BufferError:
            producer.poll(0.1)
