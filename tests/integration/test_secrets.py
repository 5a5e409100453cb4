"""The database password through a whole run: ``shopstream up`` with PostgreSQL."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest

from shopstream.localkafka.broker import LocalBroker
from tests.helpers import free_port, ticket, wait_for
from tests.integration.conftest import pipeline_env
from tests.postgres import PostgresServer

pytestmark = pytest.mark.integration

PASSWORD = "Up-S3cret-Pa55"  # noqa: S105 - a test's own


def test_up_the_api_and_the_worker_never_print_the_database_password(
    kafka: LocalBroker, postgres: PostgresServer, tmp_path: Path
) -> None:
    # The test server trusts every local connection: the password is let in, unchecked.
    url = postgres.new_database().replace("postgres@", f"postgres:{PASSWORD}@")
    api_port = free_port()
    env = {**pipeline_env(kafka.bootstrap_servers, url), "API_PORT": str(api_port)}
    output = tmp_path / "up.log"
    with output.open("wb") as log:
        up = subprocess.Popen(
            [sys.executable, "-m", "shopstream", "up"],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: "worker consuming" in output.read_text(), 60, "the worker to consume")
        wait_for(lambda: _ready(f"http://127.0.0.1:{api_port}/ready"), 60, "the API to be ready")
        posted = httpx2.post(f"http://127.0.0.1:{api_port}/data", json=ticket("up-1"), timeout=10)
        assert posted.status_code == 202
        with_url = {**env, "DATABASE_URL": url}
        wait_for(lambda: _stored(with_url, tmp_path), 60, "the ticket stored")
    finally:
        up.send_signal(signal.SIGINT)
        code = up.wait(60)
    printed = output.read_text()
    print(printed)
    assert code == 0
    masked = url.replace(f":{PASSWORD}@", ":***@")
    assert f"stored in {masked}" in printed  # up's own line
    assert f"into {masked}" in printed  # the worker's
    assert PASSWORD not in printed


def _ready(url: str) -> bool:
    try:
        return httpx2.get(url, timeout=5).status_code == 200
    except httpx2.HTTPError:
        return False


def _stored(env: dict[str, str], cwd: Path) -> bool:
    result = subprocess.run(
        [sys.executable, "-m", "shopstream", "report", "--json"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert PASSWORD not in result.stdout + result.stderr
    return '"tickets": 1' in result.stdout
