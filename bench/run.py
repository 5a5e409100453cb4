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
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path

import httpx2
from confluent_kafka import Producer

from bench import ceilings, endtoend, million, pyspy
from bench.figures import Figure, source_commit, write_results
from bench.stack import (
    BENCH,
    PEAK_RSS_MB,
    REPO,
    WRK_SECONDS,
    Stack,
    check_stored,
    children_cpu_seconds,
    cpu_seconds,
    new_stack,
    wrk,
)
from shopstream.localkafka.broker import LocalBroker
from shopstream.models import example_ticket
from shopstream.supervise import wait_for
from testbed.ports import free_port
from testbed.postgres import PostgresServer

RUNS = 3
DRAIN_TICKETS = 200_000
PROFILED_TICKETS = 60_000
E2E_RATE = 1000
E2E_SECONDS = 10
CORES = os.cpu_count() or 1
RATIOS = [
    ("POST /data, concurrency 64", "ceiling: validate only, concurrency 64"),
    ("POST /data, concurrency 64", "ceiling: whole stack's CPU, POST /data, concurrency 64"),
    ("POST /data/batch of 1000", "ceiling: whole stack's CPU, POST /data/batch of 1000"),
    ("POST /data/batch of 1000", "ceiling: Kafka ProducerPerformance, acks=all"),
    ("worker drain, SQLite", "ceiling: SQLite executemany of the rows"),
    (
        "seed stress test: 1000 sequential POSTs to stored",
        "floor: the seed's 1000 POSTs to the validate-only server, plus Kafka round trips",
    ),
]


