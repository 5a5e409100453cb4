"""The dead-letter topic: messages the worker cannot turn into a ticket, with why and whence."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import dataclass

from confluent_kafka import Message, Producer

from shopstream.config import Settings
from shopstream.errors import PublishError
from shopstream.kafka.config import producer_config


@dataclass(frozen=True)
class Rejected:
    """A message that is not a valid ticket, and the reason."""

    message: Message
    reason: str


def dead_letter_headers(rejected: Rejected) -> list[tuple[str, str | bytes | None]]:
    message = rejected.message
    return [
        ("dlq.reason", rejected.reason.encode()),
        ("dlq.topic", (message.topic() or "").encode()),
        ("dlq.partition", str(message.partition()).encode()),
        ("dlq.offset", str(message.offset()).encode()),
        ("dlq.worker", socket.gethostname().encode()),
    ]


class DeadLetters:
    """Publishes rejected messages to ``<topic>.dlq`` unchanged, reason and origin in headers."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._producer: Producer | None = None

    def send(self, rejected: Sequence[Rejected]) -> None:
        """Publish and wait for the broker's ack, so the originals may then be committed."""
        if self._producer is None:
            self._producer = Producer(producer_config(self._settings, "worker-dlq"))
        failures: list[str] = []

        def report(error: object, _: Message) -> None:
            if error is not None:
                failures.append(str(error))

        for item in rejected:
            self._producer.produce(
                self._settings.dead_letter_topic,
                item.message.value(),
                item.message.key(),
                headers=dead_letter_headers(item),
                on_delivery=report,
            )
        left = self._producer.flush(self._settings.publish_timeout_s)
        if left or failures:
            raise PublishError(
                f"dead-letter topic did not take {left + len(failures)} messages: {failures[:3]}"
            )

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush(self._settings.publish_timeout_s)
            self._producer = None
