"""A local broker just started gets the pipeline's traffic before it counts as up."""

from __future__ import annotations

import pytest
from confluent_kafka.admin import (  # type: ignore[attr-defined]  # not re-exported in its stubs
    AdminClient,
    ConfigResource,
)

from shopstream.config import Settings
from shopstream.localkafka.broker import LocalBroker
from shopstream.localkafka.warmup import WARMUP_TOPIC, warm_up

pytestmark = pytest.mark.integration


def test_the_warm_up_is_read_back_whole_from_a_topic_that_forgets_it(kafka: LocalBroker) -> None:
    done = warm_up(Settings(), kafka.bootstrap_servers, seconds=0.5)
    assert done.published > 8  # every producer's first, then some
    assert done.consumed == done.published
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
    resource = ConfigResource(ConfigResource.Type.TOPIC, WARMUP_TOPIC)
    configs = admin.describe_configs([resource])[resource].result()
    assert configs["retention.ms"].value == "60000"
