"""``make bench``: every scenario a few times on this machine, medians into bench/results.

Everything runs here at once, as the product runs: a real broker, the API and the worker
started exactly as ``shopstream up`` starts them, and wrk as the load generator. Every
run checks what it stored (the count, and one ticket's content), so a fast wrong answer
cannot pass.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import httpx2
from confluent_kafka import Producer
from tests.helpers import free_port, wait_for

from shopstream.config import Settings
from shopstream.kafka.admin import ensure_topics
from shopstream.kafka.broker import LocalBroker
from shopstream.stores import open_store
from shopstream.stress import seed_ticket

PEAK_RSS_MB: dict[str, float] = {}
"""role (api, worker) -> the highest peak RSS any of its processes reached"""


def _peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM), read before it is stopped."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else 0.0


BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RUNS = 3
WRK_SECONDS = 8
DRAIN_TICKETS = 200_000
RATIOS = [
    ("POST /data, concurrency 64", "ceiling: validate only, concurrency 64"),
    ("POST /data, concurrency 64", "ceiling: Kafka ProducerPerformance, acks=all"),
    ("POST /data/batch of 1000", "ceiling: Kafka ProducerPerformance, acks=all"),
    ("worker drain, SQLite", "ceiling: SQLite executemany of the rows"),
]


@dataclass
class Figure:
    """One measured figure over several runs."""

    name: str
    unit: str
    values: list[float] = field(default_factory=list)
    target: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def row(self) -> str:
        low, high = min(self.values), max(self.values)
        return (
            f"| {self.name} | {self.median:,.1f} {self.unit} | {low:,.1f} to {high:,.1f} "
            f"| {self.target} |"
        )


@dataclass
class Stack:
    """A broker, an API and a worker in a scratch directory, on free ports."""

    broker: LocalBroker
    workdir: Path
    database_url: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    api_port: int = field(default_factory=free_port)
    topic: str = field(default_factory=lambda: f"bench-{uuid.uuid4().hex[:8]}")

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": self.broker.bootstrap_servers,
            "KAFKA_TOPIC": self.topic,
            "WORKER_GROUP": self.topic,
            "DATABASE_URL": self.database_url,
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(REPO),  # the ceiling apps live in bench/
        }

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def spawn(self, role: str, *args: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, *args],
            env=self.env,
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.processes.append(process)
        self.roles.append(role)
        return process

    def start_api(self, app: str | None = None) -> None:
        if app is None:
            self.spawn("api", "-m", "shopstream", "api", "--port", str(self.api_port))
        else:
            self.spawn(
                "ceiling",
                "-m",
                "uvicorn",
                app,
                "--port",
                str(self.api_port),
                "--no-access-log",
                "--log-level",
                "warning",
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
        for role, process in zip(self.roles, self.processes, strict=True):
            PEAK_RSS_MB[role] = max(PEAK_RSS_MB.get(role, 0.0), _peak_rss_mb(process.pid))
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
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


def check_stored(stack: Stack, expected: int) -> None:
    """Every acknowledged ticket is stored, and a stored one is enriched."""
    wait_for(lambda: stack.stored() >= expected, 120, f"{expected} tickets stored")
    path = Path(stack.database_url)
    if path.suffix == ".json":
        with path.open() as f:
            f.readline()
            sample = json.loads(f.readline().rstrip(",\n"))
        assert sample["total_price"] == 4.5, sample
        assert [p["category"] for p in sample["products"]] == ["Fruit", "Bakery", "Drink"]


def measure(broker: LocalBroker, scratch: Path, stacks: list[Stack]) -> list[Figure]:
    figures: list[Figure] = []

    def stack(database: str = "database.json") -> Stack:
        workdir = Path(tempfile.mkdtemp(dir=scratch))
        url = str(workdir / database) if database.endswith(".json") else database.format(workdir)
        made = Stack(broker, workdir, url)
        stacks.append(made)  # stopped by main() even when a run fails
        return made

    def repeat(figure: Figure, run: Callable[[], float]) -> None:
        for _ in range(RUNS):
            figure.values.append(run())
        figures.append(figure)
        print(figure.row(), flush=True)

    # Single-ticket ingest, acknowledged by Kafka, at three concurrencies.
    for connections in (1, 16, 64):
        rate = Figure(
            f"POST /data, concurrency {connections}",
            "tickets/s",
            target="≥ 5,000 at 64" if connections == 64 else "",
        )
        p99 = Figure(
            f"POST /data p99, concurrency {connections}",
            "ms",
            target="≤ 50 at 64" if connections == 64 else "",
        )
        s = stack()
        s.start_api()
        s.start_worker()
        # Warm up first (the producer's idempotence id, connections), then measure.
        acknowledged = int(wrk(s.url, connections, seconds=2)["requests"])
        for _ in range(RUNS):
            run = wrk(s.url, connections)
            acknowledged += int(run["requests"])
            rate.values.append(run["rate"])
            p99.values.append(run["p99_ms"])
        check_stored(s, acknowledged)
        s.stop()
        figures += [rate, p99]
        print(rate.row(), p99.row(), sep="\n", flush=True)

    # The ceilings on the same server: return at once; validate exactly as POST /data.
    for name, app in (
        ("bare handler", "bench.ceiling:bare_app"),
        ("validate only", "bench.ceiling:validate_app"),
    ):
        s = stack()
        s.start_api(app)
        repeat(Figure(f"ceiling: {name}, concurrency 64", "req/s"), partial(_rate, s.url, 64, 0))
        s.stop()

    # Batch ingest.
    for size in (100, 1000):
        s = stack()
        s.start_api()
        repeat(
            Figure(
                f"POST /data/batch of {size}",
                "tickets/s",
                target="≥ 50,000" if size == 1000 else "",
            ),
            partial(_rate, s.url, 8, size),
        )
        s.stop()

    # Worker drain: tickets already on the topic, per store.
    for label, database in (("JSON", "database.json"), ("SQLite", "sqlite:///{}/shop.db")):
        repeat(
            Figure(f"worker drain, {label}", "tickets/s", target="≥ 30,000"),
            partial(_drained, stack, database),
        )

    # Kafka's own producer benchmark, same record size, acks=all, idempotent.
    repeat(
        Figure("ceiling: Kafka ProducerPerformance, acks=all", "records/s"),
        partial(producer_performance, broker),
    )
    # A bare executemany of the same rows into SQLite, in one transaction.
    repeat(
        Figure("ceiling: SQLite executemany of the rows", "tickets/s"),
        partial(sqlite_ceiling, scratch),
    )

    # The seed's stress test: 1000 sequential POSTs on one session, until all stored.
    repeat(
        Figure("seed stress test: 1000 sequential POSTs to stored", "s", target="≤ 2"),
        lambda: seed_stress(stack()),
    )
    for role in ("api", "worker"):
        figures.append(
            Figure(
                f"peak RSS of the {role} over all runs",
                "MB",
                [PEAK_RSS_MB.get(role, 0.0)],
                "≤ 150" if role == "api" else "≤ 250 at 1M stored",
            )
        )
    return figures


def _rate(url: str, connections: int, batch: int) -> float:
    """Tickets (not requests) per second."""
    return wrk(url, connections, batch)["rate"] * max(batch, 1)


def _drained(stack: Callable[[str], Stack], database: str) -> float:
    return drain(stack(database))


def producer_performance(broker: LocalBroker) -> float:
    """Kafka's ProducerPerformance with our record size: the broker's ceiling here."""
    topic = f"perf-{uuid.uuid4().hex[:8]}"
    ensure_topics(Settings(kafka_bootstrap_servers=broker.bootstrap_servers, kafka_topic=topic))
    record = len(json.dumps(seed_ticket("x" * 16)))
    result = subprocess.run(
        [
            "java",
            "-cp",
            f"{broker.libs}/*",
            "org.apache.kafka.tools.ProducerPerformance",
            "--topic",
            topic,
            "--num-records",
            "200000",
            "--record-size",
            str(record),
            "--throughput",
            "-1",
            "--producer-props",
            f"bootstrap.servers={broker.bootstrap_servers}",
            "acks=all",
            "enable.idempotence=true",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    rates = re.findall(r"([\d.]+) records/sec", result.stdout)
    return float(rates[-1])


def sqlite_ceiling(scratch: Path) -> float:
    """Insert the same rows as the SQLite store, with nothing else around it."""
    rows = [(f"t{i}", "Brussels", "2020-01-01", 4.5) for i in range(DRAIN_TICKETS)]
    lines = [
        (f"t{i}", n, "123456789", name, 1.5, category)
        for i in range(DRAIN_TICKETS)
        for n, (name, category) in enumerate(
            (("Banana", "Fruit"), ("Bread", "Bakery"), ("Water", "Drink"))
        )
    ]
    path = Path(tempfile.mkdtemp(dir=scratch)) / "ceiling.db"
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(
            "CREATE TABLE tickets (id TEXT PRIMARY KEY, store, date, total_price) WITHOUT ROWID"
        )
        db.execute(
            "CREATE TABLE products (ticket_id, line, product_id, name, price, category,"
            " PRIMARY KEY (ticket_id, line)) WITHOUT ROWID"
        )
        started = time.perf_counter()
        db.execute("BEGIN")
        db.executemany("INSERT INTO tickets VALUES (?, ?, ?, ?)", rows)
        db.executemany("INSERT INTO products VALUES (?, ?, ?, ?, ?, ?)", lines)
        db.execute("COMMIT")
        return DRAIN_TICKETS / (time.perf_counter() - started)


def drain(s: Stack) -> float:
    producer = Producer({"bootstrap.servers": s.broker.bootstrap_servers, "linger.ms": 20})
    s.start_api()  # creates the topics
    for i in range(DRAIN_TICKETS):
        body = json.dumps(seed_ticket(f"d{i}")).encode()
        while True:
            try:
                producer.produce(s.topic, body, f"d{i}".encode())
                break
            except BufferError:
                producer.poll(0.1)
    producer.flush()
    started = time.perf_counter()
    s.start_worker()
    check_stored(s, DRAIN_TICKETS)
    seconds = time.perf_counter() - started
    s.stop()
    return DRAIN_TICKETS / seconds


def seed_stress(s: Stack) -> float:
    import requests  # the seed's own client, as the seed writes it

    s.start_api()
    s.start_worker()
    run = uuid.uuid4().hex[:6]
    started = time.perf_counter()
    with requests.Session() as session:
        for i in range(1000):
            session.post(f"{s.url}/data", json=seed_ticket(f"{run}-{i}"))
    check_stored(s, 1000)
    seconds = time.perf_counter() - started
    s.stop()
    return seconds


def write_results(figures: list[Figure], started: float) -> None:
    day = datetime.date.today().isoformat()
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    record = {
        "date": day,
        "machine": machine,
        "runs": RUNS,
        "seconds": round(time.time() - started),
        "figures": [
            {
                "name": f.name,
                "unit": f.unit,
                "median": f.median,
                "values": f.values,
                "target": f.target,
            }
            for f in figures
        ],
    }
    (BENCH / "results" / f"{day}.json").write_text(json.dumps(record, indent=2) + "\n")
    table = "\n".join(f.row() for f in figures)
    by_name = {f.name: f.median for f in figures}
    ratios = "\n".join(
        f"- {ours} / {ceiling}: {by_name[ours] / by_name[ceiling]:.0%}"
        for ours, ceiling in RATIOS
        if ours in by_name and ceiling in by_name
    )
    (BENCH / "RESULTS.md").write_text(
        f"# Benchmark results\n\n{day}, {machine}; median of {RUNS} runs (min to max), "
        f"everything (wrk, broker, API, worker) on this one machine. Reproduce: `make bench`.\n\n"
        f"| figure | median | range | target |\n| --- | --- | --- | --- |\n{table}\n\n"
        f"Ours as a share of its ceiling, same run, same machine:\n\n{ratios}\n"
    )


def main() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk (scripts/system-deps bench)")
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="shopstream-bench-") as scratch:
        broker = LocalBroker(
            Path(scratch) / "kafka",
            port=free_port(),
            controller_port=free_port(),
            libs_dir=REPO / ".kafka" / "libs",
        )
        broker.start()
        stacks: list[Stack] = []
        try:
            figures = measure(broker, Path(scratch), stacks)
        finally:
            for stack in stacks:
                stack.stop()
            broker.stop()
    write_results(figures, started)
    print(f"bench done in {time.time() - started:.0f} s: bench/RESULTS.md")


if __name__ == "__main__":
    main()
