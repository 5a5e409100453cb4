"""Real Kafka brokers, started by the same launcher as ``shopstream kafka start``.

On free ports, in temporary state directories, sharing the jars in the repository's
``.kafka/libs``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shopstream.localkafka import LocalBroker
from shopstream.localkafka.cluster import LocalCluster
from shopstream.localkafka.properties import SaslListener, TlsListener
from testbed.pipeline import LIBS
from testbed.ports import free_port
from tests.helpers import SASL_PASSWORD, SASL_USER


def new_broker(state_dir: Path, *extra_config: str) -> LocalBroker:
    return LocalBroker(
        state_dir=state_dir,
        port=free_port(),
        controller_port=free_port(),
        libs_dir=LIBS,
        heap="512m",
        extra_config=extra_config,
    )


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    broker = new_broker(tmp_path_factory.mktemp("kafka"))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def secure_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    """A broker started as `shopstream kafka start --sasl --tls` starts it: SASL_PLAINTEXT,
    SSL (client certificate required) and SASL_SSL ports, its CA in ``tls_files``."""
    broker = LocalBroker(
        tmp_path_factory.mktemp("secure-kafka"),
        port=free_port(),
        controller_port=free_port(),
        libs_dir=LIBS,
        heap="512m",
        sasl=SaslListener(free_port(), SASL_USER, SASL_PASSWORD),
        tls=TlsListener(free_port(), free_port()),
    )
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def own_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    """A broker of the test's own, for tests that stop or kill it."""
    broker = new_broker(tmp_path_factory.mktemp("own-kafka"))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def forgetful_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    """A broker of the test's own that applies the topics' retention every half second
    (Kafka's default: every five minutes), to see history deleted while a test waits."""
    broker = new_broker(
        tmp_path_factory.mktemp("forgetful-kafka"), "log.retention.check.interval.ms=500"
    )
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """Started as `shopstream kafka start --brokers 3` starts it, on ports of its own."""
    # Node n uses port + 10 (n - 1): find a base whose six ports are all free.
    while True:
        port, controller = free_port(), free_port()
        if port + 30 < 65535 and controller + 30 < 65535:
            break
    cluster = LocalCluster(
        tmp_path_factory.mktemp("cluster"), 3, port, controller, libs_dir=LIBS, heap="384m"
    )
    cluster.start()
    yield cluster
    cluster.stop()
