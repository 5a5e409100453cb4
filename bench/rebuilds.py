"""``shopstream rebuild`` per store: idle, and with tickets arriving, against the worker's drain.

Each store is first filled by its worker from a topic of ``REBUILD_TICKETS`` tickets (the
drain, timed: the rate the rebuild is compared with), then the manager's list changes and
``shopstream rebuild`` runs twice: with the pipeline idle, then with ``ARRIVING_PER_S``
tickets a second posted to the API throughout. Its rate is from its start to its exit,
start-up included, as the drain's is, and its peak RSS is recorded.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import threading
import time
import uuid
from importlib import resources
from pathlib import Path

import httpx2
import orjson
from prometheus_client.parser import text_string_to_metric_families

from bench import million
from bench.context import Bench
from bench.endtoend import Sent, send_paced
from bench.figures import Figure, Ratio
from bench.stack import Stack, check_stored, peak_rss_mb
from shopstream.supervise import wait_for
from testbed.ports import free_port

REBUILD_TICKETS = 1_000_000
"""each store is filled with this many (issue 16's size), then rebuilt twice"""
ARRIVING_PER_S = 500
BUNDLED: dict[str, str] = orjson.loads(
    resources.files("shopstream").joinpath("categories.json").read_bytes()
)
BREAD_FOR_BREAKFAST = {**BUNDLED, "Bakery": "croissant, baguette, cake", "Breakfast": "bread"}
FRUIT_AND_VEG = {**BREAD_FOR_BREAKFAST, "Fruit": "pear, kiwi", "Fruit & Veg": "apple, banana"}
_RSS_EVERY_S = 0.05
_DONE = re.compile(r"with category list \w+: ([\d,]+) tickets in")
_STORES = ("json", "sqlite", "postgresql")
RATIOS = [
    Ratio(f"rebuild_{when}_{store}", f"rebuild_drain_{store}", at_least=1.0)
    for store in _STORES
    for when in ("idle", "arriving")
]


def rebuilds(bench: Bench) -> None:
    for label, database in bench.stores():
        # A topic each: the tickets posted while one store is rebuilt are not the next's.
        topic = f"rebuild-{label.lower()}-{uuid.uuid4().hex[:8]}"
        million.fill_topic(bench.broker, topic, REBUILD_TICKETS)
        # Given to the stack when it is made: its processes' environment is copied then.
        categories = bench.scratch / f"{topic}-categories.json"
        categories.write_bytes(orjson.dumps(BUNDLED))
        s = bench.stack(
            database(),
            topic=topic,
            CATEGORIES_FILE=str(categories),
            WORKER_METRICS_PORT=str(free_port()),
        )
        bench.add(*_measured(s, label, categories))
        s.stop()


def _measured(s: Stack, label: str, categories: Path) -> list[Figure]:
    """The drain into the stack's store, then its rebuilds, idle and with tickets arriving."""
    store = label.lower()
    started = time.perf_counter()
    s.start_worker()
    check_stored(s, REBUILD_TICKETS, timeout=1800)
    drained = REBUILD_TICKETS / (time.perf_counter() - started)
    s.start_api()
    categories.write_bytes(orjson.dumps(BREAD_FOR_BREAKFAST))
    idle, idle_rss = _rebuild(s)
    categories.write_bytes(orjson.dumps(FRUIT_AND_VEG))
    # Posting for longer than the idle rebuild took, twice over: it runs under load.
    seconds = 2 * REBUILD_TICKETS / idle + 10
    sent = Sent()
    sender = threading.Thread(target=_arriving, args=(s, seconds, sent))
    sender.start()
    # The pipeline storing as it goes before the rebuild starts: after the idle rebuild's
    # switch, a JSON worker reads the new file once (its index of ids) before it stores again.
    posted = time.perf_counter()
    wait_for(
        lambda: _worker_stored(s) >= REBUILD_TICKETS + ARRIVING_PER_S,
        120,
        "a second of the arriving tickets stored",
    )
    resumed = time.perf_counter() - posted
    arriving, arriving_rss = _rebuild(s)
    sender.join()
    expected = REBUILD_TICKETS + int(ARRIVING_PER_S * seconds)
    wait_for(lambda: s.stored() >= expected, 120, f"{expected:,} tickets stored")
    if s.stored() != expected:
        raise RuntimeError(f"{s.stored():,} tickets stored after the rebuilds, not {expected:,}")
    size = f"{REBUILD_TICKETS:,}"
    return [
        Figure(
            f"rebuild_drain_{store}", f"worker drain of {size}, {label}", "tickets/s", [drained]
        ),
        Figure(
            f"rebuild_idle_{store}",
            f"rebuild of {size}, {label}, idle",
            "tickets/s",
            [idle],
            "≥ drain",
        ),
        Figure(
            f"rebuild_arriving_{store}",
            f"rebuild of {size}, {label}, {ARRIVING_PER_S} tickets/s arriving",
            "tickets/s",
            [arriving],
            "≥ drain",
        ),
        Figure(
            f"rebuild_resumed_{store}",
            f"after a switch of {size}, {label}: first arriving ticket to a second of them stored",
            "s",
            [resumed],
        ),
        Figure(
            f"rebuild_rss_{store}",
            f"rebuild peak RSS, {size}, {label}",
            "MB",
            [max(idle_rss, arriving_rss)],
        ),
    ]


def _worker_stored(s: Stack) -> float:
    """The worker's count of tickets it stored, from its ``/metrics`` (not the store: counting
    a JSON store just switched reads it whole)."""
    port = s.env["WORKER_METRICS_PORT"]
    try:
        text = httpx2.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx2.HTTPError:
        return 0.0  # not serving yet
    for family in text_string_to_metric_families(text):
        if family.name == "shopstream_tickets_stored":
            return sum(sample.value for sample in family.samples if sample.name.endswith("_total"))
    return 0.0


def _arriving(s: Stack, seconds: float, sent: Sent) -> None:
    prefix = f"arriving-{uuid.uuid4().hex[:6]}-"
    count = int(ARRIVING_PER_S * seconds)
    asyncio.run(send_paced(s.url, prefix, ARRIVING_PER_S, count, sent))
    if sent.failures:
        raise RuntimeError(f"{sent.failures} tickets refused while the store was rebuilt")


def _rebuild(s: Stack) -> tuple[float, float]:
    """``shopstream rebuild`` on the stack's store: tickets/s, and its peak RSS (MB).

    The peak is the process's own high-water mark (VmHWM, reset by exec), read until it
    exits; ``wait4``'s would count the bench's own memory, copied at the fork.
    """
    output = s.workdir / f"rebuild-{time.time_ns()}.out"
    started = time.perf_counter()
    peak = 0.0
    with output.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "shopstream", "rebuild"],
            env=s.env,
            cwd=s.workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        while process.poll() is None:
            peak = max(peak, peak_rss_mb(process.pid))
            time.sleep(_RSS_EVERY_S)
    seconds = time.perf_counter() - started
    text = output.read_text()
    done = _DONE.search(text)
    if process.returncode != 0 or done is None:
        raise RuntimeError(f"shopstream rebuild failed ({process.returncode}):\n{text}")
    print(text, flush=True)
    return int(done.group(1).replace(",", "")) / seconds, peak
