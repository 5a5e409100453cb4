"""A worker that SIGKILLs itself at the narrowest windows the delivery guarantee must survive.

``CRASH_AT`` says where, with the odds in ``CRASH_P`` at each chance:

- ``after-store`` (the default): right after a store write, before the offsets are
  marked. The batch is in the store, but Kafka will hand it out again.
- ``before-fsync``: a JSON store's append is written but not yet fsynced.
- ``mid-write``: a JSON store's append is half written: a torn tail.

Run as ``python -m tests.faults.crashing_worker``.
"""

from __future__ import annotations

import os
import random
import signal
import sys
from collections.abc import Sequence
from typing import BinaryIO

from confluent_kafka import Message

from shopstream import cli
from shopstream.kafka.consumer import BatchConsumer
from shopstream.stores import jsonfile

_odds = float(os.environ.get("CRASH_P", "0.3"))
_at = os.environ.get("CRASH_AT", "after-store")
_mark_stored = BatchConsumer.mark_stored
_write_at = jsonfile._write_at


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _die_before_marking(self: BatchConsumer, messages: Sequence[Message]) -> None:
    if random.random() < _odds:
        _die()
    _mark_stored(self, messages)


def _die_while_writing(file: BinaryIO, offset: int, data: bytes) -> None:
    if len(data) > 8 and random.random() < _odds:  # an append, not a bare closing bracket
        file.seek(offset)
        if _at == "mid-write":
            file.write(data[: random.randrange(1, len(data))])
        else:
            file.write(data)
        file.flush()  # in the page cache: a crash of the process, not of the machine
        _die()
    _write_at(file, offset, data)


if __name__ == "__main__":
    if _at == "after-store":
        BatchConsumer.mark_stored = _die_before_marking  # type: ignore[method-assign]
    else:
        jsonfile._write_at = _die_while_writing
    sys.argv = ["shopstream", "worker"]
    cli.main()