class Bench:
    """The scenarios, sharing one broker, a scratch directory and the figures so far."""

    def __init__(self, broker: LocalBroker, postgres: PostgresServer, scratch: Path) -> None:
        self.broker = broker
        self.postgres = postgres
        self.scratch = scratch
        self.stacks: list[Stack] = []
        self.figures: list[Figure] = []
        self.profiles: list[str] = []
        self.day = datetime.date.today().isoformat()

    def stack(self, database: str = "database.json", topic: str = "", group: str = "") -> Stack:
        workdir = Path(tempfile.mkdtemp(dir=self.scratch))
        url = str(workdir / database) if database.endswith(".json") else database.format(workdir)
        made = new_stack(self.broker, workdir, url, topic=topic, group=group)
        self.stacks.append(made)  # stopped by main() even when a run fails
        return made

    def add(self, *figures: Figure) -> None:
        self.figures += figures
        for figure in figures:
            print(figure.row(), flush=True)

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

    # -- scenarios -------------------------------------------------------------------

    def single_ticket(self) -> None:
        """POST /data at three concurrencies."""
        for connections in (1, 16, 64):
            at_64 = connections == 64
            self._ingest(
                connections,
                0,
                Figure(
                    f"POST /data, concurrency {connections}",
                    "tickets/s",
                    target="≥ 5,000" if at_64 else "",
                ),
                Figure(
                    f"POST /data p99, concurrency {connections}",
                    "ms",
                    target="≤ 50" if at_64 else "",
                ),
                profile_name="api-post-data-c64" if at_64 else "",
            )

    def batches(self) -> None:
        for size in (100, 1000):
            self._ingest(
                8,
                size,
                Figure(
                    f"POST /data/batch of {size}",
                    "tickets/s",
                    target="≥ 50,000" if size == 1000 else "",
                ),
                Figure(f"POST /data/batch of {size} p99", "ms"),
                profile_name="api-post-batch-1000" if size == 1000 else "",
            )

    def _ingest(
        self, connections: int, batch: int, rate: Figure, p99: Figure, profile_name: str
    ) -> None:
        """wrk on a fresh API and worker; with a profile name, also where the CPU goes."""
        s = self.stack()
        s.start_api()
        s.start_worker()
        # Warm up first (the producer's idempotence id, connections), then measure.
        tickets_per_request = max(batch, 1)
        acknowledged = int(wrk(s.url, connections, batch, seconds=2)["requests"])
        acknowledged *= tickets_per_request
        scenario = f"{rate.name}: CPU per ticket"
        cpu = {role: Figure(f"{scenario}, {role}", "µs") for role in _ROLES}
        for _ in range(RUNS):
            before = self._cpu(s)
            run = wrk(s.url, connections, batch)
            after = self._cpu(s)
            tickets = run["requests"] * tickets_per_request
            acknowledged += int(tickets)
            rate.values.append(run["rate"] * tickets_per_request)
            p99.values.append(run["p99_ms"])
            for role in _ROLES:
                cpu[role].values.append((after[role] - before[role]) / tickets * 1_000_000)
        if profile_name:  # one more run, not counted: sampling slows the process it samples
            finish = self.profiled(profile_name, s.pid("api"), WRK_SECONDS - 2)
            acknowledged += int(wrk(s.url, connections, batch)["requests"]) * tickets_per_request
            finish()
        check_stored(s, acknowledged)
        s.stop()
        self.add(rate, p99)
        if profile_name:
            self.add(*cpu.values())
            total = [sum(v) for v in zip(*(f.values for f in cpu.values()), strict=True)]
            self.add(
                Figure(
                    f"ceiling: whole stack's CPU, {rate.name}",
                    "tickets/s",
                    [CORES * 1_000_000 / t for t in total],
                    f"{CORES} cores / CPU per ticket",
                )
            )

    def _cpu(self, s: Stack) -> dict[str, float]:
        broker_pid = self.broker.pid()
        return {
            "API": cpu_seconds(s.pid("api")),
            "broker": cpu_seconds(broker_pid) if broker_pid else 0.0,
            "worker": cpu_seconds(s.pid("worker")),
            "wrk": children_cpu_seconds(),
        }

    def server_ceilings(self) -> None:
        """The same server: (a) return at once, (b) validate exactly as POST /data does.

        Then the best POST /data could do here if publishing cost the API nothing: the
        validate-only server's CPU per request plus what the broker, the worker and wrk
        spent per ticket at 64 connections, against the machine's cores.
        """
        for name, app in (
            ("bare handler", "bench.reference_apps:bare_app"),
            ("validate only", "bench.reference_apps:validate_app"),
        ):
            s = self.stack()
            server = s.start_app(app)
            rate = Figure(f"ceiling: {name}, concurrency 64", "req/s")
            server_cpu = Figure(f"ceiling: {name}, CPU per request, server", "µs")
            for _ in range(RUNS):
                before = cpu_seconds(server.pid)
                run = wrk(s.url, 64)
                after = cpu_seconds(server.pid)
                rate.values.append(run["rate"])
                server_cpu.values.append((after - before) / run["requests"] * 1_000_000)
            self.add(rate, server_cpu)
            if name == "validate only":
                self.repeat(
                    Figure("the seed's 1000 POSTs to the validate-only server", "s"),
                    partial(_seed_posts, s.url),
                )
            s.stop()
        by_name = {f.name: f.median for f in self.figures}
        scenario = "POST /data, concurrency 64: CPU per ticket"
        others = sum(by_name[f"{scenario}, {role}"] for role in ("broker", "worker", "wrk"))
        self.add(
            Figure(
                "ceiling: POST /data at 64 if publishing cost the API nothing",
                "tickets/s",
                [
                    CORES
                    * 1_000_000
                    / (by_name["ceiling: validate only, CPU per request, server"] + others)
                ],
                "validate-only server + broker + worker + wrk CPU",
            )
        )

    def drains(self) -> None:
        """Tickets already on the topic, per store; timed from the worker's start.

        Also from its first stored ticket: the same drain without the process's start-up
        (imports, joining the group), which is a fixed second or so in a few seconds.
        """
        for label, database in self._stores():
            figure = Figure(f"worker drain, {label}", "tickets/s", target="≥ 30,000")
            steady = Figure(f"worker drain, {label}, after its first stored ticket", "tickets/s")
            for _ in range(RUNS):
                from_start, from_first = self._drain(self.stack(database()))
                figure.values.append(from_start)
                steady.values.append(from_first)
            self.add(figure, steady)
            # Profiled apart, on fewer tickets: sampling slows the process it samples.
            self._drain(self.stack(database()), f"worker-drain-{label.lower()}", PROFILED_TICKETS)

    def _stores(self) -> list[tuple[str, Callable[[], str]]]:
        """Each store's label and a maker of a fresh DATABASE_URL (a format of workdir)."""
        return [
            ("JSON", lambda: "database.json"),
            ("SQLite", lambda: "sqlite:///{}/shop.db"),
            ("PostgreSQL", self.postgres.new_database),
        ]

    def _drain(
        self, s: Stack, profile_name: str = "", tickets: int = DRAIN_TICKETS
    ) -> tuple[float, float]:
        """Tickets/s from the worker's start, and from its first stored ticket."""
        producer = Producer({"bootstrap.servers": s.bootstrap_servers, "linger.ms": 20})
        s.start_api()  # creates the topics
        for i in range(tickets):
            body = json.dumps(example_ticket(f"d{i}")).encode()
            while True:
                try:
                    producer.produce(s.topic, body, f"d{i}".encode())
                    break
                except BufferError:
                    producer.poll(0.1)
        producer.flush()
        started = time.perf_counter()
        s.start_worker()
        stored_first = wait_for(s.stored, 60, "the first tickets stored")  # how many, once any
        first_at = time.perf_counter()
        finish = None
        if profile_name:  # now past the imports and the group join
            finish = self.profiled(profile_name, s.pid("worker"), 3)
        check_stored(s, tickets)
        done_at = time.perf_counter()
        if finish is not None:
            finish()
        s.stop()
        return tickets / (done_at - started), (tickets - stored_first) / (done_at - first_at)

    def kafka_and_sqlite_ceilings(self) -> None:
        self.repeat(
            Figure("ceiling: Kafka ProducerPerformance, acks=all", "records/s"),
            partial(ceilings.producer_performance, self.broker, DRAIN_TICKETS),
        )
        self.repeat(
            Figure("ceiling: SQLite executemany of the rows", "tickets/s"),
            partial(ceilings.sqlite_insert, self.scratch, DRAIN_TICKETS),
        )
        self.repeat(
            Figure("Kafka round trip of one acks=all message, median", "ms"),
            partial(ceilings.kafka_round_trip_ms, self.broker),
        )

    def seed_stress(self) -> None:
        """The seed's 1000 sequential POSTs on one session, until all are stored."""
        self.repeat(
            Figure("seed stress test: 1000 sequential POSTs to stored", "s", target="≤ 2"),
            self._seed_stress,
        )
        by_name = {f.name: f.median for f in self.figures}
        round_trips_s = 1000 * by_name["Kafka round trip of one acks=all message, median"] / 1000
        floor = by_name["the seed's 1000 POSTs to the validate-only server"] + round_trips_s
        self.add(
            Figure(
                "floor: the seed's 1000 POSTs to the validate-only server, plus Kafka round trips",
                "s",
                [floor],
                "with nothing stored yet",
            )
        )

    def _seed_stress(self) -> float:
        """Timed from the first POST, on a pipeline that is up: as after ``make up``.

        Up means it has stored a ticket: the worker has joined its group and been given
        the partitions, which a worker started a moment ago has not.
        """
        s = self.stack()
        s.start_api()
        s.start_worker()
        httpx2.post(f"{s.url}/data", json=example_ticket("up")).raise_for_status()
        wait_for(s.stored, 60, "the first ticket stored")
        started = time.perf_counter()
        _seed_posts(s.url)
        check_stored(s, 1 + 1000)
        seconds = time.perf_counter() - started
        s.stop()
        return seconds

    def end_to_end(self) -> None:
        s = self.stack()
        s.start_api()
        s.start_worker()
        endtoend.post_to_stored(s, E2E_RATE, 2)  # warm-up
        runs = [endtoend.post_to_stored(s, E2E_RATE, E2E_SECONDS) for _ in range(RUNS)]
        s.stop()
        at = f"at {E2E_RATE:,} tickets/s"
        self.add(
            Figure(f"POST to stored p50, {at}", "ms", [r["p50_ms"] for r in runs]),
            Figure(f"POST to stored p99, {at}", "ms", [r["p99_ms"] for r in runs], "≤ 100"),
            Figure(f"POST answered p99, {at}", "ms", [r["answer_p99_ms"] for r in runs]),
        )

    def a_million(self) -> None:
        """One million tickets on a topic, stored by each store's worker, then queried."""
        topic = f"million-{uuid.uuid4().hex[:8]}"
        million.fill_topic(self.broker, topic, million.TICKETS)
        for label, database in self._stores():
            s = self.stack(database(), topic=topic, group=f"{topic}-{label}")
            result = million.drain_and_query(s, million.TICKETS)
            s.stop()
            self.add(
                Figure(f"worker drain of 1,000,000, {label}", "tickets/s", [result["drain_rate"]]),
                Figure(
                    f"worker peak RSS at 1,000,000 stored, {label}",
                    "MB",
                    [result["worker_rss_mb"]],
                    "≤ 250",
                ),
            )
            for query in million.QUERIES:
                target = "stated" if label == "JSON" else "≤ 50"
                self.add(
                    Figure(
                        f"GET /analytics at 1,000,000, {label}, {query}",
                        "ms",
                        [result[query]],
                        target,
                    ),
                    Figure(
                        f"GET /analytics at 1,000,000, {label}, {query}, first call",
                        "ms",
                        [result[f"{query} first"]],
                    ),
                )
            rotating = f"{million.ROTATING_STORES} stores in turn"
            self.add(
                Figure(
                    f"GET /analytics at 1,000,000, {label}, {rotating}", "ms", [result[rotating]]
                )
            )

    def memory(self) -> None:
        for role, target in (("api", "≤ 150"), ("worker", "")):
            self.add(
                Figure(
                    f"peak RSS of the {role} over all runs",
                    "MB",
                    [PEAK_RSS_MB.get(role, 0.0)],
                    target,
                )
            )


