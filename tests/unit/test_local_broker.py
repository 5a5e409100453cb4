"""How the local broker is configured (no broker is started here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from shopstream.config import Settings
from shopstream.errors import ConfigurationError
from shopstream.up import local_broker


def test_a_sasl_listener_needs_the_user_it_accepts(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"):
        local_broker(Settings(kafka_state_dir=tmp_path), sasl=True)


def test_the_sasl_listener_takes_plain_and_scram_for_that_user(tmp_path: Path) -> None:
    settings = Settings(
        kafka_state_dir=tmp_path,
        kafka_local_sasl_port=19094,
        kafka_sasl_username="till",
        kafka_sasl_password=SecretStr("s3cret"),
    )
    broker = local_broker(settings, sasl=True)
    assert broker.sasl is not None
    assert broker.sasl.bootstrap_servers == "127.0.0.1:19094"
    config = broker._write_config().read_text()
    assert "SASL_PLAINTEXT://127.0.0.1:19094" in config
    assert "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512" in config
    assert 'user_till="s3cret"' in config


def test_without_sasl_there_is_only_the_plaintext_listener(tmp_path: Path) -> None:
    config = local_broker(Settings(kafka_state_dir=tmp_path))._write_config().read_text()
    assert "SASL" not in config
