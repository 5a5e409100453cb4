"""The stress test as a newcomer first runs it; where a sequential request's time goes.

``first_run``: ``shopstream up`` in a directory of its own (a fresh state directory,
sharing only the jars), timed to its "ready" line; then the stress test (1000 POSTs one
after the other on one ``requests.Session``, until all 1000 are stored) four times. The
first is the cold run, the median of the other three the warm one.

``sequential_loop``: the same 1000 POSTs against any server, for the floor (the
validate-only server) and the per-request budget (servers that each do one more part of
the work).
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from bench.ceilings import kafka_round_trip_ms
from bench.context import RUNS, Bench
from bench.figures import Figure
from bench.stack import REPO, cpu_seconds
from shopstream.models import example_ticket
from shopstream.stores import Store, open_store
from shopstream.supervise import Supervisor, wait_for
from testbed.ports import free_port

STRESS_TICKETS = 1000
STRESS_RUNS = 4
_READY_LINE = "shopstream ready in"
_STORED_POLL_S = 0.005
_COMPILED_AFTER_LOOPS = 7
"""loops of 1000 after which the broker's CPU per request stopped falling (measured)"""


@dataclass(frozen=True)
class Loop:
    """One run of the sequential loop: its wall time and the client's own CPU time."""

    seconds: float
    client_cpu_seconds: float


def sequential_loop(url: str, tickets: int = STRESS_TICKETS) -> Loop:
    """The stress test's loop: ``tickets`` POSTs, one after the other, on one session."""
    import requests  # the stress test's own client, as the exercise writes it

    run = uuid.uuid4().hex[:6]
    cpu = time.process_time()
    started = time.perf_counter()
    with requests.Session() as session:
        for i in range(tickets):
            session.post(f"{url}/data", json=example_ticket(f"{run}-{i}")).raise_for_status()
    return Loop(time.perf_counter() - started, time.process_time() - cpu)


def stress_until_stored(url: str, store: Store, expected: int) -> float:
    """The stress test, timed from its first POST until the store holds ``expected``."""
    started = time.perf_counter()
    sequential_loop(url)
    wait_for(lambda: store.count() >= expected, 120, f"{expected} stored", _STORED_POLL_S)
    return time.perf_counter() - started


@dataclass(frozen=True)
class FirstRun:
    ready_s: float
    """from starting ``shopstream up`` to its "ready" line"""
    runs_s: list[float]
    """the stress test, the first on a broker just started"""

    @property
    def cold_s(self) -> float:
        return self.runs_s[0]

    @property
    def warm_s(self) -> float:
        return statistics.median(self.runs_s[1:])


