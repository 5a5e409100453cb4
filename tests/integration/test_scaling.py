"""Past one process: workers joining and leaving the group under load, API processes."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx2
import psycopg
import pytest

from shopstream.supervise import wait_for
from testbed.pipeline import MakePipeline
from testbed.postgres import PostgresServer
from tests.faults.harness import finish, let_some_through, load_on
from tests.helpers import EXAMPLE_TICKET

pytestmark = pytest.mark.integration


def test_workers_joining_and_leaving_lose_nothing_and_double_nothing(
    make_pipeline: MakePipeline, postgres: PostgresServer
) -> None:
    """Three workers on six partitions; one SIGKILLed, two added (--processes 2), one stopped."""
    url = postgres.new_database()
    pipeline = make_pipeline(url, KAFKA_PARTITIONS="6")
    pipeline.start_api()
    workers = [pipeline.start_worker() for _ in range(3)]
    load = load_on(pipeline)
    let_some_through(pipeline.store, 500, 800)

    workers[0].send_signal(signal.SIGKILL)  # leaves without a word: its session times out
    workers[0].wait()
    let_some_through(pipeline.store, 500, 800)

    pair = pipeline.spawn("worker", "--processes", "2")  # two more join the group
    let_some_through(pipeline.store, 500, 800)

    workers[1].send_signal(signal.SIGTERM)  # leaves cleanly: commits, then the group rebalances
    assert workers[1].wait(30) == 0
    let_some_through(pipeline.store, 500, 800)

    verdict = finish("workers joining and leaving", 3, load, pipeline).verdict
    assert verdict.acknowledged > 2000
    with psycopg.connect(url) as db:  # the roll-ups counted each ticket once too
        assert db.execute("SELECT sum(tickets) FROM daily_tickets").fetchone() == (verdict.stored,)
    pair.send_signal(signal.SIGTERM)
    assert pair.wait(30) == 0


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:  # gone meanwhile
            continue
        if f"\nPPid:\t{pid}\n" in text:
            found.append(int(status.parent.name))
    return found


def test_api_workers_share_the_port(make_pipeline: MakePipeline, postgres: PostgresServer) -> None:
    pipeline = make_pipeline(postgres.new_database(), API_WORKERS="2")
    api = pipeline.start_api()
    pipeline.start_worker()
    # One process serves alone; with API_WORKERS=2 the parent runs two (and a resource tracker).
    wait_for(lambda: len(_children(api.pid)) >= 2, 30, "two API processes")
    ids = [f"w{i}" for i in range(200)]
    with httpx2.Client(base_url=pipeline.url, timeout=10) as client:
        for ticket_id in ids:
            response = client.post("/data", json={**EXAMPLE_TICKET, "id": ticket_id})
            assert response.status_code == 202
    pipeline.wait_stored(ids)


def test_json_store_refuses_several_worker_processes(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    process = pipeline.spawn("worker", "--processes", "2")
    assert process.wait(30) == 2
    assert "takes one writer at a time" in pipeline.logs()


def test_worker_processes_from_the_environment_are_that_many(
    make_pipeline: MakePipeline, tmp_path: Path
) -> None:
    """Each of the N reads WORKER_PROCESSES too: it must run one worker, not N more."""
    pipeline = make_pipeline(f"sqlite:///{tmp_path / 'shop.db'}", WORKER_PROCESSES="2")
    parent = pipeline.spawn("worker")
    wait_for(lambda: pipeline.logs().count("worker consuming") == 2, 60, "two workers consuming")
    children = _children(parent.pid)
    assert len(children) == 2
    assert [_children(child) for child in children] == [[], []]
