"""The seed's stress test done right.

Every ticket has an id unique to the run, every answer is checked, and the clock stops
only when every accepted ticket is in the store (or the timeout passes), so the figure is
ingest-to-stored, not just how fast requests were fired.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from shopstream.stores import Store

_POLL_S = 0.05


def seed_ticket(ticket_id: str) -> dict[str, Any]:
    """The basket of the seed's example: a banana, a bread and a water at 1.5 each."""
    return {
        "id": ticket_id,
        "store": "Brussels",
        "date": "2020-01-01",
        "products": [
            {"id": "123456789", "name": "Banana", "price": 1.5},
            {"id": "123456789", "name": "Bread", "price": 1.5},
            {"id": "123456789", "name": "Water", "price": 1.5},
        ],
    }


@dataclass
class StressResult:
    sent: int = 0
    accepted: list[str] = field(default_factory=list)
    refused: dict[int, int] = field(default_factory=dict)  # status code -> count
    errors: int = 0
    missing: set[str] = field(default_factory=set)
    seconds: float = 0.0

    @property
    def stored(self) -> int:
        return len(self.accepted) - len(self.missing)

    @property
    def rate(self) -> float:
        return self.stored / self.seconds if self.seconds else 0.0

    @property
    def ok(self) -> bool:
        return not self.missing and self.errors == 0 and not self.refused


async def _send_all(
    url: str,
    ids: list[str],
    concurrency: int,
    result: StressResult,
    on_sent: Callable[[], None],
) -> None:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for ticket_id in ids:
        queue.put_nowait(ticket_id)
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=30.0)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:

        async def sender() -> None:
            while not queue.empty():
                ticket_id = queue.get_nowait()
                try:
                    async with client.post(url, json=seed_ticket(ticket_id)) as response:
                        await response.read()
                except (aiohttp.ClientError, TimeoutError):
                    result.errors += 1
                else:
                    if response.ok:
                        result.accepted.append(ticket_id)
                    else:
                        code = response.status
                        result.refused[code] = result.refused.get(code, 0) + 1
                result.sent += 1
                on_sent()

        await asyncio.gather(*(sender() for _ in range(concurrency)))


def wait_until_stored(store: Store, ids: list[str], timeout: float) -> set[str]:
    """Poll the store until every id is in it; the ids still missing at the deadline."""
    missing = set(ids)
    deadline = time.monotonic() + timeout
    while missing:
        missing = store.missing(missing)
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(_POLL_S)
    return missing


def run_stress(
    url: str,
    count: int,
    store: Store,
    *,
    concurrency: int = 1,
    timeout: float = 60.0,
    on_sent: Callable[[], None] = lambda: None,
) -> StressResult:
    """POST ``count`` seed tickets to ``url``, then wait until the accepted ones are stored."""
    run = uuid.uuid4().hex[:8]
    ids = [f"stress-{run}-{i}" for i in range(count)]
    result = StressResult()
    started = time.perf_counter()
    asyncio.run(_send_all(url, ids, concurrency, result, on_sent))
    result.missing = wait_until_stored(store, result.accepted, timeout)
    result.seconds = time.perf_counter() - started
    return result
