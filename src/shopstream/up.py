"""``shopstream up``: the local broker (unless one is configured), the API and a worker.

The API and the worker run as child processes of one supervisor, each with its output
prefixed by its name. Ctrl-C (or SIGTERM) stops them gracefully, then the broker if this
command started it. ``shopstream worker --processes N`` runs N workers the same way.
"""

from __future__ import annotations

import logging
import os

from shopstream.config import Settings
from shopstream.localkafka import LocalCluster, local_kafka
from shopstream.supervise import Supervisor, stop_on_signals

log = logging.getLogger(__name__)


def run_pipeline(settings: Settings) -> int:
    """Run everything until Ctrl-C or a part exits; the exit status of the first to fail."""
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
        with Supervisor(env) as children:
            children.forward_hangups("worker")
            children.start("api", "api")
            children.start("worker", "worker")
            log.info(
                "shopstream up: POST tickets to http://%s:%d/data (API docs at /docs), stored "
                "in %s; Kafka at %s, topic %s. Ctrl-C stops everything.",
                settings.api.host,
                settings.api.port,
                settings.store.database_url,
                env["KAFKA_BOOTSTRAP_SERVERS"],
                settings.kafka.topic,
            )
            status = children.watch(stopped)
            if not status:
                log.info("stopping")
    finally:
        if broker and started_broker:
            broker.stop()
            log.info("kafka broker stopped")
    return status


def run_workers(count: int) -> int:
    """``shopstream worker --processes N``: N workers in one group, a crashed one replaced."""
    stopped = stop_on_signals()
    with Supervisor(os.environ) as children:
        names = [f"w{n}" for n in range(1, count + 1)]
        children.forward_hangups(*names)
        for name in names:
            children.start(name, "worker", restart=True)
        return children.watch(stopped)
