"""Logs an operator can follow: the access log without secrets, JSON lines from every part."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx2
import pytest

from shopstream.supervise import wait_for
from testbed.pipeline import MakePipeline
from tests.helpers import shopstream, ticket

pytestmark = pytest.mark.integration

WRITE_KEY = "write-key-in-a-header-0123"
QUERY_SECRET = "secret-in-a-query-4567"  # noqa: S105 - a test's own


def test_the_access_log_is_off_unless_asked(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    pipeline.start_api()
    answer = httpx2.post(f"{pipeline.url}/data", json=ticket("quiet"), timeout=10)
    assert answer.status_code == 202
    # uvicorn writes an access line before the answer leaves: it would be there by now.
    assert "POST /data" not in pipeline.logs()


def test_the_access_log_names_each_request_and_never_a_key(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline(API_ACCESS_LOG="true", API_KEYS=WRITE_KEY)
    pipeline.start_api()
    with httpx2.Client(base_url=pipeline.url, timeout=10) as client:
        sent = client.post(
            "/data", json=ticket("logged"), headers={"Authorization": f"Bearer {WRITE_KEY}"}
        )
        assert sent.status_code == 202
        assert client.post("/data", json=ticket("no-key")).status_code == 401
        client.get("/health", params={"api_key": QUERY_SECRET, "token": QUERY_SECRET})
    logs = pipeline.logs()
    assert 'POST /data HTTP/1.1" 202' in logs
    assert 'POST /data HTTP/1.1" 401' in logs
    assert "GET /health?api_key=***&token=*** HTTP/1.1" in logs
    assert WRITE_KEY not in logs
    assert QUERY_SECRET not in logs


def _records(text: str) -> list[dict[str, object]]:
    """Every line of a log as JSON: the test fails on the first that is not one object."""
    records = []
    for line in text.splitlines():
        record = json.loads(line)
        assert isinstance(record, dict), line
        records.append(record)
    return records


def test_json_logs_are_one_object_per_line_from_every_process(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline(
        LOG_FORMAT="json", API_ACCESS_LOG="true", API_WORKERS="2", WORKER_PROGRESS_S="0.5"
    )
    pipeline.start_api()
    pipeline.start_worker()
    ids = [f"json-{i}" for i in range(20)]
    answer = httpx2.post(f"{pipeline.url}/data/batch", json=[ticket(i) for i in ids], timeout=10)
    assert answer.status_code == 202
    pipeline.wait_stored(ids)
    wait_for(lambda: '"stored":20' in pipeline.logs(), 30, "a progress record")
    pipeline.stop()
    logs = {path.name: path.read_text() for path in pipeline.workdir.glob("*.log")}
    api = _records(logs["api-0.log"])
    worker = _records(logs["worker-1.log"])
    assert {"time", "level", "logger", "message"} <= set(api[0])
    access = [r for r in api if r["logger"] == "uvicorn.access"]
    assert [(r["method"], r["path"], r["status"]) for r in access] == [
        ("GET", "/ready", 200),
        ("POST", "/data/batch", 202),
    ]
    # Both API processes, started by uvicorn (spawned, not forked), log JSON.
    assert sum("Application startup complete" in str(r["message"]) for r in api) == 2
    progress = [r for r in worker if str(r["message"]).startswith("progress:")]
    assert progress[-1]["stored"] == 20
    assert {"rate", "lag", "dead_letters"} <= set(progress[-1])
    assert any(str(r["message"]).startswith("worker stopped: 20 stored") for r in worker)


def test_a_command_that_fails_with_json_logs_says_why_in_one_object(tmp_path: Path) -> None:
    (tmp_path / "categories.json").write_text("{not json")
    env = {**os.environ, "LOG_FORMAT": "json", "CATEGORIES_FILE": "categories.json"}
    result = shopstream("report", env=env, cwd=tmp_path, timeout=60)
    assert result.returncode == 1
    [record] = _records(result.stderr)
    assert record["level"] == "ERROR"
    assert str(record["message"]).startswith("cannot read the category list categories.json")
