"""How the local broker is configured and guarded (no broker is started here)."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from shopstream.config import KafkaSettings, LocalKafkaSettings, Settings
from shopstream.errors import BrokerError, ConfigurationError
from shopstream.localkafka import local_kafka
from shopstream.localkafka.broker import LocalBroker
from shopstream.localkafka.cluster import LocalCluster
from shopstream.localkafka.guard import (
    Port,
    ensure_ports_free,
    formatted_cluster_id,
    port_taken,
    start_lock,
    write_private,
)
from shopstream.localkafka.properties import TlsListener


def test_a_sasl_listener_needs_the_user_it_accepts(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"):
        local_kafka(Settings(local=LocalKafkaSettings(state_dir=tmp_path)), sasl=True)


def test_the_sasl_listener_takes_plain_and_scram_for_that_user(tmp_path: Path) -> None:
    settings = Settings(
        local=LocalKafkaSettings(state_dir=tmp_path, sasl_port=19094),
        kafka=KafkaSettings(sasl_username="till", sasl_password=SecretStr("s3cret")),
    )
    broker = local_kafka(settings, sasl=True)
    assert isinstance(broker, LocalBroker)
    assert broker.sasl is not None
    assert broker.sasl.bootstrap_servers == "127.0.0.1:19094"
    config = broker._write_config().read_text()
    assert "SASL_PLAINTEXT://127.0.0.1:19094" in config
    assert "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512" in config
    assert 'user_till="s3cret"' in config


def test_a_password_with_quotes_and_backslashes_reaches_the_broker_as_it_is(
    tmp_path: Path,
) -> None:
    settings = Settings(
        local=LocalKafkaSettings(state_dir=tmp_path),
        kafka=KafkaSettings(sasl_username="till", sasl_password=SecretStr('a"b\\c')),
    )
    config = local_kafka(settings, sasl=True)._write_config().read_text()  # type: ignore[union-attr]
    # JAAS escapes the quote and the backslash; the properties file doubles backslashes.
    assert 'user_till="a\\\\"b\\\\\\\\c";' in config


@pytest.mark.parametrize(
    ("username", "password", "named"),
    [
        ("till", "line\nbreak", "KAFKA_SASL_PASSWORD"),
        ("till two", "secret", "KAFKA_SASL_USERNAME"),
        ("till=x", "secret", "KAFKA_SASL_USERNAME"),
    ],
)
def test_a_user_the_broker_could_not_read_is_one_line_naming_it(
    tmp_path: Path, username: str, password: str, named: str
) -> None:
    settings = Settings(
        local=LocalKafkaSettings(state_dir=tmp_path),
        kafka=KafkaSettings(sasl_username=username, sasl_password=SecretStr(password)),
    )
    with pytest.raises(ConfigurationError, match=named) as refused:
        local_kafka(settings, sasl=True)
    assert password not in str(refused.value)


def test_without_sasl_there_is_only_the_plaintext_listener(tmp_path: Path) -> None:
    broker = local_kafka(Settings(local=LocalKafkaSettings(state_dir=tmp_path)))
    assert isinstance(broker, LocalBroker)
    config = broker._write_config().read_text()
    assert "SASL" not in config
    assert "controller.quorum.voters=1@127.0.0.1:9093" in config
    assert "min.insync.replicas=1" in config


def test_three_brokers_vote_for_each_other_and_replicate_three_times(tmp_path: Path) -> None:
    cluster = local_kafka(Settings(local=LocalKafkaSettings(state_dir=tmp_path)), brokers=3)
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
    assert isinstance(
        local_kafka(Settings(local=LocalKafkaSettings(state_dir=tmp_path))), LocalCluster
    )


def _secure_settings(tmp_path: Path) -> Settings:
    return Settings(
        local=LocalKafkaSettings(
            state_dir=tmp_path, sasl_port=19094, ssl_port=19095, sasl_ssl_port=19096
        ),
        kafka=KafkaSettings(sasl_username="till", sasl_password=SecretStr("s3cret")),
    )


def test_tls_adds_a_mutual_tls_port_and_with_sasl_a_sasl_ssl_port(tmp_path: Path) -> None:
    broker = local_kafka(_secure_settings(tmp_path), sasl=True, tls=True)
    assert isinstance(broker, LocalBroker)
    config = broker._write_config().read_text()
    listeners = (
        "listeners=PLAINTEXT://127.0.0.1:9092,SASL_PLAINTEXT://127.0.0.1:19094,"
        "SSL://127.0.0.1:19095,SASL_SSL://127.0.0.1:19096,CONTROLLER://127.0.0.1:9093"
    )
    assert listeners in config
    assert "listener.name.ssl.ssl.client.auth=required" in config  # SSL: a certificate or out
    assert "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=" in config
    assert f"ssl.keystore.location={(tmp_path / 'tls' / 'broker.pem').resolve()}" in config
    assert f"ssl.truststore.location={(tmp_path / 'tls' / 'ca.pem').resolve()}" in config
    assert "inter.broker.listener.name=PLAINTEXT" in config


def test_tls_without_sasl_opens_no_sasl_port(tmp_path: Path) -> None:
    broker = local_kafka(_secure_settings(tmp_path), tls=True)
    assert isinstance(broker, LocalBroker)
    config = broker._write_config().read_text()
    assert "SSL://127.0.0.1:19095" in config
    assert "SASL" not in config


def test_a_clusters_nodes_share_one_ca_on_ports_of_their_own(tmp_path: Path) -> None:
    cluster = local_kafka(_secure_settings(tmp_path), sasl=True, tls=True, brokers=3)
    assert isinstance(cluster, LocalCluster)
    nodes = cluster.nodes
    assert [node.tls for node in nodes] == [
        TlsListener(19095, 19096),
        TlsListener(19105, 19106),
        TlsListener(19115, 19116),
    ]
    assert {node.tls_files for node in nodes} == {cluster.tls_files}


def test_server_properties_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    config = tmp_path / "server.properties"
    config.write_text("written by an older shopstream\n")
    config.chmod(0o644)
    broker = local_kafka(_secure_settings(tmp_path), sasl=True)
    assert broker._write_config() == config.resolve()  # type: ignore[union-attr]
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert 'user_till="s3cret"' in config.read_text()


def test_every_port_is_named_with_the_setting_that_moves_it(tmp_path: Path) -> None:
    broker = local_kafka(_secure_settings(tmp_path), sasl=True, tls=True)
    assert broker.ports() == [  # type: ignore[union-attr]
        Port(9092, "client port", "KAFKA_LOCAL_PORT"),
        Port(19094, "SASL port", "KAFKA_LOCAL_SASL_PORT"),
        Port(19095, "SSL port", "KAFKA_LOCAL_SSL_PORT"),
        Port(19096, "SASL_SSL port", "KAFKA_LOCAL_SASL_SSL_PORT"),
        Port(9093, "controller port", "KAFKA_LOCAL_CONTROLLER_PORT"),
    ]
    cluster = local_kafka(Settings(local=LocalKafkaSettings(state_dir=tmp_path)), brokers=3)
    assert isinstance(cluster, LocalCluster)
    assert cluster.nodes[1].ports()[0] == Port(9102, "node 2's client port", "KAFKA_LOCAL_PORT")


def test_a_held_port_is_one_line_naming_it_and_its_setting() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert port_taken("127.0.0.1", port)
        with pytest.raises(BrokerError) as refused:
            ensure_ports_free("127.0.0.1", [Port(port, "SSL port", "KAFKA_LOCAL_SSL_PORT")])
    message = str(refused.value)
    assert "\n" not in message
    assert f"port {port} on 127.0.0.1 (SSL port) is held by another process" in message
    assert "set KAFKA_LOCAL_SSL_PORT to a free port" in message


def test_a_second_start_waits_for_the_first_and_names_it(tmp_path: Path) -> None:
    held = rf"\(pid {os.getpid()}\) has been starting"
    with start_lock(tmp_path, timeout=1), pytest.raises(BrokerError, match=held):  # noqa: SIM117
        with start_lock(tmp_path, timeout=0.3):
            pass  # never reached
    with start_lock(tmp_path, timeout=0.3):  # released with its holder
        pass


def test_the_cluster_id_is_read_from_the_formatted_storage(tmp_path: Path) -> None:
    assert formatted_cluster_id(tmp_path) is None
    (tmp_path / "meta.properties").write_text(
        "#\n#Mon Dec 01 20:40:32 UTC 2026\nnode.id=1\ndirectory.id=x\nversion=1\n"
        "cluster.id=-mh8oG2QS2qfXMj1a0GgMg\n"
    )
    assert formatted_cluster_id(tmp_path) == "-mh8oG2QS2qfXMj1a0GgMg"


def test_write_private_also_closes_a_file_others_could_read(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text("old")
    path.chmod(0o644)
    write_private(path, b"new")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == b"new"


def test_stop_without_a_state_directory_leaves_none_behind(tmp_path: Path) -> None:
    assert not LocalBroker(tmp_path / ".kafka").stop()
    assert not LocalCluster(tmp_path / ".kafka").stop()
    assert not (tmp_path / ".kafka").exists()
