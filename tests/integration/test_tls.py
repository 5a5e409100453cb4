"""TLS as cloud Kafka speaks it: SASL_SSL and mutual-TLS SSL on the local broker.

The pipeline (API and worker as processes) runs over each; a wrong CA, no CA and a
missing or foreign client certificate end the worker, the API and `kafka status` at
once with the reason, never a hang.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import httpx2
import pytest

from shopstream.localkafka.broker import LocalBroker
from shopstream.localkafka.tls import TlsFiles
from testbed.pipeline import MakePipeline
from tests.helpers import SASL_PASSWORD, SASL_USER, fails_fast, ticket

pytestmark = pytest.mark.integration

TICKETS = 200
KEY_PASSWORD = "cl1ent-k3y-Pa55"  # noqa: S105 - the test client key's
COMMANDS = [["worker"], ["api", "--port", "0"], ["kafka", "status"]]


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """Key material of another CA: a client of it must trust nothing the broker shows."""
    return TlsFiles(tmp_path_factory.mktemp("other-ca") / "tls").ensure()


@pytest.fixture(scope="module")
def encrypted_client_key(
    secure_kafka: LocalBroker, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The broker CA's client key, encrypted with KEY_PASSWORD."""
    path = tmp_path_factory.mktemp("client") / "client.key"
    encrypt = ["-aes256", "-passout", f"pass:{KEY_PASSWORD}"]
    key = str(secure_kafka.tls_files.client_key)
    subprocess.run(["openssl", "pkey", "-in", key, "-out", str(path), *encrypt], check=True)
    return path


def _sasl_ssl(broker: LocalBroker, mechanism: str, ca: Path | None) -> dict[str, str]:
    assert broker.tls is not None
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": broker.tls.sasl_bootstrap_servers,
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": mechanism,
        "KAFKA_SASL_USERNAME": SASL_USER,
        "KAFKA_SASL_PASSWORD": SASL_PASSWORD,
    }
    return env | ({"KAFKA_SSL_CA_FILE": str(ca)} if ca else {})


def _ssl(broker: LocalBroker, ca: Path | None, client: TlsFiles | None) -> dict[str, str]:
    assert broker.tls is not None
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": broker.tls.bootstrap_servers,
        "KAFKA_SECURITY_PROTOCOL": "SSL",
    }
    if ca:
        env["KAFKA_SSL_CA_FILE"] = str(ca)
    if client:
        env["KAFKA_SSL_CERT_FILE"] = str(client.client_cert)
        env["KAFKA_SSL_KEY_FILE"] = str(client.client_key)
    return env


def _post_and_store(label: str, make_pipeline: MakePipeline, env: dict[str, str]) -> None:
    """TICKETS posted one by one: every one acknowledged (202) and stored once."""
    pipeline = make_pipeline(**env)
    pipeline.start_api()
    pipeline.start_worker()
    ids = [f"tls-{uuid.uuid4().hex[:8]}-{n}" for n in range(TICKETS)]
    with httpx2.Client(base_url=pipeline.url, timeout=10) as client:
        acknowledged = [i for i in ids if client.post("/data", json=ticket(i)).status_code == 202]
    pipeline.wait_stored(ids)
    stored = pipeline.store.count()
    print(f"{label}: acknowledged {len(acknowledged)} stored {stored}")
    assert acknowledged == ids
    assert stored == len(ids)
    logs = pipeline.logs()
    for secret in (SASL_PASSWORD, KEY_PASSWORD):
        assert secret not in logs


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-512"])
def test_the_pipeline_runs_over_sasl_ssl(
    secure_kafka: LocalBroker, make_pipeline: MakePipeline, mechanism: str
) -> None:
    env = _sasl_ssl(secure_kafka, mechanism, secure_kafka.tls_files.ca_cert)
    _post_and_store(f"SASL_SSL {mechanism}", make_pipeline, env)


def test_the_pipeline_runs_over_ssl_with_a_client_certificate(
    secure_kafka: LocalBroker, make_pipeline: MakePipeline, encrypted_client_key: Path
) -> None:
    files = secure_kafka.tls_files
    env = _ssl(secure_kafka, files.ca_cert, files) | {
        "KAFKA_SSL_KEY_FILE": str(encrypted_client_key),
        "KAFKA_SSL_KEY_PASSWORD": KEY_PASSWORD,
    }
    _post_and_store("SSL, client certificate", make_pipeline, env)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("protocol", ["SSL", "SASL_SSL"])
def test_a_wrong_ca_fails_fast_naming_the_certificate_problem(
    secure_kafka: LocalBroker,
    other_ca: TlsFiles,
    make_pipeline: MakePipeline,
    tmp_path: Path,
    protocol: str,
    command: list[str],
) -> None:
    if protocol == "SSL":
        security = _ssl(secure_kafka, other_ca.ca_cert, secure_kafka.tls_files)
    else:
        security = _sasl_ssl(secure_kafka, "SCRAM-SHA-512", other_ca.ca_cert)
    env = make_pipeline(**security).env
    said = ["the TLS handshake with Kafka failed (KAFKA_SSL_CA_FILE)", "certificate verify failed"]
    fails_fast(command, env, tmp_path, said, secret=SASL_PASSWORD)


def test_without_kafka_ssl_ca_file_the_local_ca_is_not_trusted(
    secure_kafka: LocalBroker, make_pipeline: MakePipeline, tmp_path: Path
) -> None:
    """The system's CAs do not know the broker's: what works above is KAFKA_SSL_CA_FILE."""
    env = make_pipeline(**_sasl_ssl(secure_kafka, "PLAIN", ca=None)).env
    fails_fast(
        ["kafka", "status"], env, tmp_path, ["certificate verify failed"], secret=SASL_PASSWORD
    )


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_client_without_a_certificate_is_refused_clearly(
    secure_kafka: LocalBroker, make_pipeline: MakePipeline, tmp_path: Path, command: list[str]
) -> None:
    env = make_pipeline(**_ssl(secure_kafka, secure_kafka.tls_files.ca_cert, None)).env
    said = "Kafka refused the TLS connection: it requires a client certificate its CA signed"
    fails_fast(command, env, tmp_path, [said, "KAFKA_SSL_CERT_FILE"], secret=SASL_PASSWORD)


def test_a_certificate_of_another_ca_is_refused_clearly(
    secure_kafka: LocalBroker, other_ca: TlsFiles, make_pipeline: MakePipeline, tmp_path: Path
) -> None:
    env = make_pipeline(**_ssl(secure_kafka, secure_kafka.tls_files.ca_cert, other_ca)).env
    said = "Kafka refused the TLS connection: it requires a client certificate its CA signed"
    fails_fast(["kafka", "status"], env, tmp_path, [said], secret=SASL_PASSWORD)
