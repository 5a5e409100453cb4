"""``shopstream rebuild --into URL``: a new store built from the ticket topic, on a real broker."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import httpx2
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
)

from shopstream.localkafka import LocalBroker
from shopstream.supervise import wait_for
from testbed.pipeline import MakePipeline, Pipeline, on_broker
from testbed.postgres import PostgresServer
from tests.analytics_data import TICKETS, approx_figures
from tests.helpers import shopstream, ticket

pytestmark = pytest.mark.integration

PASSWORD = "s3cret-into"  # noqa: S105 - the test server trusts 127.0.0.1: any password works


def _figures(env: dict[str, str], cwd: Path, database_url: str) -> dict[str, Any]:
    """``report --json`` of a store, without the list in force (the same for both)."""
    report = shopstream("report", "--json", env={**env, "DATABASE_URL": database_url}, cwd=cwd)
    assert report.returncode == 0, report.stderr
    figures: dict[str, Any] = json.loads(report.stdout)
    del figures["catalog"]
    return figures


def _letters(pipeline: Pipeline) -> int:
    return pipeline.logs().count("dead-lettered ")


def _target(kind: str, tmp_path: Path, postgres: PostgresServer) -> tuple[str, str]:
    """The URL of a new store of ``kind``, and how the command must print it."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'new.db'}"
        return url, url
    url = postgres.new_database().replace("postgres@", f"postgres:{PASSWORD}@")
    return url, url.replace(PASSWORD, "***")


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_into_from_json_builds_a_store_with_the_same_figures(
    make_pipeline: MakePipeline, postgres: PostgresServer, tmp_path: Path, kind: str
) -> None:
    pipeline = make_pipeline()  # database.json
    pipeline.start_api()
    pipeline.start_worker()
    batch = [*TICKETS, *(ticket(f"b{i}") for i in range(300))]
    assert httpx2.post(f"{pipeline.url}/data/batch", json=batch, timeout=10).status_code == 202
    pipeline.wait_stored([t["id"] for t in batch])
    # What the worker refused: a ticket under a stored id with another purchase, and a
    # message that is no ticket at all.
    conflict = {**TICKETS[0], "store": "Ghent"}
    assert httpx2.post(f"{pipeline.url}/data", json=conflict, timeout=10).status_code == 202
    producer = Producer({"bootstrap.servers": pipeline.env["KAFKA_BOOTSTRAP_SERVERS"]})
    producer.produce(pipeline.env["KAFKA_TOPIC"], b"not a ticket", b"junk")
    producer.flush(10)
    wait_for(lambda: _letters(pipeline) == 2, 60, "two dead letters")
    worker = pipeline.roles["worker"]
    worker.send_signal(signal.SIGTERM)  # stopped, as the command's advice says
    assert worker.wait(30) == 0

    url, shown = _target(kind, tmp_path, postgres)
    result = shopstream("rebuild", "--into", url, env=pipeline.env, cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "1 not a valid ticket, 1 id conflict" in output
    assert f"every ticket of {pipeline.database_url} is in {shown}" in output
    assert f"DATABASE_URL={shown}" in output
    assert PASSWORD not in output

    figures = _figures(pipeline.env, tmp_path, url)
    # Equal, to the rounding of sums added up in another order.
    assert figures == approx_figures(_figures(pipeline.env, tmp_path, pipeline.database_url))
    assert figures["tickets"] == len(batch)
    assert figures["average_ticket_total_by_store"].keys() == {"Brussels", "Ghent", "Antwerp"}

    # Switched: a worker of the same group on the new store stores what comes next, once.
    switched = make_pipeline(
        url, KAFKA_TOPIC=pipeline.env["KAFKA_TOPIC"], WORKER_GROUP=pipeline.env["WORKER_GROUP"]
    )
    switched.start_worker()
    assert httpx2.post(f"{pipeline.url}/data", json=ticket("next"), timeout=10).status_code == 202
    switched.wait_stored(["next"])
    assert switched.store.count() == len(batch) + 1

    itself = shopstream("rebuild", "--into", pipeline.database_url, env=pipeline.env, cwd=tmp_path)
    assert itself.returncode == 1
    assert "is the store in use (DATABASE_URL)" in itself.stderr


def test_into_is_refused_when_retention_deleted_history(
    forgetful_broker: LocalBroker, tmp_path: Path
) -> None:
    pipeline = on_broker(forgetful_broker.bootstrap_servers, tmp_path, KAFKA_RETENTION_MS="1000")
    try:
        pipeline.start_api()
        pipeline.start_worker()
        topic = pipeline.env["KAFKA_TOPIC"]
        admin = AdminClient({"bootstrap.servers": forgetful_broker.bootstrap_servers})
        # A new segment every 100 ms, so that retention has closed segments to delete
        # (incremental: the topic's own retention.ms, 1 s, stays).
        segments = ConfigEntry("segment.ms", "100", incremental_operation=AlterConfigOpType.SET)
        resource = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=[segments])
        for future in admin.incremental_alter_configs([resource]).values():
            future.result()
        posted: list[str] = []

        def history_deleted() -> bool:
            """Post a ticket (each rolls a segment once the last is old): is offset 0 gone?"""
            posted.append(f"r{len(posted)}")
            httpx2.post(f"{pipeline.url}/data", json=ticket(posted[-1]), timeout=10)
            partitions = admin.list_topics(topic, timeout=10).topics[topic].partitions
            return any(_first_offset(forgetful_broker, topic, p) > 0 for p in partitions)

        wait_for(history_deleted, 120, "retention to delete a segment", interval=0.2)
        pipeline.wait_stored(posted)
        worker = pipeline.roles["worker"]
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0

        target = tmp_path / "new.db"
        result = shopstream(
            "rebuild", "--into", f"sqlite:///{target}", env=pipeline.env, cwd=tmp_path
        )
        assert result.returncode == 1, result.stdout + result.stderr
        assert "no longer holds its history" in result.stderr
        assert "were deleted (retention" in result.stderr
        assert "nothing was built" in result.stderr
        assert not target.exists()
    finally:
        pipeline.stop()
        print(pipeline.logs())


def _first_offset(broker: LocalBroker, topic: str, partition: int) -> int:
    consumer = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": "peek"})
    try:
        low, _ = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
        return int(low)
    finally:
        consumer.close()
