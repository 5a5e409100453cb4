"""``shopstream up``: the local broker (unless one is configured), the API and a worker.

The API and the worker run as child processes of one supervisor, each with its output
prefixed by its name. Ctrl-C (or SIGTERM) stops them gracefully, then the broker if this
command started it. ``shopstream worker --processes N`` runs N workers the same way.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from shopstream.config import Settings
from shopstream.kafka.admin import group_assigned
from shopstream.localkafka import LocalCluster, local_kafka, warm
from shopstream.metrics import exposed, forget_process, shared_by_processes
from shopstream.metrics_http import MetricsServer
from shopstream.status import api_state, api_url
from shopstream.supervise import Supervisor, stop_on_signals

log = logging.getLogger(__name__)

_READY_POLL_S = 0.1


def run_pipeline(settings: Settings) -> int:
    """Run everything until Ctrl-C or a part exits; the exit status of the first to fail."""
    begun = time.monotonic()
    stopped = stop_on_signals()
    broker = local_kafka(settings) if settings.uses_local_broker else None
    started_broker = broker.start() if broker else False
    if broker and not started_broker:
        log.info("kafka broker already running at %s", broker.bootstrap_servers)
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers}
    if isinstance(broker, LocalCluster):
        env["KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrap_servers
        # Replicated on every node unless asked otherwise: one may then die.
        env.setdefault("KAFKA_REPLICATION_FACTOR", str(broker.size))
    try:
        with Supervisor(env, json_lines=settings.log_format == "json") as children:
            children.forward_hangups("worker")
            children.start("api", "api")
            children.start("worker", "worker")
            if broker and started_broker:
                warm(broker, settings)  # while they start up: neither waits for the other
            ready = threading.Thread(
                target=_report_ready,
                args=(settings, env["KAFKA_BOOTSTRAP_SERVERS"], begun, stopped),
                name="ready",
                daemon=True,
            )
            ready.start()
            status = children.watch(stopped)
            if not status:
                log.info("stopping")
    finally:
        if broker and started_broker:
            broker.stop()
            log.info("kafka broker stopped")
    return status


def _report_ready(
    settings: Settings, bootstrap_servers: str, begun: float, stopped: threading.Event
) -> None:
    """Say so once the API is ready and the worker has the partitions: tickets then flow."""
    api = api_url(settings)
    kafka = settings.kafka.model_copy(update={"bootstrap_servers": bootstrap_servers})
    cluster = settings.model_copy(update={"kafka": kafka})
    while not stopped.wait(_READY_POLL_S):
        if api_state(api).ready and group_assigned(cluster):
            break
    else:
        return
    log.info(
        "shopstream ready in %.1f s: POST tickets to %s/data (API docs at /docs), stored in "
        "%s; Kafka at %s, topic %s. Ctrl-C stops everything.",
        time.monotonic() - begun,
        api,
        settings.store.database_url,
        bootstrap_servers,
        settings.kafka.topic,
    )


def run_workers(settings: Settings, count: int) -> int:
    """``shopstream worker --processes N``: N workers in one group, a crashed one replaced.

    This process serves their ``/metrics``, summed; they serve none of their own.
    """
    stopped = stop_on_signals()
    with shared_by_processes():
        server = MetricsServer(settings, exposed(None))
        env = {**os.environ, "WORKER_METRICS_PORT": "0"}
        try:
            with Supervisor(
                env, json_lines=settings.log_format == "json", on_exit=forget_process
            ) as children:
                names = [f"w{n}" for n in range(1, count + 1)]
                children.forward_hangups(*names)
                for name in names:
                    # --processes 1: each is one worker, whatever WORKER_PROCESSES says.
                    children.start(name, "worker", "--processes", "1", restart=True)
                return children.watch(stopped)
        finally:
            server.close()
