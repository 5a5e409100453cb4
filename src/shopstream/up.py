"""``shopstream up``: the local broker (unless one is configured), the API and a worker.

The API and the worker run as child processes, each with its output prefixed by its
name, as ``docker compose up`` does. Ctrl-C (or SIGTERM) stops them gracefully, then the
broker if this command started it.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from typing import IO

from shopstream.config import Settings
from shopstream.localkafka import LocalCluster, local_kafka

log = logging.getLogger(__name__)

_STOP_TIMEOUT_S = 20.0


def _relay(name: str, stream: IO[bytes]) -> None:
    out = sys.stdout.buffer
    for line in stream:
        out.write(f"{name:<6} | ".encode() + line)
        out.flush()


def _spawn(name: str, args: list[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "shopstream", *args],
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert process.stdout is not None  # noqa: S101 - stdout=PIPE above
    threading.Thread(target=_relay, args=(name, process.stdout), daemon=True).start()
    return process


def _stop(processes: Mapping[str, subprocess.Popen[bytes]]) -> None:
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for name, process in processes.items():
        try:
            process.wait(_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop within %.0f s: killing it", name, _STOP_TIMEOUT_S)
            process.kill()
            process.wait()


def run_pipeline(settings: Settings) -> int:
    """Run everything until Ctrl-C or a part exits; the exit status of the first to fail."""
    stopped = threading.Event()
    # Installed first and explicitly: Ctrl-C during start-up still stops what was started,
    # and a shell may start `up` in the background with SIGINT ignored.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    broker = local_kafka(settings) if settings.uses_local_broker else None
    started_broker = broker.start() if broker else False
    if broker and not started_broker:
        log.info("kafka broker already running at %s", broker.bootstrap_servers)
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers}
    if isinstance(broker, LocalCluster):
        env["KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrap_servers
        # Replicated on every node unless asked otherwise: one may then die.
        env.setdefault("KAFKA_REPLICATION_FACTOR", str(broker.size))
    processes = {
        "api": _spawn("api", ["api"], env),
        "worker": _spawn("worker", ["worker"], env),
    }
    log.info(
        "shopstream up: POST tickets to http://%s:%d/data (API docs at /docs), stored in %s; "
        "Kafka at %s, topic %s. Ctrl-C stops everything.",
        settings.api.host,
        settings.api.port,
        settings.store.database_url,
        settings.bootstrap_servers,
        settings.kafka.topic,
    )
    status = 0
    try:
        while not stopped.wait(0.5):
            failed = {n: p.returncode for n, p in processes.items() if p.poll() is not None}
            if failed:
                log.error("stopping: %s exited", ", ".join(f"{n} ({c})" for n, c in failed.items()))
                status = next(iter(failed.values())) or 1
                break
        else:
            log.info("stopping")
    finally:
        _stop(processes)
        if broker and started_broker:
            broker.stop()
            log.info("kafka broker stopped")
    return status


# A worker that dies sooner than this after starting is failing, not crashing: give up.
_FAILING_WITHIN_S = 5.0


def run_workers(count: int) -> int:
    """``shopstream worker --processes N``: N workers in one group, a crashed one replaced."""
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    env = dict(os.environ)
    names = [f"w{n}" for n in range(1, count + 1)]
    processes = {name: _spawn(name, ["worker"], env) for name in names}
    started = dict.fromkeys(names, time.monotonic())
    status = 0
    try:
        while not stopped.wait(0.5):
            for name, process in processes.items():
                if process.poll() is None:
                    continue
                if time.monotonic() - started[name] < _FAILING_WITHIN_S:
                    log.error("%s exited (%s) right after starting", name, process.returncode)
                    status = process.returncode or 1
                    stopped.set()
                    break
                log.warning("%s exited (%s): starting another", name, process.returncode)
                processes[name] = _spawn(name, ["worker"], env)
                started[name] = time.monotonic()
    finally:
        _stop(processes)
    return status
