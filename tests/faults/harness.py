"""The fault suite's harness: the load under faults, and its verdict on each scenario."""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import partial

from confluent_kafka import Consumer, TopicPartition

from shopstream.load import Load, Verdict, stored_at_least
from shopstream.stores import Store
from shopstream.supervise import wait_for
from testbed.pipeline import Pipeline


def load_on(pipeline: Pipeline, clients: int = 8) -> Load:
    """Clients posting fresh tickets to the pipeline's API until stopped."""
    return Load(f"{pipeline.url}/data", clients=clients).start()


def let_some_through(store: Store, low: int = 100, high: int = 400) -> None:
    """Wait until a random few hundred more tickets are stored (the load keeps going)."""
    target = store.count() + random.randint(low, high)
    wait_for(partial(stored_at_least, store, target), 60, f"{target} tickets stored")


@dataclass(frozen=True)
class Scenario:
    """A scenario's verdict, with its name and how many faults it injected."""

    name: str
    faults: int
    verdict: Verdict

    def line(self) -> str:
        return self.verdict.line(self.name, self.faults)


def where_missing(pipeline: Pipeline, acknowledged: list[str]) -> str:
    """Where the acknowledged tickets the store lacks are in the topic, and how far the
    group committed on their partitions: what a lost or stalled ticket's report needs."""
    missing = pipeline.store.missing(acknowledged)
    topic = pipeline.env["KAFKA_TOPIC"]
    config = {"bootstrap.servers": pipeline.env["KAFKA_BOOTSTRAP_SERVERS"]}
    reader = Consumer({**config, "group.id": f"{topic}-inspect", "enable.auto.commit": False})
    try:
        partitions = reader.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {p: reader.get_watermark_offsets(TopicPartition(topic, p))[1] for p in partitions}
        reader.assign([TopicPartition(topic, p, 0) for p in partitions])
        found: dict[str, tuple[int | None, int | None]] = {}
        read = 0
        while read < sum(ends.values()):
            batch = reader.consume(1000, timeout=5)
            if not batch:
                break
            for message in batch:
                read += 1
                key = (message.key() or b"").decode()
                if key in missing:
                    found[key] = (message.partition(), message.offset())
        group = Consumer({**config, "group.id": pipeline.env["WORKER_GROUP"]})
        committed = group.committed([TopicPartition(topic, p) for p in partitions], timeout=10)
        group.close()
    finally:
        reader.close()
    positions = {tp.partition: tp.offset for tp in committed}
    return (
        f"missing {sorted(missing)[:10]} at (partition, offset) {list(found.values())[:10]}; "
        f"committed {positions}, ends {ends}"
    )


def finish(
    name: str, faults: int, load: Load, pipeline: Pipeline, record: list[Scenario] | None = None
) -> Scenario:
    """Stop the load, wait for every acknowledged ticket, check none is lost or doubled,
    and keep the verdict in ``record`` (the fault suite's summary), if given."""
    load.stop()
    try:
        pipeline.wait_stored(load.acknowledged, timeout=120)
    except TimeoutError as exc:
        raise TimeoutError(f"{exc}; {where_missing(pipeline, load.acknowledged)}") from exc
    scenario = Scenario(name, faults, Verdict.of(load.acknowledged, pipeline.store))
    print(scenario.line())
    if record is not None:
        record.append(scenario)
    assert scenario.verdict.holds, scenario.line()
    return scenario
