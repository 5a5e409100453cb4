"""A cloud-like Kafka: the local broker's SASL listener, right and wrong credentials."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

from shopstream.kafka.admin import broker_answers
from shopstream.kafka.config import client_config
from shopstream.localkafka.broker import LocalBroker
from testbed.pipeline import MakePipeline
from tests.helpers import EXAMPLE_TICKET, SASL_PASSWORD, SASL_USER, fails_fast, settings_from

pytestmark = pytest.mark.integration

USER, PASSWORD, WRONG = SASL_USER, SASL_PASSWORD, "not-the-Pa55word"


@pytest.fixture
def sasl_broker(secure_kafka: LocalBroker) -> LocalBroker:
    """The session's broker started as `shopstream kafka start --sasl --tls` starts it."""
    return secure_kafka


def _client_env(broker: LocalBroker, mechanism: str, password: str) -> dict[str, str]:
    assert broker.sasl is not None
    return {
        "KAFKA_BOOTSTRAP_SERVERS": broker.sasl.bootstrap_servers,
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_MECHANISM": mechanism,
        "KAFKA_SASL_USERNAME": USER,
        "KAFKA_SASL_PASSWORD": password,
    }


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_each_mechanism_is_accepted_with_the_right_password(
    sasl_broker: LocalBroker, mechanism: str
) -> None:
    settings = settings_from(**_client_env(sasl_broker, mechanism, PASSWORD))
    assert broker_answers(client_config(settings, "test"), timeout=10)


def test_the_pipeline_runs_over_sasl(
    sasl_broker: LocalBroker, tmp_path: Path, make_pipeline: MakePipeline
) -> None:
    pipeline = make_pipeline(**_client_env(sasl_broker, "SCRAM-SHA-256", PASSWORD))
    pipeline.start_api()
    pipeline.start_worker()
    response = httpx2.post(f"{pipeline.url}/data", json=EXAMPLE_TICKET, timeout=10)
    assert response.status_code == 202
    pipeline.wait_stored([EXAMPLE_TICKET["id"]])
    assert PASSWORD not in pipeline.logs()


@pytest.mark.parametrize("command", [["worker"], ["api", "--port", "0"], ["kafka", "status"]])
def test_a_wrong_password_fails_fast_and_says_why(
    sasl_broker: LocalBroker, tmp_path: Path, command: list[str], make_pipeline: MakePipeline
) -> None:
    env = make_pipeline(**_client_env(sasl_broker, "SCRAM-SHA-512", WRONG)).env
    fails_fast(command, env, tmp_path, ["Kafka refused the credentials"], secret=WRONG)
