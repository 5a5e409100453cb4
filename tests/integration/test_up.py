"""``shopstream up`` from nothing, the seed's stress test against it, then Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path

import httpx2
import pytest

from shopstream.localkafka.broker import LocalBroker
from shopstream.status import api_state
from shopstream.supervise import Supervisor, wait_for
from testbed.pipeline import LIBS
from testbed.ports import free_port
from tests.helpers import assert_example_figures, shopstream, ticket

pytestmark = pytest.mark.integration


def _up_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """``up`` in ``tmp_path`` with a local broker of its own, on free ports."""
    state = tmp_path / ".kafka"
    state.mkdir()
    (state / "libs").symlink_to(LIBS)  # the jars the session already fetched
    env = {
        **os.environ,
        "KAFKA_LOCAL_PORT": str(free_port()),
        "KAFKA_LOCAL_CONTROLLER_PORT": str(free_port()),
        "API_PORT": str(free_port()),
        "WORKER_METRICS_PORT": str(free_port()),
        **extra,
    }
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    env.pop("DATABASE_URL", None)
    return env


def test_up_runs_the_whole_pipeline_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    env = _up_env(tmp_path)
    api_port, kafka_port = int(env["API_PORT"]), int(env["KAFKA_LOCAL_PORT"])
    controller_port, state = int(env["KAFKA_LOCAL_CONTROLLER_PORT"]), tmp_path / ".kafka"
    up = Supervisor(env, cwd=tmp_path).start("up", "up", output=tmp_path / "up.log")
    try:
        log = tmp_path / "up.log"
        wait_for(lambda: "shopstream ready in" in log.read_text(), 120, "the pipeline to be up")
        # Ready means it takes tickets, and the worker has its partitions to store them.
        assert api_state(f"http://127.0.0.1:{api_port}").ready
        stress = shopstream("stress", "--count", "1000", env=env, cwd=tmp_path)
        assert stress.returncode == 0, stress.stdout + stress.stderr
        assert "stored 1000" in stress.stdout
        assert len(json.loads((tmp_path / "database.json").read_text())) == 1000
        # The manager's questions, answered the same by the API and the terminal report.
        figures = httpx2.get(f"http://127.0.0.1:{api_port}/analytics", timeout=10).json()
        report = shopstream("report", "--json", env=env, cwd=tmp_path)
        reported = json.loads(report.stdout)
        # The same list, loaded by each process when it started (loaded_at is its own).
        assert reported.pop("catalog")["hash"] == figures.pop("catalog")["hash"]
        assert reported == figures
        assert_example_figures(figures)
        # The worker says what it stored, as it goes.
        wait_for(
            lambda: "progress: 1000 stored" in (tmp_path / "up.log").read_text(), 30, "progress"
        )
    finally:
        up.send_signal(signal.SIGINT)
        code = up.wait(60)
        print((tmp_path / "up.log").read_text())
    assert code == 0
    output = (tmp_path / "up.log").read_text()
    assert "kafka warmed up" in output
    assert "api    | " in output
    assert "worker | " in output
    assert "worker stopped: 1000 stored" in output
    assert re.search(
        r"worker \| .* progress: 1000 stored \(\+\d+, \d+/s\), lag \d+, 0 dead", output
    )
    broker = LocalBroker(state, kafka_port, controller_port)
    assert broker.pid() is None
    assert not broker.answers(timeout=1)


def test_up_with_json_logs_writes_one_object_per_line_from_every_part(tmp_path: Path) -> None:
    env = _up_env(tmp_path, LOG_FORMAT="json", WORKER_PROGRESS_S="0.5")
    output = tmp_path / "up.log"
    up = Supervisor(env, cwd=tmp_path).start("up", "up", output=output)
    try:
        url = f"http://127.0.0.1:{env['API_PORT']}"
        wait_for(lambda: api_state(url).ready, 120, "the pipeline to be up")
        tickets = [ticket(f"j{i}") for i in range(10)]
        assert httpx2.post(f"{url}/data/batch", json=tickets, timeout=10).status_code == 202
        wait_for(lambda: '"stored":10' in output.read_text(), 60, "a progress record")
    finally:
        up.send_signal(signal.SIGINT)
        code = up.wait(60)
        print(output.read_text())
    assert code == 0
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert all(isinstance(record, dict) and "message" in record for record in records)
    by_part: dict[str, list[str]] = {}
    for record in records:
        by_part.setdefault(record.get("part", "up"), []).append(record["message"])
    assert set(by_part) == {"up", "api", "worker"}
    assert any(m.startswith("kafka broker 127.0.0.1:") for m in by_part["up"])  # the launcher
    assert "kafka broker stopped" in by_part["up"]
    assert any(m.startswith("Uvicorn running on") for m in by_part["api"])
    assert any(m.startswith("progress: 10 stored") for m in by_part["worker"])
