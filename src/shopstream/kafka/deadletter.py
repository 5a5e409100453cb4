"""The dead-letter topic: messages the worker cannot store, with why and whence.

A letter is the original message (value and key unchanged) with its reason and origin in
headers. The dead-letter topic is created to take any message the ticket topic can carry;
one it still refuses for its size (a topic made elsewhere, with a smaller limit) goes as a
truncated copy, its original size in a header, so the worker never stalls on it: the whole
message stays on the ticket topic at the offset the headers name.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from shopstream.config import Settings
from shopstream.errors import PublishError, ShopstreamError
from shopstream.kafka.admin import ensure_topics
from shopstream.kafka.config import producer_config

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
        left = producer.flush(self._settings.publish_timeout_s)
        if too_large:  # the broker refused these: their copies go the same way
            for item in too_large:
                self._produce(producer, item, partial(report, item), truncate=True)
            left = producer.flush(self._settings.publish_timeout_s)
        if left or failures:
            raise PublishError(
                f"dead-letter topic did not take {left + len(failures)} messages: {failures[:3]}"
            )

    def _produce(
        self, producer: Producer, item: Rejected, report: Report, truncate: bool = False
    ) -> None:
        """Queue one letter, its truncated copy if it is too large for librdkafka."""
        while True:
            value, headers = _letter(item, truncate)
            try:
                producer.produce(
                    self._settings.dead_letter_topic,
                    value,
                    item.message.key(),
                    headers=headers,
                    on_delivery=report,
                )
                return
            except BufferError:
                producer.poll(0.1)  # the local queue is full: let deliveries drain it
            except KafkaException as exc:
                if truncate or exc.args[0].code() not in _TOO_LARGE:
                    raise PublishError(f"the dead-letter topic refused a message: {exc}") from exc
                truncate = True

    def _ensure_topic(self, producer: Producer) -> None:
        """Create the dead-letter topic again if it was deleted while the worker ran."""
        topic = self._settings.dead_letter_topic
        try:
            metadata = producer.list_topics(topic, timeout=self._settings.publish_timeout_s)
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
            self._producer.flush(self._settings.publish_timeout_s)
            self._producer = None
