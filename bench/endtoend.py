"""POST-to-stored latency at a steady rate: an open-loop sender and a store watcher.

The sender fires each ticket at its scheduled time whatever the previous answers did
(open loop, so a slow moment cannot hide behind fewer requests), and a separate process
notes when each one appears in ``database.json``. Both use the system-wide monotonic clock.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field

import aiohttp

from bench.context import RUNS, Bench
from bench.figures import Figure
from bench.stack import Stack
from shopstream.models import example_ticket

RATE = 1000
SECONDS = 10


@dataclass
class Sent:
    at: dict[str, float] = field(default_factory=dict)  # id -> monotonic send time
    answered_ms: list[float] = field(default_factory=list)
    failures: int = 0


async def send_paced(
    url: str, prefix: str, rate: float, count: int, sent: Sent | None = None
) -> Sent:
    """``count`` tickets posted at ``rate`` a second, recorded in ``sent`` as they are answered."""
    sent = Sent() if sent is None else sent
    connector = aiohttp.TCPConnector(limit=128)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def post(ticket_id: str) -> None:
            started = time.monotonic()
            sent.at[ticket_id] = started
            async with session.post(f"{url}/data", json=example_ticket(ticket_id)) as response:
                await response.read()
                if response.status != 202:
                    sent.failures += 1
            sent.answered_ms.append((time.monotonic() - started) * 1000)

        begin = time.monotonic()
        tasks = []
        for i in range(count):
            delay = begin + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(f"{prefix}{i}")))
        await asyncio.gather(*tasks)
    return sent


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def post_to_stored(stack: Stack, rate: float, seconds: float) -> dict[str, float]:
    """Latency percentiles (ms) from each POST to the moment its ticket is in the store."""
    count = int(rate * seconds)
    prefix = f"e2e-{uuid.uuid4().hex[:6]}-"
    watcher = subprocess.Popen(
        [sys.executable, "-m", "bench.observe", stack.database_url, prefix, str(count), "120"],
        env=stack.env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert watcher.stdout is not None
    watcher.stdout.readline()  # "ready"
    sent = asyncio.run(send_paced(stack.url, prefix, rate, count))
    stored_at = dict(line.split() for line in watcher.stdout.read().splitlines())
    watcher.wait()
    if sent.failures or len(stored_at) != count:
        raise RuntimeError(
            f"end to end: {sent.failures} refused, {len(stored_at)} of {count} stored"
        )
    latencies = [(float(stored_at[i]) - at) * 1000 for i, at in sent.at.items()]
    return {
        "p50_ms": _percentile(latencies, 0.50),
        "p99_ms": _percentile(latencies, 0.99),
        "answer_p99_ms": _percentile(sent.answered_ms, 0.99),
    }


def end_to_end(bench: Bench) -> None:
    s = bench.stack()
    s.start_api()
    s.start_worker()
    post_to_stored(s, RATE, 2)  # warm-up
    runs = [post_to_stored(s, RATE, SECONDS) for _ in range(RUNS)]
    s.stop()
    at = f"at {RATE:,} tickets/s"
    bench.add(
        Figure("e2e_p50", f"POST to stored p50, {at}", "ms", [r["p50_ms"] for r in runs]),
        Figure("e2e_p99", f"POST to stored p99, {at}", "ms", [r["p99_ms"] for r in runs], "≤ 100"),
        Figure(
            "e2e_answer_p99", f"POST answered p99, {at}", "ms", [r["answer_p99_ms"] for r in runs]
        ),
    )
