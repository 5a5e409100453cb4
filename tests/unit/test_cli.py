"""The command line: errors are one readable line, settings come from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopstream.config import Settings
from tests.helpers import Command


def test_without_java_kafka_start_says_what_to_install(
    tmp_path: Path, command: Command, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = command(
        "kafka", "start", PATH=str(tmp_path), KAFKA_LOCAL_PORT="1", KAFKA_STATE_DIR=str(tmp_path)
    )
    assert result.returncode == 1
    assert "`java` was not found" in result.stderr
    assert "KAFKA_BOOTSTRAP_SERVERS" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_bad_database_url_is_one_line(command: Command) -> None:
    result = command("worker", DATABASE_URL="mysql://nope")
    assert result.returncode == 2  # an invalid setting
    assert "DATABASE_URL='mysql://nope'" in result.stderr
    assert "Traceback" not in result.stderr


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka-1:9092,kafka-2:9092")
    monkeypatch.setenv("KAFKA_TOPIC", "shop")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///shop.db")
    settings = Settings()
    assert settings.bootstrap_servers == "kafka-1:9092,kafka-2:9092"
    assert not settings.uses_local_broker
    assert settings.kafka.dead_letter_topic == "shop.dlq"
    assert settings.store.database_url.get_secret_value() == "sqlite:///shop.db"


def test_without_a_broker_address_the_local_broker_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setenv("KAFKA_LOCAL_PORT", "19092")
    settings = Settings()
    assert settings.uses_local_broker
    assert settings.bootstrap_servers == "127.0.0.1:19092"
    assert settings.kafka.topic == "delhaize_shop"


def test_an_error_is_one_line_whatever_the_width_and_shown_as_written(command: Command) -> None:
    url = "mysql://[/b][link=https://evil.example]shop[/link]/" + "a-long-path-" * 12
    result = command("report", DATABASE_URL=url, COLUMNS="40")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()  # not hard-wrapped at 40 columns
    assert line.startswith(f"error: DATABASE_URL='{url}' is not a store shopstream knows")
    assert len(line) > 200


def test_an_invalid_setting_is_one_line_naming_it_without_its_value(command: Command) -> None:
    result = command("report", KAFKA_PARTITIONS="0", COLUMNS="40")
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line == "error: invalid settings: KAFKA_PARTITIONS: must be a whole number, at least 1"


@pytest.mark.parametrize(
    ("environment", "trusted"), [({}, False), ({"API_PROXY_HEADERS": "true"}, True)]
)
def test_the_api_takes_forwarded_addresses_only_when_asked(
    command: Command, monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], trusted: bool
) -> None:
    served: dict[str, object] = {}
    monkeypatch.setattr("uvicorn.run", lambda *_, **options: served.update(options))
    assert command("api", **environment).returncode == 0
    assert served["proxy_headers"] is trusted
