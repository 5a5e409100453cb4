"""``POST /data`` and ``POST /data/batch`` under wrk, and the servers that bound them."""

from __future__ import annotations

from functools import partial

from bench.context import CORES, ROLES, RUNS, Bench
from bench.figures import Figure
from bench.firstrun import sequential_loop
from bench.stack import WRK_SECONDS, check_stored, cpu_seconds, wrk

CONNECTIONS = (1, 16, 64)
BATCHES = (100, 1000)


def single_ticket(bench: Bench) -> None:
    """POST /data at three concurrencies."""
    for connections in CONNECTIONS:
        at_64 = connections == 64
        _ingest(
            bench,
            connections,
            0,
            Figure(
                f"post_c{connections}",
                f"POST /data, concurrency {connections}",
                "tickets/s",
                target="≥ 5,000" if at_64 else "",
            ),
            Figure(
                f"post_c{connections}_p99",
                f"POST /data p99, concurrency {connections}",
                "ms",
                target="≤ 50" if at_64 else "",
            ),
            profile_name="api-post-data-c64" if at_64 else "",
        )


def batches(bench: Bench) -> None:
    for size in BATCHES:
        _ingest(
            bench,
            8,
            size,
            Figure(
                f"batch_{size}",
                f"POST /data/batch of {size}",
                "tickets/s",
                target="≥ 50,000" if size == 1000 else "",
            ),
            Figure(f"batch_{size}_p99", f"POST /data/batch of {size} p99", "ms"),
            profile_name="api-post-batch-1000" if size == 1000 else "",
        )


def _ingest(
    bench: Bench, connections: int, batch: int, rate: Figure, p99: Figure, profile_name: str
) -> None:
    """wrk on a fresh API and worker; with a profile name, also where the CPU goes."""
    s = bench.stack()
    s.start_api()
    s.start_worker()
    # Warm up first (the producer's idempotence id, connections), then measure.
    tickets_per_request = max(batch, 1)
    acknowledged = int(wrk(s.url, connections, batch, seconds=2)["requests"])
    acknowledged *= tickets_per_request
    cpu = {
        role: Figure(f"{rate.key}_cpu_{role.lower()}", f"{rate.name}: CPU per ticket, {role}", "µs")
        for role in ROLES
    }
    for _ in range(RUNS):
        before = bench.cpu(s)
        run = wrk(s.url, connections, batch)
        after = bench.cpu(s)
        tickets = run["requests"] * tickets_per_request
        acknowledged += int(tickets)
        rate.values.append(run["rate"] * tickets_per_request)
        p99.values.append(run["p99_ms"])
        for role in ROLES:
            cpu[role].values.append((after[role] - before[role]) / tickets * 1_000_000)
    if profile_name:  # one more run, not counted: sampling slows the process it samples
        finish = bench.profiled(profile_name, s.pid("api"), WRK_SECONDS - 2)
        acknowledged += int(wrk(s.url, connections, batch)["requests"]) * tickets_per_request
        finish()
    check_stored(s, acknowledged)
    s.stop()
    bench.add(rate, p99)
    if profile_name:
        bench.add(*cpu.values())
        total = [sum(v) for v in zip(*(f.values for f in cpu.values()), strict=True)]
        bench.add(
            Figure(
                f"{rate.key}_cpu_ceiling",
                f"ceiling: whole stack's CPU, {rate.name}",
                "tickets/s",
                [CORES * 1_000_000 / t for t in total],
                f"{CORES} cores / CPU per ticket",
            )
        )


def server_ceilings(bench: Bench) -> None:
    """The same server: (a) return at once, (b) validate exactly as POST /data does.

    Then the best POST /data could do here if publishing cost the API nothing: the
    validate-only server's CPU per request plus what the broker, the worker and wrk
    spent per ticket at 64 connections, against the machine's cores. And the floor of
    the stress test: its sequential loop against the validate-only server.
    """
    for key, name, app in (
        ("bare", "bare handler", "bench.reference_apps:bare_app"),
        ("validate", "validate only", "bench.reference_apps:validate_app"),
    ):
        s = bench.stack()
        server = s.start_app(app)
        rate = Figure(f"{key}_c64", f"ceiling: {name}, concurrency 64", "req/s")
        server_cpu = Figure(f"{key}_cpu", f"ceiling: {name}, CPU per request, server", "µs")
        for _ in range(RUNS):
            before = cpu_seconds(server.pid)
            run = wrk(s.url, 64)
            after = cpu_seconds(server.pid)
            rate.values.append(run["rate"])
            server_cpu.values.append((after - before) / run["requests"] * 1_000_000)
        bench.add(rate, server_cpu)
        if key == "validate":
            sequential_loop(s.url)  # its first run pays for the connection and imports
            bench.repeat(
                Figure(
                    "stress_floor",
                    "floor: the stress test's 1000 POSTs to the validate-only server",
                    "s",
                ),
                partial(_loop_seconds, s.url),
            )
        s.stop()
    roles = [f"post_c64_cpu_{role}" for role in ("broker", "worker", "wrk")]
    if not all(key in bench.figures for key in roles):
        return  # single_ticket did not run
    others = sum(bench.figures.median(key) for key in roles)
    bench.add(
        Figure(
            "post_c64_unpublished_ceiling",
            "ceiling: POST /data at 64 if publishing cost the API nothing",
            "tickets/s",
            [CORES * 1_000_000 / (bench.figures.median("validate_cpu") + others)],
            "validate-only server + broker + worker + wrk CPU",
        )
    )


def _loop_seconds(url: str) -> float:
    return sequential_loop(url).seconds
