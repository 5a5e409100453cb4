"""``make bench``: every scenario a few times on this machine, medians into bench/results.

Everything runs here at once, as the product runs: a real broker, the API and the worker
started exactly as ``shopstream up`` starts them, and wrk as the load generator. Every
run checks what it stored (the count, and one ticket's content), so a fast wrong answer
cannot pass. ``python -m bench --only first_runs,request_budget`` runs some scenarios.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench import ceilings, drains, endtoend, firstrun, ingest, metricscost, rebuilds
from bench.context import Bench
from bench.figures import Figure, Ratio, source_commit, write_results
from bench.stack import PEAK_RSS_MB, REPO
from shopstream.localkafka.broker import LocalBroker
from testbed.ports import free_port
from testbed.postgres import PostgresServer


def memory(bench: Bench) -> None:
    for role, target in (("api", "≤ 150"), ("worker", "")):
        bench.add(
            Figure(
                f"peak_rss_{role}",
                f"peak RSS of the {role} over all runs",
                "MB",
                [PEAK_RSS_MB.get(role, 0.0)],
                target,
            )
        )


# In the order they run: the first runs come first, on a machine not yet busy.
SCENARIOS: dict[str, Callable[[Bench], None]] = {
    "first_runs": firstrun.first_runs,
    "single_ticket": ingest.single_ticket,
    "server_ceilings": ingest.server_ceilings,
    "batches": ingest.batches,
    "drains": drains.drains,
    "kafka_and_sqlite": ceilings.kafka_and_sqlite,
    "request_budget": firstrun.request_budget,
    "metrics_cost": metricscost.metrics_cost,
    "end_to_end": endtoend.end_to_end,
    "a_million": drains.a_million,
    "rebuilds": rebuilds.rebuilds,
    "memory": memory,
}
RATIOS = [
    Ratio("post_c64", "validate_c64", at_least=0.60, every_run=True),
    Ratio("post_c64", "post_c64_cpu_ceiling"),
    Ratio("batch_1000", "batch_1000_cpu_ceiling"),
    Ratio("batch_1000", "kafka_producer_performance"),
    Ratio("drain_sqlite", "sqlite_insert"),
    # prometheus-client's counters take a lock each: a few µs of a request's budget.
    Ratio("metrics_on_c64", "metrics_off_c64", at_least=0.95),
    Ratio("metrics_on_c64_api_cpu", "metrics_off_c64_api_cpu", at_most=1.05),
    Ratio("metrics_on_in_process", "metrics_off_in_process", at_most=1.10),
    Ratio("stress_cold", "stress_warm", at_most=1.3, every_run=True, percent=False),
    Ratio("stress_warm", "stress_floor", at_most=1.5, percent=False),
    *rebuilds.RATIOS,
]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument(
        "--only", default="", help=f"comma-separated scenarios, of: {', '.join(SCENARIOS)}"
    )
    only = [name for name in parser.parse_args().only.split(",") if name]
    unknown = set(only) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
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
        ceilings.producer_performance(broker, drains.DRAIN_TICKETS)
        postgres = PostgresServer(Path(tempfile.mkdtemp(prefix="shopstream-pg-")), durable=True)
        postgres.start()
        bench = Bench(broker, postgres, Path(scratch))
        try:
            for name, scenario in SCENARIOS.items():
                if not only or name in only:
                    scenario(bench)
        finally:
            for stack in bench.stacks:
                stack.stop()
            broker.stop()
            postgres.stop()
            postgres.remove()
    profiles = "## Where the time goes (py-spy)\n\n" + "\n".join(bench.profiles)
    written = write_results(bench.figures, RATIOS, profiles, started, commit, partial=bool(only))
    print(f"bench done in {time.time() - started:.0f} s: {', '.join(map(str, written))}")


if __name__ == "__main__":
    main()
