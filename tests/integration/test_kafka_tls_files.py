"""The local broker's key material, and the TLS settings of every Kafka client (no broker)."""

from __future__ import annotations

import ssl
import stat
import subprocess
from pathlib import Path

import pytest
from confluent_kafka import KafkaError
from pydantic import SecretStr

from shopstream.config import KafkaSettings, Settings
from shopstream.errors import ConfigurationError
from shopstream.kafka.admin import _refusal
from shopstream.kafka.config import check_security, consumer_config, security_config
from shopstream.localkafka.tls import TlsFiles
from tests.helpers import settings_from

KEY_PASSWORD = "k3y-Pa55word"  # noqa: S105 - a test key's


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return TlsFiles(tmp_path_factory.mktemp("state") / "tls").ensure()


def _files(tls: TlsFiles) -> list[Path]:
    return [tls.ca_cert, tls.ca_key, tls.broker_keystore, tls.client_cert, tls.client_key]


def test_the_key_material_is_readable_by_its_owner_only(tls: TlsFiles) -> None:
    assert stat.S_IMODE(tls.directory.stat().st_mode) == 0o700
    assert sorted(tls.directory.iterdir()) == sorted(_files(tls))  # nothing else left behind
    for path in _files(tls):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_the_ca_signed_a_broker_certificate_for_127_0_0_1_and_a_client_one(
    tls: TlsFiles,
) -> None:
    context = ssl.create_default_context(cafile=tls.ca_cert)  # verifies hostname and chain
    context.load_cert_chain(tls.client_cert, tls.client_key)
    names = subprocess.run(
        ["openssl", "x509", "-noout", "-ext", "subjectAltName,extendedKeyUsage"],
        input=tls.broker_keystore.read_bytes(),
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert "IP Address:127.0.0.1" in names
    assert "TLS Web Server Authentication" in names
    for cert in (tls.broker_keystore, tls.client_cert):
        verified = subprocess.run(
            ["openssl", "verify", "-CAfile", str(tls.ca_cert), str(cert)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert verified.returncode == 0, verified.stderr


def test_it_is_made_only_when_missing(tmp_path: Path) -> None:
    tls = TlsFiles(tmp_path / "tls").ensure()
    before = {path: path.read_bytes() for path in _files(tls)}
    tls.ensure()
    assert {path: path.read_bytes() for path in _files(tls)} == before
    tls.client_key.unlink()  # the client's pair only: the CA and the broker stay
    tls.ensure()
    assert tls.ca_cert.read_bytes() == before[tls.ca_cert]
    assert tls.broker_keystore.read_bytes() == before[tls.broker_keystore]
    assert tls.client_key.read_bytes() != before[tls.client_key]
    tls.ca_key.unlink()  # a new CA re-signs both certificates
    tls.ensure()
    assert tls.broker_keystore.read_bytes() != before[tls.broker_keystore]
    context = ssl.create_default_context(cafile=tls.ca_cert)
    context.load_cert_chain(tls.client_cert, tls.client_key)


def test_without_openssl_it_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigurationError, match=r"`openssl` was not found.*apt-get install"):
        TlsFiles(tmp_path / "tls").ensure()


def _encrypted_key(tls: TlsFiles, directory: Path) -> Path:
    path = directory / "client-encrypted.key"
    encrypt = ["-aes256", "-passout", f"pass:{KEY_PASSWORD}"]
    subprocess.run(
        ["openssl", "pkey", "-in", str(tls.client_key), "-out", str(path), *encrypt], check=True
    )
    return path


def test_a_client_certificate_reaches_librdkafka(tls: TlsFiles, tmp_path: Path) -> None:
    settings = Settings(
        kafka=KafkaSettings(
            security_protocol="SSL",
            ssl_ca_file=tls.ca_cert,
            ssl_cert_file=tls.client_cert,
            ssl_key_file=_encrypted_key(tls, tmp_path),
            ssl_key_password=SecretStr(KEY_PASSWORD),
        )
    )
    config = consumer_config(settings)
    assert config["security.protocol"] == "SSL"
    assert config["ssl.ca.location"] == str(tls.ca_cert)
    assert config["ssl.certificate.location"] == str(tls.client_cert)
    assert config["ssl.key.location"] == str(tmp_path / "client-encrypted.key")
    assert config["ssl.key.password"] == KEY_PASSWORD
    assert KEY_PASSWORD not in repr(settings)


def test_without_tls_settings_librdkafka_gets_none() -> None:
    config = security_config(Settings(kafka=KafkaSettings(security_protocol="SASL_SSL")))
    assert not [key for key in config if key.startswith("ssl.")]


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"KAFKA_SSL_CERT_FILE": "client.pem"}, "KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go"),
        ({"KAFKA_SSL_KEY_FILE": "client.key"}, "KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go"),
        ({"KAFKA_SSL_CA_FILE": "/nowhere/ca.pem"}, "KAFKA_SSL_CA_FILE=/nowhere/ca.pem is not"),
    ],
)
def test_an_unusable_tls_setting_is_one_line_naming_it(
    settings: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigurationError, match=named) as refused:
        check_security(settings_from(**settings))
    assert "\n" not in str(refused.value)


def test_a_wrong_key_password_is_named_and_not_shown(tls: TlsFiles, tmp_path: Path) -> None:
    settings = Settings(
        kafka=KafkaSettings(
            ssl_cert_file=tls.client_cert,
            ssl_key_file=_encrypted_key(tls, tmp_path),
            ssl_key_password=SecretStr("not-the-k3y-password"),
        )
    )
    with pytest.raises(ConfigurationError, match="KAFKA_SSL_KEY_PASSWORD") as refused:
        check_security(settings)
    assert "not-the-k3y-password" not in str(refused.value)


def test_a_key_of_another_certificate_is_refused(tls: TlsFiles, tmp_path: Path) -> None:
    other = TlsFiles(tmp_path / "other").ensure()
    settings = Settings(
        kafka=KafkaSettings(ssl_cert_file=tls.client_cert, ssl_key_file=other.client_key)
    )
    with pytest.raises(ConfigurationError, match="KEY_VALUES_MISMATCH"):
        check_security(settings)


@pytest.mark.parametrize(
    ("code", "reason", "told"),
    [
        (KafkaError._AUTHENTICATION, "SASL authentication error", "refused the credentials"),
        (KafkaError._SSL, "SSL handshake failed: certificate verify failed", "KAFKA_SSL_CA_FILE"),
        (
            KafkaError._TRANSPORT,
            "Receive failed: ssl/tls alert bad certificate: SSL alert number 42",
            "requires a client certificate its CA signed (KAFKA_SSL_CERT_FILE",
        ),
        (KafkaError._TRANSPORT, "Connect to ipv4#127.0.0.1:1 failed: Connection refused", None),
        (KafkaError._ALL_BROKERS_DOWN, "1/1 brokers are down", None),
    ],
)
def test_what_ends_a_connection_attempt_at_once(code: int, reason: str, told: str | None) -> None:
    said = _refusal(KafkaError(code, reason))
    if told is None:
        assert said is None  # the broker may yet come up: keep trying until the deadline
    else:
        assert said is not None
        assert told in said
        assert reason in said
