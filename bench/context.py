"""What every scenario shares: the broker, PostgreSQL, a scratch directory, the figures so far."""

from __future__ import annotations

import datetime
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench import pyspy
from bench.figures import RUNS, Figure, Figures
from bench.stack import BENCH, Stack, children_cpu_seconds, cpu_seconds, new_stack
from shopstream.localkafka.broker import LocalBroker
from testbed.postgres import PostgresServer

CORES = os.cpu_count() or 1
ROLES = ("API", "broker", "worker", "wrk")
__all__ = ["CORES", "ROLES", "RUNS", "Bench"]


class Bench:
    def __init__(self, broker: LocalBroker, postgres: PostgresServer, scratch: Path) -> None:
        self.broker = broker
        self.postgres = postgres
        self.scratch = scratch
        self.stacks: list[Stack] = []
        self.figures = Figures()
        self.profiles: list[str] = []
        self.day = datetime.date.today().isoformat()

    def stack(self, database: str = "database.json", topic: str = "", group: str = "") -> Stack:
        """A fresh API and worker on the bench's broker; ``database`` may format a workdir."""
        workdir = Path(tempfile.mkdtemp(dir=self.scratch))
        url = str(workdir / database) if database.endswith(".json") else database.format(workdir)
        made = new_stack(self.broker, workdir, url, topic=topic, group=group)
        self.stacks.append(made)  # stopped by main() even when a run fails
        return made

    def stores(self) -> list[tuple[str, Callable[[], str]]]:
        """Each store's label and a maker of a fresh DATABASE_URL (a format of workdir)."""
        return [
            ("JSON", lambda: "database.json"),
            ("SQLite", lambda: "sqlite:///{}/shop.db"),
            ("PostgreSQL", self.postgres.new_database),
        ]

    def add(self, *figures: Figure) -> None:
        for figure in figures:
            self.figures.add(figure)

    def repeat(self, figure: Figure, run: Callable[[], float]) -> None:
        figure.values += [run() for _ in range(RUNS)]
        self.add(figure)

    def profiled(self, name: str, pid: int, seconds: int) -> Callable[[], None]:
        """Sample ``pid`` now; the returned call waits and summarises it into RESULTS.md."""
        raw = BENCH / "results" / f"{self.day}-{name}.txt"
        sampler = pyspy.record(pid, seconds, raw)

        def finish() -> None:
            sampler.wait()
            self.profiles.append(pyspy.summary(name, raw))

        return finish

    def cpu(self, s: Stack) -> dict[str, float]:
        """CPU seconds so far of each part: the API, the broker, the worker, wrk."""
        broker_pid = self.broker.pid()
        return {
            "API": cpu_seconds(s.pid("api")),
            "broker": cpu_seconds(broker_pid) if broker_pid else 0.0,
            "worker": cpu_seconds(s.pid("worker")),
            "wrk": children_cpu_seconds(),
        }
