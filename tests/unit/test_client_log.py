"""librdkafka's own log lines, as shopstream shows them."""

from __future__ import annotations

import logging

import pytest

from shopstream.kafka.config import plain_config

_LOADING = (
    "GETPID [shopstream-api-vm-1#producer-1] [thrd:main]: Failed to acquire idempotence PID "
    "from broker 127.0.0.1:9092/1: Broker: Coordinator load in progress: retrying"
)


def _logged(caplog: pytest.LogCaptureFixture, message: str) -> list[tuple[str, str]]:
    client_log: logging.Logger = plain_config("127.0.0.1:9092", "test")["logger"]
    with caplog.at_level(logging.INFO, logger=client_log.name):
        client_log.warning(message)
    return [(r.levelname, r.getMessage()) for r in caplog.records]


def test_a_retry_while_a_fresh_broker_loads_is_no_warning(caplog: pytest.LogCaptureFixture) -> None:
    assert _logged(caplog, _LOADING) == []  # shown with LOG_LEVEL=debug only


def test_other_client_warnings_stay_warnings(caplog: pytest.LogCaptureFixture) -> None:
    message = "FAIL [thrd:127.0.0.1:9092/1]: Connect to ipv4#127.0.0.1:9092 failed"
    assert _logged(caplog, message) == [("WARNING", message)]
