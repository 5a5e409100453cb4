"""Faults under continuous load, each ending with: acknowledged ⊆ stored, no duplicates.

The way Kafka's own system tests and Jepsen check delivery: every ticket has a unique id,
the acknowledged ids are recorded, faults are injected, then the store is compared.
"""

from __future__ import annotations

import json
import signal
import sqlite3
from contextlib import closing
from functools import partial
from pathlib import Path

import httpx2
import pytest
from confluent_kafka import Producer

from shopstream.load import Load
from shopstream.localkafka.broker import LocalBroker
from shopstream.supervise import wait_for
from testbed.pipeline import MakePipeline, Pipeline
from tests.faults.harness import Scenario, finish, let_some_through, load_on
from tests.helpers import shopstream, ticket

pytestmark = pytest.mark.faults


def _refused_more(load: Load, count: int) -> bool:
    return load.refused[503] > count


def _let_some_through(pipeline: Pipeline, low: int = 100, high: int = 400) -> None:
    let_some_through(pipeline.store, low, high)


def test_worker_killed(make_pipeline: MakePipeline, record: list[Scenario]) -> None:
    """SIGKILL the worker again and again, half the time right after a store write."""
    pipeline = make_pipeline(WORKER_BATCH_SIZE="100", CRASH_P="0.2")
    pipeline.start_api()
    load = load_on(pipeline)
    external = between_store_and_commit = 0
    while external + between_store_and_commit < 12 or between_store_and_commit < 4:
        if between_store_and_commit < 4:
            crashing = pipeline.spawn(module="tests.faults.crashing_worker")
            assert crashing.wait(120) == -signal.SIGKILL
            between_store_and_commit += 1
        else:
            worker = pipeline.start_worker()
            _let_some_through(pipeline)
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            external += 1
    pipeline.start_worker()
    finish("worker killed", external + between_store_and_commit, load, pipeline, record)


def test_one_of_three_workers_killed(
    make_pipeline: MakePipeline, tmp_path: Path, record: list[Scenario]
) -> None:
    """Three workers share six partitions; one is killed; the others take its partitions."""
    pipeline = make_pipeline(f"sqlite:///{tmp_path / 'shop.db'}", KAFKA_PARTITIONS="6")
    pipeline.start_api()
    workers = [pipeline.start_worker() for _ in range(3)]
    load = load_on(pipeline)
    _let_some_through(pipeline, 500, 800)
    workers[0].send_signal(signal.SIGKILL)
    workers[0].wait()
    _let_some_through(pipeline, 1000, 1500)
    finish("one of three workers killed", 1, load, pipeline, record)


def test_broker_restarted(
    own_broker: LocalBroker, make_own_pipeline: MakePipeline, record: list[Scenario]
) -> None:
    """The broker goes away for ~10 s twice (stopped, then SIGKILLed) under load."""
    pipeline = make_own_pipeline(PUBLISH_TIMEOUT_S="2")
    pipeline.start_api()
    pipeline.start_worker()
    load = load_on(pipeline)
    for outage in (own_broker.stop, own_broker.kill):
        _let_some_through(pipeline)
        outage()
        wait_for(partial(_refused_more, load, load.refused[503] + 50), 30, "503s while down")
        own_broker.start()
    _let_some_through(pipeline)
    result = finish("broker restarted (stop, kill)", 2, load, pipeline, record)
    # While it was down: quick 503s, never a hung request (the client waits 15 s).
    assert load.refused[503] > 100
    assert load.slowest_refusal_s < 2 + 1 + 1
    assert result.verdict.acknowledged > 500


def test_api_stopped(make_pipeline: MakePipeline, record: list[Scenario]) -> None:
    """SIGTERM the API under load: requests in flight finish, then it exits."""
    pipeline = make_pipeline()
    api = pipeline.start_api()
    pipeline.start_worker()
    load = load_on(pipeline, clients=16)
    _let_some_through(pipeline, 500, 1000)
    api.send_signal(signal.SIGTERM)
    # uvicorn drains, shuts the app down, then re-raises the signal it handled.
    assert api.wait(30) in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in pipeline.logs()
    finish("API stopped (SIGTERM)", 1, load, pipeline, record)


