"""What the metrics cost each request: ``POST /data`` at 64 connections, with and without.

Two stacks of one run, alike but for ``API_METRICS``: wrk on each in turn, the order
swapped every run so that neither always goes first onto a warmer machine. The cost is
the API's CPU per request with metrics minus without, and the throughput ratio.

On two shared cores that difference drowns in noise; so the same app is also called
in-process, without a network or Kafka (a publisher that acknowledges at once), timing
the CPU of 20,000 ``POST /data`` each way: the metrics' own cost, to about a µs.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from fastapi import FastAPI
from starlette.types import Message

from bench.context import RUNS, Bench
from bench.figures import Figure
from bench.reference_apps import AtOnce
from bench.stack import Stack, check_stored, cpu_seconds, wrk
from shopstream.api import create_app
from shopstream.config import ApiSettings, Settings
from shopstream.models import example_ticket

CONNECTIONS = 64
IN_PROCESS_REQUESTS = 20_000
_CHUNK = 500


def metrics_cost(bench: Bench) -> None:
    stacks = {"on": bench.stack(), "off": bench.stack(API_METRICS="false")}
    rate = {
        mode: Figure(f"metrics_{mode}_c64", f"POST /data at 64, metrics {mode}", "tickets/s")
        for mode in stacks
    }
    api_cpu = {
        mode: Figure(
            f"metrics_{mode}_c64_api_cpu", f"POST /data at 64, metrics {mode}: API CPU", "µs"
        )
        for mode in stacks
    }
    acknowledged = dict.fromkeys(stacks, 0)
    for s in stacks.values():
        s.start_api()
        s.start_worker()
    for mode, s in stacks.items():  # warm-up: the producer's id, the connections
        acknowledged[mode] += int(wrk(s.url, CONNECTIONS, seconds=2)["requests"])
    for run in range(RUNS):
        order = list(stacks) if run % 2 == 0 else list(reversed(stacks))
        for mode in order:
            requests, rps, cpu_us = _measure(stacks[mode])
            acknowledged[mode] += requests
            rate[mode].values.append(rps)
            api_cpu[mode].values.append(cpu_us)
    for mode, s in stacks.items():
        check_stored(s, acknowledged[mode])
        s.stop()
    cost = [on - off for on, off in zip(api_cpu["on"].values, api_cpu["off"].values, strict=True)]
    bench.add(
        *rate.values(),
        *api_cpu.values(),
        Figure(
            "metrics_cost_c64_api_cpu",
            "metrics' cost per request at 64: API CPU with minus without",
            "µs",
            cost,
        ),
    )
    _in_process(bench)


def _in_process(bench: Bench) -> None:
    timed = {
        mode: Figure(f"metrics_{mode}_in_process", f"POST /data in-process, metrics {mode}", "µs")
        for mode in ("on", "off")
    }
    for _ in range(RUNS):
        for mode, us in asyncio.run(_per_request_us()).items():
            timed[mode].values.append(us)
    bench.add(
        *timed.values(),
        Figure(
            "metrics_cost_in_process",
            "metrics' cost per request, in-process: with minus without",
            "µs",
            [on - off for on, off in zip(timed["on"].values, timed["off"].values, strict=True)],
        ),
    )


async def _per_request_us() -> dict[str, float]:
    """CPU µs per ``POST /data`` through the whole ASGI app (its publisher instant), with
    metrics and without: in alternating chunks, so that both see the machine alike."""
    apps = {
        mode: create_app(Settings(api=ApiSettings(metrics=mode == "on")), publisher=AtOnce())
        for mode in ("on", "off")
    }
    body = orjson.dumps(example_ticket("1"))
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "path": "/data", "raw_path": b"/data", "query_string": b"", "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"host", b"bench")],
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "scheme": "http",
    }  # fmt: skip
    statuses: set[int] = set()

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.add(message["status"])

    async def chunk(app: FastAPI, requests: int) -> float:
        started = time.process_time()
        for _ in range(requests):
            await app(dict(scope), receive, send)
        return time.process_time() - started

    spent = dict.fromkeys(apps, 0.0)
    async with _lifespan(apps["on"]), _lifespan(apps["off"]):
        for app in apps.values():
            await chunk(app, 1000)  # warm: the first calls build caches
        for _ in range(IN_PROCESS_REQUESTS // _CHUNK):
            for mode, app in apps.items():
                spent[mode] += await chunk(app, _CHUNK)
    if statuses != {202}:
        raise RuntimeError(f"in-process POST /data answered {sorted(statuses)}")
    return {mode: s / IN_PROCESS_REQUESTS * 1_000_000 for mode, s in spent.items()}


def _lifespan(app: FastAPI) -> Any:
    return app.router.lifespan_context(app)


def _measure(s: Stack) -> tuple[int, float, float]:
    """One wrk run: requests acknowledged, their rate, the API's CPU per request (µs)."""
    before = cpu_seconds(s.pid("api"))
    run = wrk(s.url, CONNECTIONS)
    after = cpu_seconds(s.pid("api"))
    requests = int(run["requests"])
    return requests, run["rate"], (after - before) / requests * 1_000_000
