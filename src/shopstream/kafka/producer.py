"""Publishing from asyncio: a message counts as published once the broker acknowledged it.

One ``confluent_kafka.Producer`` per process. ``produce`` only queues a message; a
background thread serves librdkafka's delivery reports and settles the asyncio future
each ``publish`` awaits, so the event loop never blocks on the network.

With ``linger.ms`` 0, librdkafka sends a message the moment it is queued. So ``publish``
does not queue at once: the messages of every request handled in one turn of the event
loop are queued together at the end of that turn and travel in one produce request. At
64 connections that made batches of 5 to 6 tickets instead of 1, and cut the broker's
CPU per ticket by half or more, while a lone request waits for nothing (``linger.ms``
would hold it back a whole millisecond or more).

When Kafka is known to be unreachable (librdkafka reports all brokers down, or a message
timed out), one request at a time goes through as a probe and the others fail at once:
clients hear 503 immediately instead of piling up for ``PUBLISH_TIMEOUT_S`` each. The
first acknowledged probe closes the circuit again.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from shopstream.config import Settings
from shopstream.errors import BackpressureError, MessageRefused, PublishError
from shopstream.kafka.config import producer_config

log = logging.getLogger(__name__)

# How long past librdkafka's own message timeout we still wait for its delivery report.
_REPORT_GRACE_S = 1.0
# Errors that mean no broker is taking our messages right now (refused credentials too).
_OUTAGE = frozenset(
    {KafkaError._ALL_BROKERS_DOWN, KafkaError._MSG_TIMED_OUT, KafkaError._AUTHENTICATION}
)
# Errors about the message itself: sending it again cannot help, so the client hears a 4xx.
_REFUSALS = {
    KafkaError.MSG_SIZE_TOO_LARGE: 413,  # the broker's, or librdkafka's own check at produce
    KafkaError.RECORD_LIST_TOO_LARGE: 413,
    KafkaError.INVALID_MSG_SIZE: 413,
    KafkaError.INVALID_RECORD: 422,
    KafkaError.INVALID_MSG: 422,
}
# ``(key, value)`` pairs: a ticket's id and its JSON.
Messages = Sequence[tuple[str, bytes]]


class Publisher(Protocol):
    """What the API needs from Kafka; a fake stands in for it in unit tests."""

    async def publish(self, messages: Messages) -> None:
        """Publish ``(key, value)`` pairs; return once the broker acknowledged every one."""
        ...

    async def ready(self) -> bool:
        """Whether the brokers answer right now."""
        ...

    def queued(self) -> int:
        """Messages handed to Kafka and not acknowledged yet."""
        ...


@dataclass(eq=False, slots=True)
class _Acks:
    """The acknowledgements one ``publish`` call still awaits, counted down per report."""

    future: asyncio.Future[None]
    left: int
    error: KafkaError | None = None

    def settle(self) -> None:
        if self.future.done():  # the request gave up waiting
            return
        if self.error is None:
            self.future.set_result(None)
        else:
            self.future.set_exception(_failure(self.error))

    def refuse(self, error: PublishError) -> None:
        """Fail now, on the event loop's thread: not queued, or no report in time."""
        self.left = 0  # reports for messages queued before this one change nothing
        if not self.future.done():
            self.future.set_exception(error)

    def expire(self, waited_s: float) -> None:
        self.refuse(PublishError(f"no acknowledgement from Kafka within {waited_s:.0f} s"))


def _failure(error: KafkaError) -> PublishError:
    """What a failed delivery or produce means for the client: 4xx if it is the message's fault."""
    status = _REFUSALS.get(error.code())
    if status is not None:
        return MessageRefused(f"Kafka refused the ticket: {error.str()}", status)
    return PublishError(f"Kafka did not take the ticket: {error.str()}")


def _settle_all(settled: list[_Acks]) -> None:
    for acks in settled:
        acks.settle()


