"""``shopstream kafka``: the local broker (or cluster): start, stop, status."""

from __future__ import annotations

import signal
from typing import Annotated

import typer

from shopstream.cli.app import command_settings, console, kafka_app
from shopstream.kafka.admin import broker_answers
from shopstream.kafka.config import client_config
from shopstream.localkafka import local_kafka, start_warm


@kafka_app.command("start")
def kafka_start(
    sasl: Annotated[
        bool,
        typer.Option(
            help="Also listen on KAFKA_LOCAL_SASL_PORT for SASL_PLAINTEXT clients (PLAIN, "
            "SCRAM-SHA-256/512) as KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD, like a cloud Kafka."
        ),
    ] = False,
    tls: Annotated[
        bool,
        typer.Option(
            help="Also listen on KAFKA_LOCAL_SSL_PORT for SSL clients with a certificate of "
            "the broker's own CA (made in KAFKA_STATE_DIR/tls), and with --sasl on "
            "KAFKA_LOCAL_SASL_SSL_PORT for SASL_SSL clients."
        ),
    ] = False,
    brokers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=9,
            help="Nodes, each broker and controller (3: a quorum that survives one down). "
            "Default: KAFKA_LOCAL_BROKERS",
        ),
    ] = None,
) -> None:
    """Start the local broker (or cluster); returns once it answers."""
    settings = command_settings()
    # SIGTERM as Ctrl-C: a start stopped before its broker answers takes the JVM down with it.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    broker = local_kafka(settings, sasl=sasl, brokers=brokers, tls=tls)
    if not settings.uses_local_broker and not (sasl or tls):
        console.print(f"KAFKA_BOOTSTRAP_SERVERS={settings.bootstrap_servers}: nothing to start")
        return
    started = start_warm(broker, settings)
    console.print(
        f"kafka {'started' if started else 'already running'} at {broker.bootstrap_servers}"
        f" (log: {broker.log_file})"
    )
    if broker.sasl is not None:
        state = "SASL" if started else "SASL (if it was started with --sasl)"
        console.print(f"{state} clients: {broker.sasl.bootstrap_servers}")
    if broker.tls is not None:
        files = broker.tls_files
        state = "TLS" if started else "TLS (if it was started with --tls)"
        sasl_ssl = f", SASL_SSL at {broker.tls.sasl_bootstrap_servers}" if broker.sasl else ""
        console.print(
            f"{state} clients: SSL at {broker.tls.bootstrap_servers}{sasl_ssl}; "
            f"KAFKA_SSL_CA_FILE={files.ca_cert} KAFKA_SSL_CERT_FILE={files.client_cert} "
            f"KAFKA_SSL_KEY_FILE={files.client_key} (the certificate SSL requires)",
            soft_wrap=True,
        )


@kafka_app.command("stop")
def kafka_stop() -> None:
    """Stop the local broker gracefully."""
    stopped = local_kafka(command_settings()).stop()
    console.print("kafka stopped" if stopped else "kafka was not running")


@kafka_app.command("status")
def kafka_status() -> None:
    """Exit 0 only if a broker answers at the configured address."""
    settings = command_settings()
    broker = local_kafka(settings)
    if broker_answers(client_config(settings, "status")):
        pid = broker.pid() if settings.uses_local_broker else None
        console.print(
            f"kafka answers at {settings.bootstrap_servers}" + (f" (pid {pid})" if pid else "")
        )
        return
    console.print(f"no kafka broker answers at {settings.bootstrap_servers}")
    raise typer.Exit(1)
