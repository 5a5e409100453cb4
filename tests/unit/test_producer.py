"""The publisher's own logic, on a fake librdkafka producer: what reaches it, and when."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import KafkaError

from shopstream.config import KafkaSettings, Settings
from shopstream.errors import BackpressureError, MessageRefused, PublishError
from shopstream.kafka.producer import KafkaPublisher, _failure

Report = Callable[[KafkaError | None, Any], None]


class FakeProducer:
    """Records each ``produce`` and how many requests had begun; reports only when told."""

    def __init__(self, full_after: int | None = None) -> None:
        self.produced: list[tuple[str, int]] = []  # (key, requests begun by then)
        self.reports: list[Report] = []
        self.begun = 0
        self.full_after = full_after

    def produce(self, topic: str, value: bytes, key: str, on_delivery: Report) -> None:
        if self.full_after is not None and len(self.produced) >= self.full_after:
            raise BufferError("Local: Queue full")
        self.produced.append((key, self.begun))
        self.reports.append(on_delivery)

    def __len__(self) -> int:
        """Messages queued or in flight: those not yet reported."""
        return len(self.reports)


def publisher(fake: FakeProducer, publish_timeout_s: float = 5.0) -> KafkaPublisher:
    made = KafkaPublisher(Settings(kafka=KafkaSettings(publish_timeout_s=publish_timeout_s)))
    made._producer = fake  # type: ignore[assignment]  # no report thread: tests settle
    return made


async def _acknowledge_all(kafka: KafkaPublisher, fake: FakeProducer) -> None:
    """What the report thread does: run each report, then wake the loop."""
    while True:
        await asyncio.sleep(0)
        reports, fake.reports = fake.reports, []
        for report in reports:
            report(None, None)
        kafka._wake_settled()


def test_requests_of_one_loop_turn_reach_librdkafka_together() -> None:
    fake = FakeProducer()
    kafka = publisher(fake)

    async def request(key: str) -> None:
        fake.begun += 1
        await kafka.publish([(key, b"{}")])

    async def main() -> None:
        acks = asyncio.create_task(_acknowledge_all(kafka, fake))
        await asyncio.gather(*(request(f"t{i}") for i in range(20)))
        await request("late")
        acks.cancel()

    asyncio.run(main())
    assert fake.produced == [*((f"t{i}", 20) for i in range(20)), ("late", 21)], (
        "a message was queued before the other requests of its loop turn had published"
    )


def test_a_full_queue_refuses_only_the_requests_it_could_not_take() -> None:
    fake = FakeProducer(full_after=2)
    kafka = publisher(fake)

    async def main() -> list[BaseException | None]:
        acks = asyncio.create_task(_acknowledge_all(kafka, fake))
        outcomes = await asyncio.gather(
            *(kafka.publish([(f"t{i}", b"{}")]) for i in range(3)), return_exceptions=True
        )
        acks.cancel()
        return outcomes

    first, second, third = asyncio.run(main())
    assert first is None
    assert second is None
    assert isinstance(third, BackpressureError)


def test_a_batch_that_cannot_fit_in_the_queue_is_refused_whole() -> None:
    fake = FakeProducer()
    kafka = KafkaPublisher(Settings(kafka=KafkaSettings(queue_max_messages=10)))
    kafka._producer = fake  # type: ignore[assignment]

    async def main() -> None:
        await kafka.publish([(f"t{i}", b"{}") for i in range(11)])

    with pytest.raises(BackpressureError):
        asyncio.run(main())
    assert fake.produced == []


def test_a_ticket_with_no_report_in_time_is_refused() -> None:
    fake = FakeProducer()
    kafka = publisher(fake, publish_timeout_s=0.05)  # plus a 1 s grace for the report

    async def main() -> None:
        # Bounded here too, so that a publisher with no timer fails instead of hanging.
        await asyncio.wait_for(kafka.publish([("never-acknowledged", b"{}")]), 5)

    with pytest.raises(PublishError, match="no acknowledgement from Kafka within 1 s"):
        asyncio.run(main())
    assert [key for key, _ in fake.produced] == ["never-acknowledged"]


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (KafkaError.MSG_SIZE_TOO_LARGE, 413),
        (KafkaError.RECORD_LIST_TOO_LARGE, 413),
        (KafkaError.INVALID_RECORD, 422),
    ],
)
def test_what_kafka_refuses_for_good_is_a_client_error(code: int, status: int) -> None:
    failure = _failure(KafkaError(code))
    assert isinstance(failure, MessageRefused)
    assert failure.status == status


def test_what_may_mend_stays_a_publish_error_answered_503() -> None:
    for code in (
        KafkaError._MSG_TIMED_OUT,
        KafkaError._ALL_BROKERS_DOWN,
        KafkaError.NOT_LEADER_FOR_PARTITION,
    ):
        assert not isinstance(_failure(KafkaError(code)), MessageRefused)
