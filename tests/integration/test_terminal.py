"""The commands' output with hostile data in it, against the real broker and store."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from confluent_kafka import Producer

from shopstream.config import KafkaSettings, Settings
from shopstream.kafka.admin import ensure_topics
from shopstream.localkafka.broker import LocalBroker
from shopstream.stores import open_store
from testbed.pipeline import pipeline_env
from tests.helpers import shopstream
from tests.unit.storedata import enriched

pytestmark = pytest.mark.integration

# Rich's own colours (FORCE_COLOR) are CSI "m" sequences: anything else came from the data.
_RICH_STYLE = re.compile(r"\x1b\[[0-9;]*m")
KEY = "[/b]"  # rich: MarkupError, `dlq list` crashed
REASON = "not a valid ticket: [link=https://evil.example]details[/link]"
VALUE = "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\ :pile_of_poo:"


def test_dlq_list_shows_every_letter_as_written(kafka: LocalBroker, tmp_path: Path) -> None:
    env = pipeline_env(kafka.bootstrap_servers, str(tmp_path / "database.json"))
    settings = Settings(
        kafka=KafkaSettings(
            bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"], topic=env["KAFKA_TOPIC"]
        )
    )
    ensure_topics(settings)
    producer = Producer({"bootstrap.servers": kafka.bootstrap_servers})
    headers: dict[str, str | bytes | None] = {
        "dlq.reason": REASON,
        "dlq.topic": "[bold]t",
        "dlq.partition": "0",
        "dlq.offset": "7",
    }
    producer.produce(
        settings.kafka.dead_letter_topic, VALUE.encode(), KEY.encode(), headers=headers
    )
    assert producer.flush(10) == 0

    result = shopstream(
        "dlq", "list", env={**env, "FORCE_COLOR": "1", "COLUMNS": "250"}, cwd=tmp_path, timeout=60
    )
    assert result.returncode == 0, result.stderr
    shown = _RICH_STYLE.sub("", result.stdout)
    assert "\x1b" not in shown  # no sequence of the letter's own reached the terminal
    for text in (KEY, REASON, "[bold]t[0]@7", VALUE.replace("\x1b", "\\x1b")):
        assert text in shown


HOSTILE_NAMES = [
    "[/b]",  # rich: MarkupError, the report crashed
    "[link=https://evil.example]Click here[/link]",  # rich: a terminal hyperlink
    # The same, written raw: the API refuses control characters, but a store written
    # before that rule, or edited by hand, may hold them.
    "\x1b]8;;https://evil.example\x1b\\Click\x1b]8;;\x1b\\",
    "Shop :pile_of_poo:",  # rich: an emoji code
]
# Rich's own colours (FORCE_COLOR) are CSI "m" sequences: anything else came from a name.
_RICH_STYLE = re.compile(r"\x1b\[[0-9;]*m")


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_store_name_is_shown_as_written_never_as_markup(name: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    store = open_store(url)
    store.open()
    store.add([enriched("1", store=name)])
    store.close()
    env = {**os.environ, "DATABASE_URL": url, "FORCE_COLOR": "1", "COLUMNS": "200"}
    result = shopstream("report", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    shown = _RICH_STYLE.sub("", result.stdout)
    assert "\x1b" not in shown  # no sequence of the name's own reached the terminal
    assert name.replace("\x1b", "\\x1b") in shown
