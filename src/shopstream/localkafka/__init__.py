"""The local Apache Kafka that ``make up`` runs: one KRaft node or a quorum of them.

It ships with shopstream so that a first run needs no Kafka of its own, but it is apart
from the client code (``shopstream.kafka``), which talks to any Kafka the same way.
"""

from __future__ import annotations

import logging

from shopstream.config import Settings
from shopstream.errors import ConfigurationError
from shopstream.localkafka.broker import LocalBroker
from shopstream.localkafka.cluster import LocalCluster
from shopstream.localkafka.properties import SaslListener, TlsListener
from shopstream.localkafka.warmup import warm_up

__all__ = ["LocalBroker", "LocalCluster", "LocalKafka", "local_kafka", "start_warm", "warm"]

log = logging.getLogger(__name__)

LocalKafka = LocalBroker | LocalCluster


def start_warm(kafka: LocalKafka, settings: Settings) -> bool:
    """Start the local Kafka and warm it up; False if it was running (and is not warmed)."""
    if not kafka.start():
        return False
    warm(kafka, settings)
    return True


def warm(kafka: LocalKafka, settings: Settings) -> None:
    """Send a Kafka just started KAFKA_LOCAL_WARMUP_S of the pipeline's traffic (warmup.py)."""
    seconds = settings.local.warmup_s
    if seconds <= 0:
        return
    replicas = kafka.size if isinstance(kafka, LocalCluster) else 1
    done = warm_up(settings, kafka.bootstrap_servers, seconds, replicas)
    log.info(
        "kafka warmed up: %d messages published and read in %.1f s", done.published, done.seconds
    )


def local_kafka(
    settings: Settings, sasl: bool = False, brokers: int | None = None, tls: bool = False
) -> LocalKafka:
    """The local Kafka: one node, or ``brokers`` (KAFKA_LOCAL_BROKERS) nodes in a quorum.

    Without a count, a state directory already holding a cluster's nodes is that cluster,
    so ``kafka stop`` and ``status`` find what ``kafka start --brokers 3`` started.
    With ``sasl``, a SASL port for KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD too; with
    ``tls``, an SSL port for clients with a certificate of the broker's CA, and with both,
    a SASL_SSL port.
    """
    listener = None
    if sasl:
        password = settings.kafka.sasl_password
        if not settings.kafka.sasl_username or password is None:
            raise ConfigurationError(
                "a SASL listener needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD: "
                "the user it accepts"
            )
        listener = SaslListener(
            settings.local.sasl_port,
            settings.kafka.sasl_username,
            password.get_secret_value(),
        )
    tls_listener = (
        TlsListener(settings.local.ssl_port, settings.local.sasl_ssl_port) if tls else None
    )
    size = brokers or settings.local.brokers
    if brokers is None and size == 1:
        size = max(1, len(list(settings.local.state_dir.glob("node-*"))))
    if size > 1:
        return LocalCluster(
            state_dir=settings.local.state_dir,
            size=size,
            port=settings.local.port,
            controller_port=settings.local.controller_port,
            sasl=listener,
            tls=tls_listener,
        )
    return LocalBroker(
        state_dir=settings.local.state_dir,
        port=settings.local.port,
        controller_port=settings.local.controller_port,
        sasl=listener,
        tls=tls_listener,
    )
