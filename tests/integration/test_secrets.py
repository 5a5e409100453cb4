"""The database password through a whole run: ``shopstream up`` with PostgreSQL."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest

from shopstream.catalog import Catalog
from shopstream.config import KafkaSettings, Settings, StoreSettings
from shopstream.errors import StoreUnavailable
from shopstream.localkafka.broker import LocalBroker
from shopstream.status import api_state
from shopstream.stores import open_store
from shopstream.supervise import Supervisor, wait_for
from shopstream.worker import Worker
from testbed.pipeline import pipeline_env
from testbed.ports import free_port
from testbed.postgres import PostgresServer
from tests.helpers import shopstream, ticket
from tests.unit.fakes import FakeConsumer, FakeDeadLetters

pytestmark = pytest.mark.integration

PASSWORD = "Up-S3cret-Pa55"  # noqa: S105 - a test's own


def _unreachable(password: str = PASSWORD) -> str:
    """A PostgreSQL URL with a password, on a port nobody listens on."""
    return f"postgresql://shop:{password}@127.0.0.1:{free_port()}/shop"


def mask(url: str) -> str:
    """How ``url`` (one of the above) must be shown."""
    return url.replace(f":{PASSWORD}@", ":***@")


def test_up_the_api_and_the_worker_never_print_the_database_password(
    kafka: LocalBroker, postgres: PostgresServer, tmp_path: Path
) -> None:
    # The test server trusts every local connection: the password is let in, unchecked.
    url = postgres.new_database().replace("postgres@", f"postgres:{PASSWORD}@")
    api_port = free_port()
    env = {**pipeline_env(kafka.bootstrap_servers, url), "API_PORT": str(api_port)}
    output = tmp_path / "up.log"
    up = Supervisor(env, cwd=tmp_path).start("up", "up", output=output)
    try:
        wait_for(lambda: "worker consuming" in output.read_text(), 60, "the worker to consume")
        wait_for(lambda: api_state(f"http://127.0.0.1:{api_port}").ready, 60, "the API to be ready")
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


def test_the_worker_process_prints_the_masked_url_and_never_the_password(
    tmp_path: Path,
) -> None:
    url = _unreachable()
    env = {**os.environ, "DATABASE_URL": url, "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}
    output = tmp_path / "worker.log"
    worker = Supervisor(env, cwd=tmp_path).start("worker", "worker", output=output)
    try:
        wait_for(lambda: "retrying" in output.read_text(), 30, "the worker to say it retries")
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
    printed = output.read_text()
    assert f"cannot reach PostgreSQL at {mask(url)}" in printed
    assert PASSWORD not in printed


def test_the_cli_never_prints_the_password(tmp_path: Path, postgres: PostgresServer) -> None:
    # The test server trusts every local connection: any password is let in.
    reachable = postgres.new_database().replace("postgres@", f"postgres:{PASSWORD}@")
    for url in (reachable, _unreachable(), _unreachable("Hunter%zz2pw")):
        env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "DEBUG"}
        for json_or_tables in ("--json", "--store=Brussels"):
            result = shopstream("report", json_or_tables, env=env, cwd=tmp_path, timeout=60)
            printed = result.stdout + result.stderr
            assert PASSWORD not in printed
            assert "Hunter" not in printed
            assert "Traceback" not in printed
            assert result.returncode == (0 if url == reachable else 1), printed
            if url != reachable:
                assert result.stderr.startswith("error: ")
                assert result.stderr.count("\n") == 1, result.stderr


def test_an_unreachable_database_is_named_with_the_password_masked() -> None:
    url = _unreachable()
    with pytest.raises(StoreUnavailable) as down:
        open_store(url).open()
    assert mask(url) in str(down.value)
    assert PASSWORD not in str(down.value)
    assert down.value.__cause__ is None


def test_a_worker_waiting_for_the_database_logs_it_masked(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    url = _unreachable()
    settings = Settings(
        store=StoreSettings(database_url=url), kafka=KafkaSettings(bootstrap_servers="127.0.0.1:1")
    )
    store = open_store(settings.store.database_url.get_secret_value())
    worker = Worker(settings, store, Catalog.load(), FakeConsumer(), FakeDeadLetters())
    attempts: list[object] = []

    def give_up_after_two(*_: object) -> None:
        attempts.append(None)
        if len(attempts) == 2:
            worker.stop()

    monkeypatch.setattr(worker, "_pause", give_up_after_two)
    worker.run()
    assert caplog.text.count(f"cannot reach PostgreSQL at {mask(url)}") == 2
    assert PASSWORD not in caplog.text