def first_run(scratch: Path, **env: str) -> FirstRun:
    """``shopstream up`` on a broker never started, then the stress test ``STRESS_RUNS`` times."""
    workdir = Path(os.path.realpath(scratch)) / f"up-{uuid.uuid4().hex[:8]}"
    state = workdir / ".kafka"
    state.mkdir(parents=True)
    (state / "libs").symlink_to(REPO / ".kafka" / "libs")  # installed: the jars are there
    api_port = free_port()
    database = workdir / "database.json"
    up_env = {
        **{k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS",)},
        "KAFKA_LOCAL_PORT": str(free_port()),
        "KAFKA_LOCAL_CONTROLLER_PORT": str(free_port()),
        "API_PORT": str(api_port),
        "DATABASE_URL": str(database),
        **env,
    }
    log = workdir / "up.log"
    with Supervisor(up_env, cwd=workdir, stop_timeout=60) as supervisor:
        started = time.perf_counter()
        up = supervisor.start("up", "up", output=log)
        wait_for(lambda: _READY_LINE in log.read_text() or up.poll() is not None, 180, "up")
        if up.poll() is not None:  # not ready, ever: say why now, not after the timeout
            raise RuntimeError(f"shopstream up exited {up.returncode}: {log.read_text()[-500:]}")
        ready_s = time.perf_counter() - started
        url = f"http://127.0.0.1:{api_port}"
        store = open_store(str(database))
        runs = [
            stress_until_stored(url, store, STRESS_TICKETS * (n + 1)) for n in range(STRESS_RUNS)
        ]
    return FirstRun(ready_s, runs)


def first_runs(bench: Bench) -> None:
    """``shopstream up`` on a fresh state directory, then the stress test: ``RUNS`` times."""
    results = [first_run(bench.scratch) for _ in range(RUNS)]
    bench.add(
        Figure(
            "up_ready",
            "shopstream up to ready (installed, broker never started)",
            "s",
            [r.ready_s for r in results],
            "stated",
        ),
        Figure(
            "stress_cold",
            "stress test, first run on a broker just started",
            "s",
            [r.cold_s for r in results],
        ),
        Figure(
            "stress_warm",
            "stress test, median of the next three runs",
            "s",
            [r.warm_s for r in results],
            "≤ 2",
        ),
    )


# The servers of the per-request budget, each doing one more part of POST /data's work:
# the key, the app, whether it is a factory.
_BUDGET_SERVERS = (
    ("raw", "bench.reference_apps:raw_app", False),
    ("bare", "bench.reference_apps:bare_app", False),
    ("validate", "bench.reference_apps:validate_app", False),
    ("unpublished", "bench.reference_apps:unpublished_app", True),
)


def request_budget(bench: Bench) -> None:
    """Where a sequential request's time goes: the loop against servers doing more each time.

    Each difference of two servers' time per request is what the part one adds costs;
    the client's share is its own CPU time. Kafka's round trip is ``kafka_rtt``, measured
    by the ceilings; what publishing costs beyond it is the bridge between the event loop
    and the Kafka client. The stack is measured once the broker's JVM has compiled the
    path (``_COMPILED_AFTER_LOOPS``). Beside the wall time: the CPU each process spends
    per request (the client, the API with librdkafka's threads, the broker's JVM, the
    worker), with the worker running and without it, and a py-spy profile of the API
    over one loop.
    """
    per_request: dict[str, float] = {}
    client = 0.0
    for key, app, factory in _BUDGET_SERVERS:
        s = bench.stack()
        s.start_app(app, factory=factory)
        per_request[key], cpu = _loop_cpu_us(s.url, {})
        s.stop()
        if key == "raw":
            client = cpu["client"]  # the client's own CPU, against the server doing least
    broker = bench.broker.pid()
    if broker is None:
        raise RuntimeError("the bench's broker is not running")
    s = bench.stack()
    s.start_api()
    s.start_worker()
    # The broker's JVM compiles its produce and fetch paths over the first few thousand
    # requests through them: its CPU per request on the first loop, then once compiled.
    before = cpu_seconds(broker)
    sequential_loop(s.url)
    compiling = (cpu_seconds(broker) - before) / STRESS_TICKETS * 1e6
    for _ in range(_COMPILED_AFTER_LOOPS):
        sequential_loop(s.url)
    per_request["shopstream"], cpu = _loop_cpu_us(
        s.url, {"api": s.pid("api"), "worker": s.pid("worker"), "broker": broker}
    )
    finish = bench.profiled("api-sequential", s.pid("api"), 3)
    sequential_loop(s.url, STRESS_TICKETS * 2)
    finish()
    s.stop()
    s = bench.stack()
    s.start_api()
    per_request["no_worker"], alone = _loop_cpu_us(s.url, {"api": s.pid("api"), "broker": broker})
    s.stop()
    if "kafka_rtt" not in bench.figures:
        bench.repeat(
            Figure("kafka_rtt", "Kafka round trip of one acks=all message, median", "ms"),
            partial(kafka_round_trip_ms, bench.broker),
        )
    rtt = bench.figures.median("kafka_rtt") * 1000
    publish = per_request["shopstream"] - per_request["unpublished"]
    parts = [
        ("client", "the client (requests), its own CPU", client),
        ("http", "HTTP server (uvicorn) and loopback", per_request["raw"] - client),
        ("framework", "FastAPI routing and response", per_request["bare"] - per_request["raw"]),
        ("validation", "validating the ticket", per_request["validate"] - per_request["bare"]),
        (
            "route",
            "shopstream's route and middleware",
            per_request["unpublished"] - per_request["validate"],
        ),
        ("kafka", "Kafka's acks=all round trip", rtt),
        ("bridge", "publishing beyond Kafka's round trip", publish - rtt),
        ("total", "POST /data, one after the other", per_request["shopstream"]),
        (
            "no_worker",
            "POST /data, one after the other, no worker running",
            per_request["no_worker"],
        ),
        ("cpu_client", "CPU per request: the client", cpu["client"]),
        ("cpu_api", "CPU per request: the API (librdkafka's threads included)", cpu["api"]),
        ("cpu_broker", "CPU per request: the broker's JVM", cpu["broker"]),
        (
            "cpu_broker_compiling",
            "CPU per request: the broker's JVM, first 1000 through this stack",
            compiling,
        ),
        ("cpu_worker", "CPU per request: the worker", cpu["worker"]),
        ("cpu_api_alone", "CPU per request: the API, no worker running", alone["api"]),
        ("cpu_broker_alone", "CPU per request: the broker, no worker running", alone["broker"]),
    ]
    for key, name, value in parts:
        bench.add(Figure(f"budget_{key}", f"per-request budget: {name}", "µs", [value]))


def _loop_cpu_us(url: str, pids: dict[str, int]) -> tuple[float, dict[str, float]]:
    """µs per request of the sequential loop, and the CPU µs per request of the client and
    of each of ``pids`` (medians of ``RUNS`` after one to warm up)."""
    sequential_loop(url)
    walls: list[float] = []
    cpus: dict[str, list[float]] = {name: [] for name in ("client", *pids)}
    for _ in range(RUNS):
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        loop = sequential_loop(url)
        walls.append(loop.seconds / STRESS_TICKETS * 1e6)
        cpus["client"].append(loop.client_cpu_seconds / STRESS_TICKETS * 1e6)
        for name, pid in pids.items():
            cpus[name].append((cpu_seconds(pid) - before[name]) / STRESS_TICKETS * 1e6)
    return statistics.median(walls), {name: statistics.median(v) for name, v in cpus.items()}
