"""A worker that SIGKILLs itself right after a store write, before the offsets are marked.

The narrowest window the delivery guarantee has to survive: the batch is in the store but
Kafka will hand it out again. Run as ``python -m tests.faults.crashing_worker``; the odds
of dying after each write come from ``CRASH_AFTER_STORE_P``.
"""

from __future__ import annotations

import os
import random
import signal
import sys
from collections.abc import Sequence

from confluent_kafka import Message

from shopstream import cli
from shopstream.kafka.consumer import BatchConsumer

_mark_stored = BatchConsumer.mark_stored
_odds = float(os.environ.get("CRASH_AFTER_STORE_P", "0.3"))


def _die_before_marking(self: BatchConsumer, messages: Sequence[Message]) -> None:
    if random.random() < _odds:
        os.kill(os.getpid(), signal.SIGKILL)
    _mark_stored(self, messages)


if __name__ == "__main__":
    BatchConsumer.mark_stored = _die_before_marking  # type: ignore[method-assign]
    sys.argv = ["shopstream", "worker"]
    cli.main()
