"""/metrics on a real broker: the counters match the traffic sent, summed over processes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import pytest
from confluent_kafka import Producer

from shopstream.supervise import wait_for
from testbed.pipeline import MakePipeline, Pipeline
from testbed.ports import free_port
from tests.helpers import Samples, samples, ticket, value

pytestmark = pytest.mark.integration

READ_KEY = "metrics-read-key-0123"


def _scrape(url: str, **headers: str) -> Samples:
    """One scrape, on a connection of its own (so any API process may answer it)."""
    answer = httpx2.get(f"{url}/metrics", headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    return samples(answer.text)


def _answers(url: str) -> bool:
    try:
        httpx2.get(f"{url}/metrics", timeout=2)
    except httpx2.HTTPError:
        return False
    return True


def _poison(pipeline: Pipeline, value: bytes) -> None:
    producer = Producer({"bootstrap.servers": pipeline.env["KAFKA_BOOTSTRAP_SERVERS"]})
    producer.produce(pipeline.env["KAFKA_TOPIC"], value)
    assert producer.flush(10) == 0


def test_the_counters_match_the_traffic_sent(make_pipeline: MakePipeline) -> None:
    port = free_port()
    worker_url = f"http://127.0.0.1:{port}"
    pipeline = make_pipeline(WORKER_METRICS_PORT=str(port), WORKER_PROGRESS_S="0.5")
    pipeline.start_api()
    pipeline.start_worker()
    singles = [f"one-{n}" for n in range(20)]
    batch = [f"many-{n}" for n in range(30)]
    with httpx2.Client(base_url=pipeline.url, timeout=10) as client:
        for ticket_id in singles:
            assert client.post("/data", json=ticket(ticket_id)).status_code == 202
        assert client.post("/data/batch", json=[ticket(i) for i in batch]).status_code == 202
        for n in range(3):
            assert client.post("/data", json={"id": f"bad-{n}"}).status_code == 422
    _poison(pipeline, b"not a ticket")
    pipeline.wait_stored(singles + batch)

    api = _scrape(pipeline.url)
    assert value(api, "shopstream_tickets_accepted_total") == 50
    assert value(api, "shopstream_tickets_refused_total", status="422") == 3
    assert value(api, "shopstream_publish_seconds_count") == 21  # 20 POSTs and a batch
    assert value(api, "shopstream_producer_queue_messages") == 0
    wait_for(lambda: value(_scrape(pipeline.url), "shopstream_kafka_up") == 1, 10, "kafka up")

    def worker_says(name: str, expected: float, **labels: str) -> bool:
        return value(_scrape(worker_url), name, **labels) == expected

    wait_for(lambda: worker_says("shopstream_tickets_stored_total", 50), 30, "50 stored")
    reason = {"reason": "not a valid ticket"}
    wait_for(lambda: worker_says("shopstream_dead_letters_total", 1, **reason), 30, "a letter")
    worker = _scrape(worker_url)
    assert value(worker, "shopstream_store_write_seconds_count") >= 1
    assert value(worker, "shopstream_worker_batch_messages_sum") == 51
    # The lag falls to 0 once the worker committed what it stored (every 5 s).
    lags = [f"{p}" for p in range(3)]

    def drained() -> bool:
        found = _scrape(worker_url)
        return all((("shopstream_consumer_lag", (("partition", p),)) in found) for p in lags) and (
            sum(value(found, "shopstream_consumer_lag", partition=p) for p in lags) == 0
        )

    wait_for(drained, 30, "the lag back to 0")


def test_api_processes_report_one_sum(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline(API_WORKERS="3")
    pipeline.start_api()

    def post(n: int) -> int:
        # A connection each: the kernel spreads them over the processes.
        return httpx2.post(f"{pipeline.url}/data", json=ticket(f"p{n}"), timeout=10).status_code

    with ThreadPoolExecutor(16) as pool:
        assert set(pool.map(post, range(120))) == {202}
    # Whichever process answers a scrape, it says the sum of all three.
    for _ in range(12):
        assert value(_scrape(pipeline.url), "shopstream_tickets_accepted_total") == 120


def test_worker_processes_report_one_sum(make_pipeline: MakePipeline, tmp_path: Path) -> None:
    port = free_port()
    worker_url = f"http://127.0.0.1:{port}"
    pipeline = make_pipeline(f"sqlite:///{tmp_path}/shop.db", WORKER_METRICS_PORT=str(port))
    pipeline.start_api()
    pipeline.spawn("worker", "--processes", "2")
    ids = [f"w{n}" for n in range(90)]
    with httpx2.Client(base_url=pipeline.url, timeout=10) as client:
        for start in range(0, 90, 10):  # keyed by id: spread over the 3 partitions
            chunk = [ticket(i) for i in ids[start : start + 10]]
            assert client.post("/data/batch", json=chunk).status_code == 202
    pipeline.wait_stored(ids)
    wait_for(
        lambda: value(_scrape(worker_url), "shopstream_tickets_stored_total") == 90,
        30,
        "the two workers' sum",
    )


def test_protected_reads_cover_the_worker_metrics(make_pipeline: MakePipeline) -> None:
    port = free_port()
    worker_url = f"http://127.0.0.1:{port}"
    pipeline = make_pipeline(
        WORKER_METRICS_PORT=str(port), API_KEYS="metrics-write-key-4567", API_READ_KEYS=READ_KEY
    )
    pipeline.start_worker()
    wait_for(lambda: _answers(worker_url), 30, "the worker's /metrics")
    assert httpx2.get(f"{worker_url}/metrics", timeout=5).status_code == 401
    found = _scrape(worker_url, Authorization=f"Bearer {READ_KEY}")
    assert ("shopstream_tickets_stored_total", ()) in found