def test_store_failing(make_pipeline: MakePipeline, tmp_path: Path, record: list[Scenario]) -> None:
    """The database is locked for a while: the worker retries without committing."""
    database = tmp_path / "shop.db"
    pipeline = make_pipeline(f"sqlite:///{database}")
    pipeline.start_api()
    pipeline.start_worker()
    load = load_on(pipeline)
    faults = 0
    for _ in range(2):
        _let_some_through(pipeline)
        with closing(sqlite3.connect(database, isolation_level=None)) as blocker:
            blocker.execute("BEGIN EXCLUSIVE")  # nobody else writes until we let go
            faults += 1
            wait_for(lambda: "not stored, will retry" in pipeline.logs(), 30, "a failed write")
        # Released: the worker's next try goes through.
    _let_some_through(pipeline)
    finish("store failing (locked)", faults, load, pipeline, record)


def _dead_letters(pipeline: Pipeline) -> list[dict[str, object]]:
    result = shopstream("dlq", "list", "--json", env=pipeline.env, cwd=pipeline.workdir)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_poison_messages(
    make_pipeline: MakePipeline, tmp_path: Path, record: list[Scenario]
) -> None:
    """Garbage on the topic and a ticket the store refuses are dead-lettered, the stream goes
    on, and once the store takes it again, replay stores the ticket."""
    database = tmp_path / "shop.db"
    pipeline = make_pipeline(f"sqlite:///{database}")
    pipeline.start_api()
    pipeline.start_worker()
    load = load_on(pipeline)
    _let_some_through(pipeline)
    # A constraint someone added to the database refuses one store's tickets.
    with closing(sqlite3.connect(database, timeout=30)) as db:
        db.execute(
            "CREATE TRIGGER no_poison BEFORE INSERT ON tickets WHEN NEW.store = 'Poison'"
            " BEGIN SELECT RAISE(ABORT, 'no tickets from Poison'); END"
        )
        db.commit()

    topic = pipeline.env["KAFKA_TOPIC"]
    producer = Producer({"bootstrap.servers": pipeline.env["KAFKA_BOOTSTRAP_SERVERS"]})
    producer.produce(topic, b"\xff\xfe not json", b"bytes")
    producer.produce(topic, b'{"id": "x", "products": "none"}', b"not-a-ticket")
    assert producer.flush(10) == 0
    accepted = httpx2.post(f"{pipeline.url}/data", json=ticket("poison", store="Poison"))
    assert accepted.status_code == 202
    _let_some_through(pipeline)  # the partition of the refused ticket goes on

    wait_for(lambda: len(_dead_letters(pipeline)) == 3, 60, "three dead letters")
    letters = _dead_letters(pipeline)
    reasons = {str(letter["key"]): str(letter["reason"]) for letter in letters}
    assert reasons["bytes"].startswith("not a valid ticket")
    assert "store" in reasons["not-a-ticket"]
    assert "products" in reasons["not-a-ticket"]
    assert reasons["poison"].startswith("the store refused it")
    assert "no tickets from Poison" in reasons["poison"]
    assert all(str(letter["origin"]).startswith(f"{topic}[") for letter in letters)

    # The constraint was the mistake: drop it, then replay.
    with closing(sqlite3.connect(database, timeout=30)) as db:
        db.execute("DROP TRIGGER no_poison")
        db.commit()
    replay = shopstream("dlq", "replay", env=pipeline.env, cwd=pipeline.workdir)
    assert "replayed 3 dead letters" in replay.stdout
    pipeline.wait_stored(["poison"])
    # The two that are still not tickets came back, with their new origin.
    wait_for(lambda: len(_dead_letters(pipeline)) == 5, 60, "the two still-bad letters back")
    finish("poison messages", 3, load, pipeline, record)