class KafkaPublisher:
    """The ``Publisher`` backed by an idempotent, ``acks=all`` Kafka producer."""

    def __init__(self, settings: Settings, role: str = "api") -> None:
        self._settings = settings
        self._role = role
        self._producer: Producer | None = None
        self._reporter: threading.Thread | None = None
        self._stopping = threading.Event()
        self._unreachable = threading.Event()
        self._probing = False
        self._settled: list[_Acks] = []  # only the thread serving reports touches it
        # Per event loop, what publish calls of its current turn wait to queue.
        self._unqueued: dict[asyncio.AbstractEventLoop, list[tuple[_Acks, Messages]]] = {}

    def start(self) -> None:
        """Create the producer and the thread that serves its delivery reports."""
        config = producer_config(self._settings, self._role) | {"error_cb": self._on_error}
        self._producer = Producer(config)
        self._reporter = threading.Thread(
            target=self._serve_reports, name="kafka-delivery-reports", daemon=True
        )
        self._reporter.start()

    def _serve_reports(self) -> None:
        """Serve delivery reports, waking each event loop once per round rather than per ack.

        A wake-up costs a syscall and a loop iteration; at thousands of acks a second,
        one per ack was most of the API's CPU.
        """
        assert self._producer is not None  # noqa: S101 - set before the thread starts
        while not self._stopping.is_set():
            self._producer.poll(0.1)
            self._wake_settled()

    def _wake_settled(self) -> None:
        if not self._settled:
            return
        settled, self._settled = self._settled, []
        by_loop: dict[asyncio.AbstractEventLoop, list[_Acks]] = {}
        for acks in settled:
            by_loop.setdefault(acks.future.get_loop(), []).append(acks)
        for loop, group in by_loop.items():
            loop.call_soon_threadsafe(_settle_all, group)

    def _report(self, acks: _Acks, error: KafkaError | None, _: Message) -> None:
        """librdkafka's delivery report for one message of ``acks``, on the report thread."""
        if acks.left == 0:  # settled already, by an earlier failure
            return
        if error is None:
            acks.left -= 1
        else:
            if error.code() in _OUTAGE:
                self._unreachable.set()
            acks.error, acks.left = error, 0
        if acks.left == 0:
            self._settled.append(acks)

    def _running_producer(self) -> Producer:
        if self._producer is None:
            raise PublishError("the Kafka producer is not started")
        return self._producer

    def _on_error(self, error: KafkaError) -> None:
        log.warning("kafka: %s", error)
        if error.code() in _OUTAGE:
            self._unreachable.set()

    async def publish(self, messages: Messages) -> None:
        if not self._unreachable.is_set():
            await self._publish(messages)
            return
        if self._probing:
            raise PublishError("Kafka is unreachable; retry shortly")
        self._probing = True
        try:
            await self._publish(messages)
            self._unreachable.clear()
            log.info("kafka reachable again")
        finally:
            self._probing = False

    async def _publish(self, messages: Messages) -> None:
        self._running_producer()
        loop = asyncio.get_running_loop()
        acks = _Acks(loop.create_future(), len(messages))
        unqueued = self._unqueued.get(loop)
        if unqueued is None:
            unqueued = self._unqueued[loop] = []
            loop.call_soon(self._queue, loop)
        unqueued.append((acks, messages))
        # A timer failing the future, not asyncio.timeout: 2.6 µs a request instead of 6.4.
        deadline = self._settings.kafka.publish_timeout_s + _REPORT_GRACE_S
        timer = loop.call_later(deadline, acks.expire, deadline)
        try:
            await acks.future
        finally:
            timer.cancel()

    def _queue(self, loop: asyncio.AbstractEventLoop) -> None:
        """Hand librdkafka the messages ``loop``'s last turn published, all in one go."""
        topic = self._settings.kafka.topic
        room = self._settings.kafka.queue_max_messages
        for acks, messages in self._unqueued.pop(loop):
            report = partial(self._report, acks)
            try:
                producer = self._running_producer()
                # A batch goes in whole or not at all: none of it is sent if it cannot fit.
                if len(producer) + len(messages) > room:
                    raise BufferError
                for key, value in messages:
                    producer.produce(topic, value, key, on_delivery=report)
            except BufferError:
                acks.refuse(BackpressureError("the producer queue is full; retry shortly"))
            except KafkaException as exc:
                acks.refuse(_failure(exc.args[0]))
            except PublishError as exc:
                acks.refuse(exc)

    async def ready(self) -> bool:
        producer = self._running_producer()
        try:
            await asyncio.to_thread(producer.list_topics, self._settings.kafka.topic, 2.0)
        except KafkaException:
            return False
        return True

    def queued(self) -> int:
        return len(self._producer) if self._producer is not None else 0

    def close(self, timeout: float = 10.0) -> None:
        """Stop the report thread, then deliver what is queued (up to ``timeout``).

        The thread stops first so that reports are served by one thread at a time.
        """
        if self._producer is None:
            return
        self._stopping.set()
        if self._reporter is not None:
            self._reporter.join()
        left = self._producer.flush(timeout)
        self._wake_settled()
        if left:
            log.warning("%d messages were still unacknowledged at shutdown", left)
        self._producer = None
