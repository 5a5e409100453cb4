"""librdkafka configuration for each kind of client, built here and only here.

Every client starts from ``plain_config`` (the brokers, a client id, logging through
``logging``); ``client_config`` adds how to authenticate from the settings, and the
producer, consumer and admin configurations are built on that.
"""

from __future__ import annotations

import logging
import os
import socket
import ssl
from typing import Any

from shopstream.config import Settings
from shopstream.errors import ConfigurationError

_client_log = logging.getLogger("shopstream.kafka.client")
# librdkafka warns of retries it makes on its own while a broker just started loads its
# coordinators: every producer of a fresh `make up` printed one. Debugging detail for us.
_RETRIED_WHILE_LOADING = "Coordinator load in progress: retrying"


def _while_loading_is_debug(record: logging.LogRecord) -> bool:
    if record.levelno == logging.WARNING and _RETRIED_WHILE_LOADING in record.getMessage():
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return _client_log.isEnabledFor(logging.DEBUG)
    return True


_client_log.addFilter(_while_loading_is_debug)
_FETCH_MIN_BYTES = 64 * 1024
# What a record batch adds to a message's value on the broker, and what the dead-letter
# headers add on top of that.
_RECORD_OVERHEAD = 64 * 1024
# Kafka's default max.message.bytes. The limit is on a record batch, not a message: a topic
# below it refuses the batches that any producer with default settings makes under load
# (librdkafka's batch.size is 1,000,000 bytes).
_KAFKA_DEFAULT_MESSAGE_BYTES = 1_048_588


def _log_client_error(error: Any) -> None:
    _client_log.warning("kafka: %s", error)


def client_id(role: str) -> str:
    return f"shopstream-{role}-{socket.gethostname()}-{os.getpid()}"


def security_config(settings: Settings) -> dict[str, Any]:
    """How to reach and authenticate to the brokers (enough for Confluent Cloud, Aiven, MSK)."""
    config: dict[str, Any] = {"security.protocol": settings.kafka.security_protocol}
    if settings.kafka.security_protocol.startswith("SASL"):
        password = settings.kafka.sasl_password
        config |= {
            "sasl.mechanism": settings.kafka.sasl_mechanism,
            "sasl.username": settings.kafka.sasl_username or "",
            "sasl.password": password.get_secret_value() if password else "",
        }
    if settings.kafka.ssl_ca_file is not None:
        config["ssl.ca.location"] = str(settings.kafka.ssl_ca_file)
    certificate = _client_certificate(settings)
    if settings.kafka.ssl_ca_file is not None or certificate:
        _check_tls_files(settings, certificate)
    return config | certificate


def check_security(settings: Settings) -> None:
    """Raise one line naming a Kafka security setting that cannot work, before any client."""
    security_config(settings)


def _client_certificate(settings: Settings) -> dict[str, Any]:
    """Mutual TLS: the certificate the client shows, for brokers that require one."""
    cert, key = settings.kafka.ssl_cert_file, settings.kafka.ssl_key_file
    if cert is None and key is None:
        return {}
    if cert is None or key is None:
        raise ConfigurationError(
            "KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together: a client certificate "
            "and its private key"
        )
    config: dict[str, Any] = {"ssl.certificate.location": str(cert), "ssl.key.location": str(key)}
    if settings.kafka.ssl_key_password is not None:
        config["ssl.key.password"] = settings.kafka.ssl_key_password.get_secret_value()
    return config


def _check_tls_files(settings: Settings, certificate: dict[str, Any]) -> None:
    """Raise one line naming the TLS setting whose file cannot be used, before any client.

    librdkafka would refuse such a file only when a client is made, with an exception
    that does not name the setting; OpenSSL reads them here the same way.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if settings.kafka.ssl_ca_file is not None:
        try:
            context.load_verify_locations(settings.kafka.ssl_ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(
                f"KAFKA_SSL_CA_FILE={settings.kafka.ssl_ca_file} is not a readable PEM CA "
                f"bundle: {exc}"
            ) from None
    if certificate:
        try:
            context.load_cert_chain(
                certificate["ssl.certificate.location"],
                certificate["ssl.key.location"],
                # Never None: OpenSSL would then ask for an encrypted key's password on the tty.
                certificate.get("ssl.key.password", ""),
            )
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(
                f"KAFKA_SSL_CERT_FILE={settings.kafka.ssl_cert_file} with KAFKA_SSL_KEY_FILE="
                f"{settings.kafka.ssl_key_file} (and KAFKA_SSL_KEY_PASSWORD if encrypted) "
                f"cannot be used: {exc}"
            ) from None


def plain_config(bootstrap_servers: str, role: str) -> dict[str, Any]:
    """What every client shares: the brokers, a client id, and logging through ``logging``.

    As is, for a broker's PLAINTEXT port (the local broker checking itself).
    """
    return {
        "bootstrap.servers": bootstrap_servers,
        "client.id": client_id(role),
        "logger": _client_log,
        "error_cb": _log_client_error,
    }


def client_config(settings: Settings, role: str) -> dict[str, Any]:
    """A client of the configured brokers, with the configured security."""
    return plain_config(settings.bootstrap_servers, role) | security_config(settings)


def message_limit(settings: Settings, dead_letters: bool = False) -> int:
    """The largest message, in bytes, the ticket topic (or the dead-letter topic) takes.

    Larger than any ticket the API publishes (``MAX_TICKET_BYTES``), so Kafka never refuses
    an accepted ticket for its size, and never below Kafka's default, so a producer's
    batches fit; the dead-letter topic takes any ticket-topic message and its headers.
    """
    limit = max(_KAFKA_DEFAULT_MESSAGE_BYTES, settings.kafka.max_ticket_bytes + _RECORD_OVERHEAD)
    return limit + _RECORD_OVERHEAD if dead_letters else limit


def producer_config(settings: Settings, role: str, dead_letters: bool = False) -> dict[str, Any]:
    """An idempotent producer whose every message is acknowledged by all in-sync replicas.

    ``message.timeout.ms`` bounds how long a message may wait for its ack, so a caller
    hears of a broker outage within ``PUBLISH_TIMEOUT_S`` rather than hanging.
    """
    return {
        **client_config(settings, role),
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": settings.kafka.linger_ms,
        "message.timeout.ms": int(settings.kafka.publish_timeout_s * 1000),
        # Bound the local queue: past it the API sheds load (503) instead of growing.
        "queue.buffering.max.kbytes": 32 * 1024,
        "queue.buffering.max.messages": settings.kafka.queue_max_messages,
        "message.max.bytes": message_limit(settings, dead_letters),
    }


def consumer_config(settings: Settings) -> dict[str, Any]:
    """A group member that commits only offsets the worker stored after the store write.

    Auto-commit stays on but commits nothing the worker has not explicitly stored with
    ``store_offsets`` (``enable.auto.offset.store`` off): the usual at-least-once set-up.

    Under load, a fetch answered as soon as one message arrives makes one tiny batch (and
    one store write) per message; letting the broker wait up to ``WORKER_FETCH_WAIT_MS``
    for 64 KiB cut the worker's and the broker's CPU per ticket by two thirds and a half
    at 64 connections, for at most that many milliseconds more before a ticket is stored.
    """
    return {
        **client_config(settings, "worker"),
        "group.id": settings.worker.group,
        "enable.auto.commit": True,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "partition.assignment.strategy": "cooperative-sticky",
        "session.timeout.ms": settings.worker.session_timeout_ms,
        "fetch.min.bytes": _FETCH_MIN_BYTES,
        "fetch.wait.max.ms": settings.worker.fetch_wait_ms,
    }
