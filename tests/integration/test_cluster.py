"""Three KRaft nodes on this machine; one SIGKILLed under load and brought back."""

from __future__ import annotations

import pytest
from confluent_kafka.admin import AdminClient

from shopstream.localkafka.cluster import LocalCluster
from shopstream.supervise import wait_for
from testbed.pipeline import MakePipeline
from testbed.postgres import PostgresServer
from tests.faults.harness import finish, let_some_through, load_on

pytestmark = pytest.mark.integration


def _fully_replicated(cluster: LocalCluster, topic: str) -> bool:
    """Every partition of ``topic`` has its three replicas in sync (the killed one is back)."""
    metadata = AdminClient({"bootstrap.servers": cluster.bootstrap_servers}).list_topics(
        topic, timeout=5
    )
    partitions = metadata.topics[topic].partitions.values()
    return bool(partitions) and all(len(p.isrs) == 3 for p in partitions)


def test_one_broker_killed_under_load_loses_nothing(
    cluster: LocalCluster, make_pipeline: MakePipeline, postgres: PostgresServer
) -> None:
    url = postgres.new_database()
    pipeline = make_pipeline(
        url,
        KAFKA_BOOTSTRAP_SERVERS=cluster.bootstrap_servers,
        KAFKA_REPLICATION_FACTOR="3",
        KAFKA_PARTITIONS="6",
    )
    topic = pipeline.env["KAFKA_TOPIC"]
    pipeline.start_api()
    pipeline.start_worker()
    load = load_on(pipeline)
    let_some_through(pipeline.store, 500, 800)

    victim = cluster.nodes[1]
    victim.kill()  # SIGKILL: no controlled shutdown, no leadership handed over
    let_some_through(pipeline.store, 1000, 1500)  # the two others carry on

    restarted = victim.launch()
    victim.wait_until_up(restarted)
    wait_for(lambda: _fully_replicated(cluster, topic), 120, "the killed broker back in sync")
    let_some_through(pipeline.store, 300, 500)

    verdict = finish("one of three brokers killed", 1, load, pipeline).verdict
    assert verdict.acknowledged > 1500
