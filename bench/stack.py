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
import uuid
from dataclasses import dataclass
from pathlib import Path

from shopstream.localkafka.broker import LocalBroker
from shopstream.supervise import wait_for
from testbed.pipeline import Pipeline, pipeline_env

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
class Stack(Pipeline):
    """A pipeline as the bench measures it: its output dropped, its peak memory recorded."""

    keep_logs: bool = False

    @property
    def topic(self) -> str:
        return self.env["KAFKA_TOPIC"]

    @property
    def bootstrap_servers(self) -> str:
        return self.env["KAFKA_BOOTSTRAP_SERVERS"]

    def pid(self, role: str) -> int:
        return self.roles[role].pid

    def stored(self) -> int:
        return self.store.count()

    def stop(self) -> None:
        for role, process in self.roles.items():
            PEAK_RSS_MB[role] = max(PEAK_RSS_MB.get(role, 0.0), peak_rss_mb(process.pid))
        super().stop()


def new_stack(
    broker: LocalBroker,
    workdir: Path,
    database_url: str,
    topic: str = "",
    group: str = "",
    **settings: str,
) -> Stack:
    """A stack on ``broker`` in ``workdir``: its own topic and group unless given."""
    env = pipeline_env(broker.bootstrap_servers, database_url, LOG_LEVEL="WARNING", **settings)
    del env["WORKER_SESSION_TIMEOUT_MS"]  # the product's default, as `shopstream up` runs
    if topic:
        env["KAFKA_TOPIC"] = topic
    env["WORKER_GROUP"] = group or env["KAFKA_TOPIC"]
    return Stack(workdir, env)


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
