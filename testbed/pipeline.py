"""A pipeline under test: the API and workers as real processes on a broker.

Each pipeline gets a topic, a consumer group and a store of its own, so pipelines on one
broker do not see each other's tickets. Its processes are children of one supervisor;
their output goes to log files in the pipeline's directory, or nowhere (the bench).
"""

from __future__ import annotations

import os
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import httpx2

from shopstream.status import api_state
from shopstream.stores import Store, open_store
from shopstream.supervise import Supervisor, wait_for
from testbed.ports import free_port

REPO = Path(__file__).resolve().parents[1]
LIBS = REPO / ".kafka" / "libs"


def pipeline_env(bootstrap: str, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a pipeline's processes: its own topic, group and store."""
    name = f"test-{uuid.uuid4().hex[:10]}"
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "KAFKA_TOPIC": name,
        "WORKER_GROUP": name,
        "DATABASE_URL": database_url,
        "PYTHONPATH": str(REPO),  # helpers of the tests and the bench run as processes too
        "LOG_LEVEL": "INFO",
        # The broker's minimum: a killed worker's partitions move on quickly.
        "WORKER_SESSION_TIMEOUT_MS": "6000",
        # Many workers run at once: none serves /metrics unless its test gives it a port.
        "WORKER_METRICS_PORT": "0",
        **extra,
    }


@dataclass
class Pipeline:
    """An API and workers in ``workdir``; without ``keep_logs``, their output is dropped."""

    workdir: Path
    env: dict[str, str]
    api_port: int = field(default_factory=free_port)
    keep_logs: bool = True
    roles: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    """the last process started in each role (api, worker, ...)"""
    children: Supervisor = field(init=False)

    def __post_init__(self) -> None:
        self.children = Supervisor(self.env, cwd=self.workdir)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def database_url(self) -> str:
        return self.env["DATABASE_URL"]

    @property
    def store(self) -> Store:
        return open_store(self.database_url)

    def spawn(self, *args: str, module: str = "shopstream") -> subprocess.Popen[bytes]:
        """``python -m module args``; its log is ``<first arg>-<n>.log`` in ``workdir``."""
        role = args[0] if args else module.rsplit(".", 1)[-1]
        name = f"{role}-{len(self.children.processes())}"
        output = self.workdir / f"{name}.log" if self.keep_logs else None
        process = self.children.start(name, *args, module=module, output=output)
        self.roles[role] = process
        return process

    def start_api(self) -> subprocess.Popen[bytes]:
        process = self.spawn("api", "--port", str(self.api_port))
        wait_for(self._ready, 30, "the API to be ready")
        return process

    def start_app(self, app: str, factory: bool = False) -> subprocess.Popen[bytes]:
        """Another ASGI app (``module:attribute``, or a factory of one) under uvicorn."""
        process = self.spawn(
            app, *(["--factory"] if factory else []), "--port", str(self.api_port),
            "--no-access-log", "--log-level", "warning", module="uvicorn",
        )  # fmt: skip
        wait_for(self._answers, 30, f"{app} to answer")
        return process

    def _ready(self) -> bool:
        return api_state(self.url).ready

    def _answers(self) -> bool:
        try:
            httpx2.get(f"{self.url}/openapi.json", timeout=2)
        except httpx2.HTTPError:
            return False
        return True

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
        self.children.stop()


def on_broker(
    bootstrap: str, workdir: Path, database_url: str | None = None, **env: str
) -> Pipeline:
    """A pipeline on the brokers at ``bootstrap``, storing in ``workdir``'s database.json
    unless another ``database_url`` is given."""
    url = database_url or str(workdir / "database.json")
    return Pipeline(workdir, pipeline_env(bootstrap, url, **env))


class MakePipeline(Protocol):
    """What the pipeline fixtures give: ``make(database_url=None, **env)``."""

    def __call__(self, database_url: str | None = None, **env: str) -> Pipeline: ...