_ROLES = ("API", "broker", "worker", "wrk")


def _seed_posts(url: str) -> float:
    """The seed's loop: 1000 POSTs, one after the other, on one ``requests.Session``."""
    import requests  # the seed's own client, as the seed writes it

    run = uuid.uuid4().hex[:6]
    started = time.perf_counter()
    with requests.Session() as session:
        for i in range(1000):
            session.post(f"{url}/data", json=example_ticket(f"{run}-{i}")).raise_for_status()
    return time.perf_counter() - started


def main() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk (scripts/system-deps bench)")
    started = time.time()
    commit = source_commit()
    with tempfile.TemporaryDirectory(prefix="shopstream-bench-") as scratch:
        broker = LocalBroker(
            Path(scratch) / "kafka",
            port=free_port(),
            controller_port=free_port(),
            libs_dir=REPO / ".kafka" / "libs",
        )
        broker.start()
        # A fresh JVM runs interpreted for its first minute: warm it before measuring.
        ceilings.producer_performance(broker, DRAIN_TICKETS)
        postgres = PostgresServer(Path(tempfile.mkdtemp(prefix="shopstream-pg-")), durable=True)
        postgres.start()
        bench = Bench(broker, postgres, Path(scratch))
        try:
            bench.single_ticket()
            bench.server_ceilings()
            bench.batches()
            bench.drains()
            bench.kafka_and_sqlite_ceilings()
            bench.seed_stress()
            bench.end_to_end()
            bench.a_million()
            bench.memory()
        finally:
            for stack in bench.stacks:
                stack.stop()
            broker.stop()
            postgres.stop()
            postgres.remove()
    profiles = "## Where the time goes (py-spy)\n\n" + "\n".join(bench.profiles)
    write_results(bench.figures, RATIOS, profiles, RUNS, started, commit)
    print(f"bench done in {time.time() - started:.0f} s: bench/RESULTS.md")


if __name__ == "__main__":
    main()
