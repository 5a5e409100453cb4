"""Metrics: what the API and the worker count, parsed as Prometheus reads them."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, generate_latest

from shopstream.api import create_app
from shopstream.catalog import Catalog
from shopstream.config import Settings
from shopstream.errors import PublishError
from shopstream.metrics import WorkerMetrics
from shopstream.supervise import wait_for
from shopstream.worker import Worker, reason_kind
from tests.helpers import samples, settings_from, ticket, value
from tests.unit.fakes import FakeConsumer, FakeDeadLetters, FakePublisher, MemoryStore, message

READ_KEY = "read-key-0123456789"
WRITE_KEY = "write-key-0123456789"


@pytest.fixture
def publisher() -> FakePublisher:
    return FakePublisher()


def _client(publisher: FakePublisher, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, publisher=publisher)) as client:
        yield client


@pytest.fixture
def client(publisher: FakePublisher) -> Iterator[TestClient]:
    yield from _client(publisher, settings_from(BATCH_MAX_TICKETS=5))


def test_the_api_counts_tickets_accepted_and_refused_by_status(
    client: TestClient, publisher: FakePublisher
) -> None:
    for n in range(3):
        assert client.post("/data", json=ticket(n)).status_code == 202
    assert client.post("/data/batch", json=[ticket(f"b{n}") for n in range(4)]).status_code == 202
    assert client.post("/data", json={"id": "x"}).status_code == 422
    assert client.post("/data/batch", json=[ticket("y")] * 6).status_code == 422
    json_type = {"Content-Type": "application/json"}
    assert client.post("/data", content=b"x" * 600_000, headers=json_type).status_code == 413
    publisher.failure = PublishError("Kafka is away")
    assert client.post("/data", json=ticket("z")).status_code == 503
    assert client.get("/data").status_code == 405  # not a POST: not a ticket refused
    found = samples(client.get("/metrics").text)
    assert value(found, "shopstream_tickets_accepted_total") == 7
    refused = {
        labels[0][1]: n
        for (name, labels), n in found.items()
        if name.startswith("shopstream_tickets_refused_total")
    }
    assert refused == {"422": 2, "413": 1, "503": 1}
    assert value(found, "shopstream_publish_seconds_count") == 4
    assert value(found, "shopstream_publish_seconds_bucket", le="+Inf") == 4


def test_the_producer_gauges_follow_kafka(client: TestClient, publisher: FakePublisher) -> None:
    def kafka_up() -> float:
        return value(samples(client.get("/metrics").text), "shopstream_kafka_up")

    wait_for(lambda: kafka_up() == 1, 10, "kafka_up 1")
    publisher.is_ready = False
    wait_for(lambda: kafka_up() == 0, 10, "kafka_up 0")
    found = samples(client.get("/metrics").text)
    assert ("shopstream_producer_queue_messages", ()) in found


def test_protected_reads_cover_metrics(publisher: FakePublisher) -> None:
    settings = settings_from(API_KEYS=WRITE_KEY, API_READ_KEYS=READ_KEY)
    for client in _client(publisher, settings):
        assert client.get("/metrics").status_code == 401
        headers = {"Authorization": f"Bearer {READ_KEY}"}
        answer = client.get("/metrics", headers=headers)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain")
        # A refused key is counted too: the middleware sees every answer.
        assert client.post("/data", json=ticket(1)).status_code == 401
        found = samples(client.get("/metrics", headers=headers).text)
        assert value(found, "shopstream_tickets_refused_total", status="401") == 1


def test_keys_without_protected_reads_leave_metrics_open(publisher: FakePublisher) -> None:
    for client in _client(publisher, settings_from(API_KEYS=WRITE_KEY)):
        assert client.get("/metrics").status_code == 200
    for client in _client(
        publisher, settings_from(API_KEYS=WRITE_KEY, API_KEYS_PROTECT_READS="true")
    ):
        assert client.get("/metrics").status_code == 401


def test_metrics_can_be_turned_off(publisher: FakePublisher) -> None:
    for client in _client(publisher, settings_from(API_METRICS="false")):
        assert client.get("/metrics").status_code == 404
        assert client.post("/data", json=ticket(1)).status_code == 202


def test_each_app_counts_for_itself(publisher: FakePublisher) -> None:
    for first in _client(publisher, Settings()):
        first.post("/data", json=ticket(1))
    for second in _client(publisher, Settings()):
        found = samples(second.get("/metrics").text)
        assert value(found, "shopstream_tickets_accepted_total") == 0


def test_a_dead_letter_is_labelled_by_its_kind_of_reason() -> None:
    reasons = [
        "not a valid ticket: id: Field required",
        "empty message",
        "id conflict: a ticket with id 7 and other content came first",
        "the store refused it: value too long",
    ]
    assert [reason_kind(r) for r in reasons] == [
        "not a valid ticket", "empty message", "id conflict", "the store refused it",
    ]  # fmt: skip


def test_the_worker_counts_what_it_stored_and_dead_lettered() -> None:
    registry = CollectorRegistry()
    metrics = WorkerMetrics(registry)
    lags = iter([{0: 3, 1: 0}])
    worker = Worker(
        settings_from(WORKER_PROGRESS_S="60"),
        MemoryStore(),
        Catalog.load(),
        FakeConsumer(),
        FakeDeadLetters(),
        lambda: next(lags),
        metrics,
    )
    good = [message(json.dumps(ticket(f"t{n}")).encode(), n) for n in range(5)]
    worker.handle([*good, message(b"not json", 5), message(b"", 6)])
    worker.handle(good[:2])  # copies: stored once
    worker._progress.tick(worker.stored, worker.dead_lettered)
    found = samples(generate_latest(registry).decode())
    assert value(found, "shopstream_tickets_stored_total") == 5
    assert value(found, "shopstream_dead_letters_total", reason="not a valid ticket") == 1
    assert value(found, "shopstream_dead_letters_total", reason="empty message") == 1
    assert value(found, "shopstream_store_write_seconds_count") == 2
    assert value(found, "shopstream_worker_batch_messages_count") == 2
    assert value(found, "shopstream_worker_batch_messages_sum") == 9
    assert value(found, "shopstream_consumer_lag", partition="0") == 3
    assert value(found, "shopstream_consumer_lag", partition="1") == 0
