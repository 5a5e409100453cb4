"""The system under test: a broker, the API and worker as ``shopstream up`` starts them.

Also what measures it from outside: wrk, the processes' CPU time and peak memory, and
the check that every acknowledged ticket was stored, enriched.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
from tests.helpers import free_port, wait_for

from shopstream.localkafka.broker import LocalBroker
from shopstream.stores import open_store

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WRK_SECONDS = 8

PEAK_RSS_MB: dict[str, float] = {}
"""role (api, worker) -> the highest peak RSS any of its processes reached"""


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM), read before it is stopped."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else 0.0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process (all its threads) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    """CPU time of this process's finished children (wrk, once it has exited)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Stack:
    """An API and a worker on a broker, in a scratch directory, on free ports."""

    broker: LocalBroker
    workdir: Path
    database_url: str
    topic: str = field(default_factory=lambda: f"bench-{uuid.uuid4().hex[:8]}")
    group: str = ""
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    api_port: int = field(default_factory=free_port)

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": self.broker.bootstrap_servers,
            "KAFKA_TOPIC": self.topic,
            "WORKER_GROUP": self.group or self.topic,
            "DATABASE_URL": self.database_url,
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(REPO),  # the ceiling apps live in bench/
        }

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def pid(self, role: str) -> int:
        return self.processes[role].pid

    def spawn(self, role: str, *args: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, *args],
            env=self.env,
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.processes[role] = process
        return process

    def start_api(self, app: str | None = None) -> None:
        if app is None:
            self.spawn("api", "-m", "shopstream", "api", "--port", str(self.api_port))
        else:
            self.spawn(
                "ceiling",
                *("-m", "uvicorn", app, "--port", str(self.api_port), "--no-access-log"),
                *("--log-level", "warning"),
            )
        wait_for(self._answers, 30, "the API")

    def _answers(self) -> bool:
        try:
            httpx2.get(f"{self.url}/openapi.json", timeout=2)
        except httpx2.HTTPError:
            return False
        return True

    def start_worker(self) -> None:
        self.spawn("worker", "-m", "shopstream", "worker")

    def stored(self) -> int:
        return open_store(self.database_url).count()

    def stop(self) -> None:
        for role, process in self.processes.items():
            PEAK_RSS_MB[role] = max(PEAK_RSS_MB.get(role, 0.0), peak_rss_mb(process.pid))
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            process.wait(30)


def wrk(url: str, connections: int, batch: int = 0, seconds: int = WRK_SECONDS) -> dict[str, float]:
    """wrk against ``url``; requests/s and latency percentiles (ms)."""
    env = {**os.environ, "RUN": uuid.uuid4().hex[:8], "BATCH": str(batch)}
    result = subprocess.run(
        [
            "wrk",
            f"-t{min(2, connections)}",
            f"-c{connections}",
            f"-d{seconds}s",
            "-s",
            str(BENCH / "post_ticket.lua"),
            url,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.search(r"RESULT (.*)", result.stdout)
    if match is None:
        raise RuntimeError(f"wrk printed no RESULT line:\n{result.stdout}{result.stderr}")
    fields = {k: float(v) for k, v in (kv.split("=") for kv in match.group(1).split())}
    if fields["errors"] or fields["non2xx"]:
        raise RuntimeError(f"wrk saw failures: {fields}")
    elapsed = fields["duration_us"] / 1e6
    return {
        "requests": fields["requests"],
        "rate": fields["requests"] / elapsed,
        "p50_ms": fields["p50_us"] / 1000,
        "p95_ms": fields["p95_us"] / 1000,
        "p99_ms": fields["p99_us"] / 1000,
    }


def check_stored(stack: Stack, expected: int, timeout: float = 120) -> None:
    """Every acknowledged ticket is stored, and a stored one is enriched."""
    wait_for(lambda: stack.stored() >= expected, timeout, f"{expected} tickets stored")
    path = Path(stack.database_url)
    if path.suffix == ".json":
        with path.open() as f:
            f.readline()
            sample = json.loads(f.readline().rstrip(",\n"))
        assert sample["total_price"] == 4.5, sample
        assert [p["category"] for p in sample["products"]] == ["Fruit", "Bakery", "Drink"]
