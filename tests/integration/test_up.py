"""``shopstream up`` from nothing, the seed's stress test against it, then Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import httpx2
import pytest

from shopstream.localkafka.broker import LocalBroker
from shopstream.supervise import Supervisor, wait_for
from shopstream.up import api_ready
from testbed.pipeline import LIBS
from testbed.ports import free_port
from tests.helpers import assert_example_figures, shopstream

pytestmark = pytest.mark.integration


def test_up_runs_the_whole_pipeline_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    state = tmp_path / ".kafka"
    state.mkdir()
    (state / "libs").symlink_to(LIBS)  # the jars the session already fetched
    kafka_port, controller_port, api_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "KAFKA_LOCAL_PORT": str(kafka_port),
        "KAFKA_LOCAL_CONTROLLER_PORT": str(controller_port),
        "API_PORT": str(api_port),
    }
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    env.pop("DATABASE_URL", None)
    up = Supervisor(env, cwd=tmp_path).start("up", "up", output=tmp_path / "up.log")
    try:
        log = tmp_path / "up.log"
        wait_for(lambda: "shopstream ready in" in log.read_text(), 120, "the pipeline to be up")
        # Ready means it takes tickets, and the worker has its partitions to store them.
        assert api_ready(f"http://127.0.0.1:{api_port}")
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
    broker = LocalBroker(state, kafka_port, controller_port)
    assert broker.pid() is None
    assert not broker.answers(timeout=1)
