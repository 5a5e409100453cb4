"""How the local broker is configured (no broker is started here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from shopstream.config import Settings
from shopstream.errors import ConfigurationError
from shopstream.kafka.broker import LocalBroker
from shopstream.kafka.cluster import LocalCluster
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
    assert isinstance(broker, LocalBroker)
    assert broker.sasl is not None
    assert broker.sasl.bootstrap_servers == "127.0.0.1:19094"
    config = broker._write_config().read_text()
    assert "SASL_PLAINTEXT://127.0.0.1:19094" in config
    assert "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512" in config
    assert 'user_till="s3cret"' in config


def test_without_sasl_there_is_only_the_plaintext_listener(tmp_path: Path) -> None:
    broker = local_broker(Settings(kafka_state_dir=tmp_path))
    assert isinstance(broker, LocalBroker)
    config = broker._write_config().read_text()
    assert "SASL" not in config
    assert "controller.quorum.voters=1@127.0.0.1:9093" in config
    assert "min.insync.replicas=1" in config


def test_three_brokers_vote_for_each_other_and_replicate_three_times(tmp_path: Path) -> None:
    cluster = local_broker(Settings(kafka_state_dir=tmp_path), brokers=3)
    assert isinstance(cluster, LocalCluster)
    assert cluster.bootstrap_servers == "127.0.0.1:9092,127.0.0.1:9102,127.0.0.1:9112"
    for node in cluster.nodes:
        node.state_dir.mkdir(parents=True)
    configs = [node._write_config().read_text() for node in cluster.nodes]
    voters = "controller.quorum.voters=1@127.0.0.1:9093,2@127.0.0.1:9103,3@127.0.0.1:9113"
    for number, config in enumerate(configs, start=1):
        assert f"node.id={number}" in config
        assert voters in config
        assert "default.replication.factor=3" in config
        assert "min.insync.replicas=2" in config
    assert len({node.cluster_id for node in cluster.nodes}) == 1
    # Found again by kafka stop / status, which are not told the size.
    assert isinstance(local_broker(Settings(kafka_state_dir=tmp_path)), LocalCluster)
