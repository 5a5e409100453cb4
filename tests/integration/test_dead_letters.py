"""The dead-letter topic against a real broker: deleted at run time, too small, replayed."""

from __future__ import annotations

import json

import httpx2
import pytest
from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    ConfigResource,
    NewTopic,
)

from shopstream.config import KafkaSettings, Settings, WorkerSettings
from shopstream.errors import PublishError
from shopstream.kafka import deadletters
from shopstream.kafka.admin import ensure_topics
from shopstream.kafka.deadletters import DeadLetters, Rejected
from shopstream.localkafka.broker import LocalBroker
from shopstream.supervise import wait_for
from testbed.pipeline import MakePipeline, pipeline_env
from tests.helpers import shopstream, ticket

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(kafka: LocalBroker) -> Settings:
    env = pipeline_env(kafka.bootstrap_servers, "database.json")
    return Settings(
        kafka=KafkaSettings(bootstrap_servers=kafka.bootstrap_servers, topic=env["KAFKA_TOPIC"]),
        worker=WorkerSettings(group=env["WORKER_GROUP"]),
    )


def _admin(settings: Settings) -> AdminClient:
    return AdminClient({"bootstrap.servers": settings.bootstrap_servers})


def _read_all(settings: Settings, topic: str, count: int) -> list[Message]:
    consumer = Consumer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "group.id": f"{topic}-check",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    found: list[Message] = []

    def read() -> bool:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            found.append(message)
        return len(found) >= count

    try:
        wait_for(read, 60, f"{count} messages on {topic}")
    finally:
        consumer.close()
    return found


def _letter(offset: int, value: bytes) -> Rejected:
    original = Message(topic="tickets", partition=0, offset=offset, key=b"k", value=value)
    return Rejected(original, "not a valid ticket: test")


def test_topics_keep_messages_until_stored_by_default(settings: Settings) -> None:
    ensure_topics(settings)
    topics = [settings.kafka.topic, settings.kafka.dead_letter_topic]
    resources = [ConfigResource(ConfigResource.Type.TOPIC, name) for name in topics]
    admin = _admin(settings)  # alive until the futures settle
    for future in admin.describe_configs(resources).values():
        config = future.result()
        assert config["retention.ms"].value == "-1"
        assert int(config["max.message.bytes"].value) > settings.kafka.max_ticket_bytes


def test_topics_take_the_batches_a_producer_with_default_settings_makes(
    settings: Settings,
) -> None:
    """A topic limited to MAX_TICKET_BYTES refused a third of a burst in record batches."""
    ensure_topics(settings)
    refused: list[str] = []

    def report(error: KafkaError | None, _: Message) -> None:
        if error is not None:
            refused.append(error.name())

    producer = Producer({"bootstrap.servers": settings.bootstrap_servers, "linger.ms": 20})
    for n in range(20_000):
        body = json.dumps(ticket(f"burst-{n}")).encode()
        while True:
            try:
                producer.produce(settings.kafka.topic, body, on_delivery=report)
                break
            except BufferError:
                producer.poll(0.1)
    assert producer.flush(30) == 0
    assert refused == []


def test_a_dead_letter_topic_deleted_at_run_time_is_made_again(settings: Settings) -> None:
    ensure_topics(settings)
    letters = DeadLetters(settings)
    letters.send([_letter(0, b"junk")])
    admin = _admin(settings)
    for future in admin.delete_topics([settings.kafka.dead_letter_topic]).values():
        future.result()
    wait_for(
        lambda: settings.kafka.dead_letter_topic not in admin.list_topics(timeout=5).topics,
        30,
        "the topic to be gone",
    )
    letters.send([_letter(1, b"more junk")])
    letters.close()
    [message] = _read_all(settings, settings.kafka.dead_letter_topic, 1)
    assert message.value() == b"more junk"


def test_a_letter_too_large_for_its_topic_goes_as_a_truncated_copy(settings: Settings) -> None:
    admin = _admin(settings)
    small = NewTopic(
        settings.kafka.dead_letter_topic, num_partitions=1, config={"max.message.bytes": "20000"}
    )
    for future in admin.create_topics([small]).values():
        future.result()
    ensure_topics(settings)
    big = json.dumps(ticket("big", store="s" * 100)).encode() + b" " * 100_000
    letters = DeadLetters(settings)
    letters.send([_letter(7, big), _letter(8, b"small")])
    letters.close()
    found = {m.value(): m for m in _read_all(settings, settings.kafka.dead_letter_topic, 2)}
    assert b"small" in found
    [copy] = [m for value, m in found.items() if value != b"small"]
    headers = dict(copy.headers() or [])
    assert len(copy.value() or b"") == deadletters.TRUNCATED_BYTES
    assert headers[deadletters.TRUNCATED] == str(len(big)).encode()
    assert headers[deadletters.OFFSET] == b"7"
    assert headers[deadletters.REASON] == b"not a valid ticket: test"


class _FailingSecondFlush:
    """A producer whose second flush reports a message Kafka did not take."""

    def __init__(self, real: Producer) -> None:
        self._real, self._flushes = real, 0

    def __getattr__(self, name: str) -> object:
        return getattr(self._real, name)

    def flush(self, timeout: float) -> int:
        self._flushes += 1
        left: int = self._real.flush(timeout)
        return 1 if self._flushes == 2 else left


def test_replay_commits_each_chunk_so_a_failed_replay_resumes(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    ensure_topics(settings)
    producer = Producer({"bootstrap.servers": settings.bootstrap_servers})
    for n in range(2500):
        producer.produce(settings.kafka.dead_letter_topic, b"letter", str(n).encode(), partition=0)
    assert producer.flush(30) == 0
    monkeypatch.setattr(
        deadletters, "Producer", lambda config: _FailingSecondFlush(Producer(config))
    )
    with pytest.raises(PublishError):
        deadletters.replay(settings)
    monkeypatch.undo()
    group = f"{settings.worker.group}.dlq-replay"
    reader = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": group})
    committed = reader.committed([TopicPartition(settings.kafka.dead_letter_topic, 0)], timeout=10)
    reader.close()
    assert committed[0].offset == 1000  # the first chunk is marked; the second is not
    assert deadletters.replay(settings) == 1500  # the next replay sends only what was not marked


def test_an_id_conflict_is_listed_by_dlq_list(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    pipeline.start_api()
    pipeline.start_worker()
    client_env, cwd = pipeline.env, pipeline.workdir
    assert httpx2.post(f"{pipeline.url}/data", json=ticket("42"), timeout=10).status_code == 202
    pipeline.wait_stored(["42"])
    other = ticket("42", store="Ghent")
    assert httpx2.post(f"{pipeline.url}/data", json=other, timeout=10).status_code == 202

    def listed() -> str:
        result = shopstream("dlq", "list", env=client_env, cwd=cwd)
        return result.stdout if "id conflict" in result.stdout else ""

    listing = wait_for(listed, 60, "the id conflict in dlq list")
    assert "42" in listing
    stored = json.loads((pipeline.workdir / "database.json").read_text())
    assert [t["store"] for t in stored] == ["Brussels"]
