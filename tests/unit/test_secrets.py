"""The database password never reaches a log, an error, a ``repr`` or the terminal."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from shopstream.catalog import Catalog
from shopstream.config import KafkaSettings, Settings, StoreSettings
from shopstream.errors import ConfigurationError, StoreUnavailable
from shopstream.stores import open_store
from shopstream.worker import Worker
from tests.helpers import free_port, shopstream, wait_for
from tests.postgres import PostgresServer
from tests.unit.fakes import FakeConsumer, FakeDeadLetters

PASSWORD = "S3cret-Pa55word"  # noqa: S105 - a test's own


def _unreachable(password: str = PASSWORD) -> str:
    return f"postgresql://shop:{password}@127.0.0.1:{free_port()}/shop"


def mask(url: str) -> str:
    """How ``url`` (one of the above) must be shown."""
    return url.replace(f":{PASSWORD}@", ":***@")


def test_the_settings_repr_and_dump_mask_the_password() -> None:
    url = _unreachable()
    settings = Settings(store=StoreSettings(database_url=url))
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert mask(url) in text
        assert PASSWORD not in text


@pytest.mark.parametrize(
    "password",
    [
        "Hunter%zz2pw",  # libpq: invalid percent-encoded token: "Hunter%zz2pw"
        "Hunter 2pw",  # libpq: unexpected spaces found in "Hunter 2pw"
    ],
)
def test_a_url_psycopg_cannot_parse_is_refused_without_echoing_the_password(
    password: str,
) -> None:
    store = open_store(_unreachable(password))
    with pytest.raises(ConfigurationError) as refused:
        store.open()
    assert "Hunter" not in str(refused.value)
    assert refused.value.__cause__ is None
    assert "DATABASE_URL" in str(refused.value)


def test_an_unreachable_database_is_named_with_the_password_masked() -> None:
    url = _unreachable()
    with pytest.raises(StoreUnavailable) as down:
        open_store(url).open()
    assert mask(url) in str(down.value)
    assert PASSWORD not in str(down.value)
    assert down.value.__cause__ is None


def test_an_unknown_url_is_refused_with_the_password_masked() -> None:
    with pytest.raises(ConfigurationError) as refused:
        open_store(f"mysql://shop:{PASSWORD}@db/shop")
    assert "mysql://shop:***@db/shop" in str(refused.value)
    assert PASSWORD not in str(refused.value)


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


def test_the_worker_process_prints_the_masked_url_and_never_the_password(
    tmp_path: Path,
) -> None:
    url = _unreachable()
    env = {**os.environ, "DATABASE_URL": url, "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}
    output = tmp_path / "worker.log"
    with output.open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "shopstream", "worker"],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
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
