"""A real Kafka broker for the session, and pipelines (API + workers) on their own topics.

The broker is started by the same launcher as ``shopstream kafka start``, on free ports
and in a temporary state directory, sharing the jars in the repository's ``.kafka/libs``.
Every pipeline gets a topic, a consumer group and a store of its own, so tests do not see
each other's tickets.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import httpx2
import pytest

from shopstream.localkafka.broker import LocalBroker, SaslListener, TlsListener
from shopstream.stores import Store, open_store
from tests.helpers import free_port, wait_for

REPO = Path(__file__).resolve().parents[2]
LIBS = REPO / ".kafka" / "libs"
SASL_USER, SASL_PASSWORD = "till", "s3cret-Pa55"


def new_broker(state_dir: Path) -> LocalBroker:
    return LocalBroker(
        state_dir=state_dir,
        port=free_port(),
        controller_port=free_port(),
        libs_dir=LIBS,
        heap="512m",
    )


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    broker = new_broker(tmp_path_factory.mktemp("kafka"))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def secure_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    """A broker started as `shopstream kafka start --sasl --tls` starts it: SASL_PLAINTEXT,
    SSL (client certificate required) and SASL_SSL ports, its CA in ``tls_files``."""
    broker = LocalBroker(
        tmp_path_factory.mktemp("secure-kafka"),
        port=free_port(),
        controller_port=free_port(),
        libs_dir=LIBS,
        heap="512m",
        sasl=SaslListener(free_port(), SASL_USER, SASL_PASSWORD),
        tls=TlsListener(free_port(), free_port()),
    )
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def own_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    """A broker of the test's own, for tests that stop or kill it."""
    broker = new_broker(tmp_path_factory.mktemp("own-kafka"))
    broker.start()
    yield broker
    broker.stop()


@dataclass
class Pipeline:
    """An API and workers as real processes, their logs in ``workdir``."""

    workdir: Path
    env: dict[str, str]
    api_port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def store(self) -> Store:
        return open_store(self.env["DATABASE_URL"])

    def spawn(self, *args: str, module: str = "shopstream") -> subprocess.Popen[bytes]:
        log = (self.workdir / f"{args[0] if args else module}-{len(self.processes)}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            env=self.env,
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        return process

    def start_api(self) -> subprocess.Popen[bytes]:
        process = self.spawn("api", "--port", str(self.api_port))
        wait_for(self._ready, 30, "the API to be ready")
        return process

    def _ready(self) -> bool:
        try:
            return httpx2.get(f"{self.url}/ready", timeout=5).status_code == 200
        except httpx2.HTTPError:
            return False

    def start_worker(self) -> subprocess.Popen[bytes]:
        return self.spawn("worker")

    def wait_stored(self, ids: list[str], timeout: float = 60) -> None:
        wait_for(lambda: not self.store.missing(ids), timeout, f"{len(ids)} tickets stored")

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.workdir.glob("*.log"))
        )

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def pipeline_env(bootstrap: str, database_url: str, **extra: str) -> dict[str, str]:
    name = f"test-{uuid.uuid4().hex[:10]}"
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "KAFKA_TOPIC": name,
        "WORKER_GROUP": name,
        "DATABASE_URL": database_url,
        "PYTHONPATH": str(REPO),  # test helpers run as processes too (tests.faults)
        "LOG_LEVEL": "INFO",
        # The broker's minimum: a killed worker's partitions move on quickly.
        "WORKER_SESSION_TIMEOUT_MS": "6000",
        **extra,
    }


class MakePipeline(Protocol):
    def __call__(self, database_url: str | None = None, **env: str) -> Pipeline: ...


def _pipelines(broker: LocalBroker, workdir: Path) -> Iterator[MakePipeline]:
    made: list[Pipeline] = []

    def make(database_url: str | None = None, **env: str) -> Pipeline:
        url = database_url or str(workdir / "database.json")
        pipeline = Pipeline(workdir, pipeline_env(broker.bootstrap_servers, url, **env))
        made.append(pipeline)
        return pipeline

    yield make
    for pipeline in made:
        pipeline.stop()
        print(pipeline.logs())


@pytest.fixture
def make_pipeline(kafka: LocalBroker, tmp_path: Path) -> Iterator[MakePipeline]:
    """``make_pipeline(database_url=..., **env)``: a Pipeline on the session broker.

    Its processes' logs are printed at teardown, which pytest shows when a test failed.
    """
    yield from _pipelines(kafka, tmp_path)


@pytest.fixture
def make_own_pipeline(own_broker: LocalBroker, tmp_path: Path) -> Iterator[MakePipeline]:
    """Pipelines on the test's own broker, stopped before it is."""
    yield from _pipelines(own_broker, tmp_path)


@pytest.fixture(scope="module")
def make_module_pipeline(
    kafka: LocalBroker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MakePipeline]:
    """The same, for a pipeline that serves every test of a module."""
    yield from _pipelines(kafka, tmp_path_factory.mktemp("pipeline"))
