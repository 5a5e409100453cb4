"""Issue 2's faults: a killed worker, a stopped broker, a garbage message."""

from __future__ import annotations

import random
from functools import partial
from pathlib import Path

import httpx2
import pytest
from confluent_kafka import Consumer, Producer

from shopstream.load import Load, Verdict, stored_at_least
from shopstream.localkafka.broker import LocalBroker
from shopstream.supervise import wait_for
from testbed.pipeline import MakePipeline
from tests.helpers import ticket

pytestmark = pytest.mark.integration


def test_a_worker_killed_mid_stream_loses_and_doubles_nothing(
    make_pipeline: MakePipeline, tmp_path: Path
) -> None:
    pipeline = make_pipeline(WORKER_BATCH_SIZE="50")
    pipeline.start_api()
    worker = pipeline.start_worker()
    load = Load(f"{pipeline.url}/data/batch", clients=1, batch=20).start()
    for _ in range(5):
        # Let the worker store a little more, then kill it at a random moment.
        target = pipeline.store.count() + random.randint(50, 400)
        wait_for(partial(stored_at_least, pipeline.store, target), 60, f"{target} tickets stored")
        worker.kill()
        worker.wait()
        worker = pipeline.start_worker()
    load.stop()
    pipeline.wait_stored(load.acknowledged, timeout=120)
    verdict = Verdict.of(load.acknowledged, pipeline.store)
    assert verdict.acknowledged > 500
    assert verdict.holds, verdict


def test_with_the_broker_down_the_api_answers_503_then_recovers(
    own_broker: LocalBroker, make_own_pipeline: MakePipeline
) -> None:
    pipeline = make_own_pipeline(PUBLISH_TIMEOUT_S="2")
    pipeline.start_api()
    pipeline.start_worker()
    assert httpx2.post(f"{pipeline.url}/data", json=ticket("before"), timeout=10).status_code == 202
    own_broker.stop()
    # The client gives up after 10 s: a hanging request fails the test.
    down = httpx2.post(f"{pipeline.url}/data", json=ticket("during"), timeout=10)
    assert down.status_code == 503
    assert down.headers["retry-after"]
    assert httpx2.get(f"{pipeline.url}/ready", timeout=10).status_code == 503
    own_broker.start()
    wait_for(
        lambda: (
            httpx2.post(f"{pipeline.url}/data", json=ticket("after"), timeout=10).status_code == 202
        ),
        60,
        "the API to accept tickets again",
    )
    pipeline.wait_stored(["before", "after"])


def test_a_garbage_message_is_dead_lettered_and_the_worker_goes_on(
    make_pipeline: MakePipeline,
) -> None:
    pipeline = make_pipeline()
    pipeline.start_api()
    pipeline.start_worker()
    topic = pipeline.env["KAFKA_TOPIC"]
    producer = Producer({"bootstrap.servers": pipeline.env["KAFKA_BOOTSTRAP_SERVERS"]})
    producer.produce(topic, b"\x00not json at all", b"g1", partition=0)
    producer.produce(topic, b'{"id": "x", "store": "Brussels"}', b"g2", partition=0)
    assert producer.flush(10) == 0
    assert httpx2.post(f"{pipeline.url}/data", json=ticket("fine"), timeout=10).status_code == 202
    pipeline.wait_stored(["fine"])

    consumer = Consumer(
        {
            "bootstrap.servers": pipeline.env["KAFKA_BOOTSTRAP_SERVERS"],
            "group.id": f"{topic}-reader",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([f"{topic}.dlq"])
    letters: dict[bytes, dict[str, bytes]] = {}

    def read_letters() -> bool:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            letters[message.key() or b""] = dict(message.headers() or [])  # type: ignore[arg-type]
        return len(letters) == 2

    try:
        wait_for(read_letters, 60, "two dead letters")
    finally:
        consumer.close()
    assert letters[b"g1"]["dlq.reason"].startswith(b"not a valid ticket")
    assert (letters[b"g1"]["dlq.topic"], letters[b"g1"]["dlq.partition"]) == (topic.encode(), b"0")
    assert letters[b"g1"]["dlq.offset"] == b"0"
    assert letters[b"g2"]["dlq.offset"] == b"1"
    assert b"date" in letters[b"g2"]["dlq.reason"]
    assert b"products" in letters[b"g2"]["dlq.reason"]


def test_a_full_producer_queue_sheds_load_with_503_and_retry_after(
    make_pipeline: MakePipeline,
) -> None:
    pipeline = make_pipeline(KAFKA_QUEUE_MAX_MESSAGES="50")
    pipeline.start_api()
    response = httpx2.post(
        f"{pipeline.url}/data/batch", json=[ticket(f"q{i}") for i in range(500)], timeout=30
    )
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert "queue is full" in response.json()["detail"]
    # The queue drains by itself (once the producer has its idempotence id): tickets go through.
    wait_for(
        lambda: (
            httpx2.post(f"{pipeline.url}/data", json=ticket("after"), timeout=30).status_code == 202
        ),
        30,
        "the queue to drain",
    )
