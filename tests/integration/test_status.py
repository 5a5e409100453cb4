"""``shopstream status`` on a real broker: lag is what no worker committed; 0 after a drain."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from confluent_kafka import Producer

from shopstream.supervise import wait_for
from testbed.pipeline import MakePipeline, Pipeline
from testbed.ports import free_port
from tests.helpers import shopstream, ticket

pytestmark = pytest.mark.integration


def _status(pipeline: Pipeline, *args: str, **env: str) -> tuple[int, str]:
    result = shopstream(
        "status", *args, env={**pipeline.env, "API_PORT": str(pipeline.api_port), **env},
        cwd=pipeline.workdir, timeout=60,
    )  # fmt: skip
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stdout


def _json(pipeline: Pipeline, **env: str) -> tuple[int, dict[str, Any]]:
    code, out = _status(pipeline, "--json", **env)
    return code, json.loads(out)


def test_status_counts_the_lag_with_the_worker_stopped_and_0_after_a_drain(
    make_pipeline: MakePipeline,
) -> None:
    pipeline = make_pipeline()
    pipeline.start_api()
    ids = [f"s{n}" for n in range(10)]
    with httpx2.Client(base_url=pipeline.url, timeout=10) as client:
        for ticket_id in ids:
            assert client.post("/data", json=ticket(ticket_id)).status_code == 202
    producer = Producer({"bootstrap.servers": pipeline.env["KAFKA_BOOTSTRAP_SERVERS"]})
    producer.produce(pipeline.env["KAFKA_TOPIC"], b"poison")  # one dead letter to be
    assert producer.flush(10) == 0

    code, before = _json(pipeline)
    assert code == 0
    assert before["ok"] is True
    assert before["group"]["lag"] == 11  # 10 tickets and the poison, nothing committed
    assert sum(before["group"]["lag_by_partition"].values()) == 11
    assert before["group"]["members"] == []
    assert before["kafka"]["answers"] is True
    [broker] = before["kafka"]["brokers"]
    assert broker["controller"] is True
    partitions = before["topic"]["partitions"]
    assert [p["partition"] for p in partitions] == [0, 1, 2]
    assert all(p["leader"] == broker["id"] and p["in_sync"] == [broker["id"]] for p in partitions)
    assert before["store"]["tickets"] == 0
    assert before["api"]["ready"] is True
    assert before["dead_letters"]["count"] == 0

    pipeline.start_worker()
    pipeline.wait_stored(ids)
    # The worker commits what it stored every 5 s: then nothing is left to read.
    wait_for(lambda: _json(pipeline)[1]["group"]["lag"] == 0, 30, "the lag back to 0")
    code, after = _json(pipeline)
    assert code == 0
    [member] = after["group"]["members"]
    assert member["partitions"] == [0, 1, 2]
    assert after["group"]["state"] == "stable"
    assert after["store"]["tickets"] == 10
    assert after["dead_letters"]["count"] == 1
    assert all(p["committed"] == p["end"] for p in after["topic"]["partitions"])

    code, text = _status(pipeline)
    print(text)  # the operator's view, in the test's output
    assert code == 0
    assert "(stable): 1 member(s), lag 0" in text
    assert "10 tickets" in text
    assert f"dead letters  1 in {pipeline.env['KAFKA_TOPIC']}.dlq" in text
    assert f"{pipeline.url}: ready" in text


def test_status_fails_when_the_api_is_not_ready(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()  # no API started
    code, found = _json(pipeline)
    assert code == 1
    assert found["ok"] is False
    assert found["kafka"]["answers"] is True
    assert found["api"]["ready"] is False
    assert found["api"]["detail"].startswith("no answer")


def test_status_fails_when_kafka_does_not_answer(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline(DATABASE_URL="postgresql://shop:s3cret-pw@127.0.0.1:1/shop")
    nobody = f"127.0.0.1:{free_port()}"
    code, text = _status(pipeline, KAFKA_BOOTSTRAP_SERVERS=nobody)
    assert code == 1
    assert f"kafka         {nobody}: no broker answers" in text
    assert "s3cret-pw" not in text  # the store's URL is shown masked
    assert "postgresql://shop:***@127.0.0.1:1/shop" in text
