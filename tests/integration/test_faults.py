"""Issue 2's faults: a killed worker, a stopped broker, a garbage message."""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from functools import partial
from pathlib import Path

import httpx2
import pytest
from confluent_kafka import Consumer, Producer

from shopstream.localkafka.broker import LocalBroker
from tests.helpers import ticket, wait_for
from tests.integration.conftest import MakePipeline, Pipeline

pytestmark = pytest.mark.integration


class Load(threading.Thread):
    """Posts batches of fresh tickets until stopped; remembers every acknowledged id."""

    def __init__(self, url: str, batch: int = 20) -> None:
        super().__init__(daemon=True)
        self.url, self.batch = url, batch
        self.acknowledged: list[str] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        sent = 0
        with httpx2.Client(timeout=30) as client:
            while not self.stopping.is_set():
                ids = [f"load-{sent + i}" for i in range(self.batch)]
                sent += self.batch
                response = client.post(f"{self.url}/data/batch", json=[ticket(i) for i in ids])
                if response.status_code == 202:
                    self.acknowledged.extend(ids)


def _has_stored(pipeline: Pipeline, count: int) -> bool:
    return pipeline.store.count() >= count


def test_a_worker_killed_mid_stream_loses_and_doubles_nothing(
    make_pipeline: MakePipeline, tmp_path: Path
) -> None:
    pipeline = make_pipeline(WORKER_BATCH_SIZE="50")
    pipeline.start_api()
    worker = pipeline.start_worker()
    load = Load(pipeline.url)
    load.start()
    kills = 0
    for _ in range(5):
        # Let the worker store a little more, then kill it at a random moment.
        target = pipeline.store.count() + random.randint(50, 400)
        wait_for(partial(_has_stored, pipeline, target), 60, f"{target} tickets stored")
        worker.kill()
        worker.wait()
        kills += 1
        worker = pipeline.start_worker()
    load.stopping.set()
    load.join()
    pipeline.wait_stored(load.acknowledged, timeout=120)
    stored = Counter(t["id"] for t in json.loads((tmp_path / "database.json").read_text()))
    assert kills == 5
    assert len(load.acknowledged) > 500
    assert set(load.acknowledged) <= set(stored)
    assert [i for i, n in stored.items() if n > 1] == []


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
