"""Load: clients posting fresh tickets, and the verdict on what the store then holds.

One generator serves ``shopstream stress`` (the exercise's stress test, done right), the
fault suite, the integration tests and the benchmark. Every ticket has an id unique to the
run and every answer is recorded, so the verdict can compare what was acknowledged with
what is stored: every acknowledged ticket there, and once, the way Kafka's own system
tests and Jepsen check delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import aiohttp

from shopstream.models import example_ticket
from shopstream.stores import Store
from shopstream.supervise import wait_for

_ERROR_PAUSE_S = 0.05  # a client whose request failed (the API is down) does not spin
_REQUEST_TIMEOUT_S = 30.0


@dataclass
class Load:
    """``clients`` posting fresh tickets to ``endpoint``, ``count`` of them or until stopped.

    With ``batch``, each request is a ``POST /data/batch`` of that many tickets.
    """

    endpoint: str
    clients: int = 8
    batch: int = 0
    count: int | None = None
    prefix: str = field(default_factory=lambda: f"load-{uuid.uuid4().hex[:8]}")
    on_sent: Callable[[int], None] = lambda _: None
    sent: int = 0
    acknowledged: list[str] = field(default_factory=list)
    refused: Counter[int] = field(default_factory=Counter)
    errors: int = 0
    slowest_refusal_s: float = 0.0
    _next: int = 0
    _stopping: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Load:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._send()), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> Load:
        """Let the requests in flight finish, then return."""
        self._stopping.set()
        return self.join()

    def join(self) -> Load:
        if self._thread is not None:
            self._thread.join()
        return self

    def run(self) -> Load:
        """Send ``count`` tickets and return once every one was answered."""
        return self.start().join()

    def _ids(self) -> list[str]:
        size = max(self.batch, 1)
        if self.count is not None:
            size = min(size, self.count - self._next)
        ids = [f"{self.prefix}-{n}" for n in range(self._next, self._next + size)]
        self._next += size
        return ids

    async def _send(self) -> None:
        connector = aiohttp.TCPConnector(limit=self.clients)
        timeout = aiohttp.ClientTimeout(total=_REQUEST_TIMEOUT_S)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:
            await asyncio.gather(*(self._client(client) for _ in range(self.clients)))

    async def _client(self, client: aiohttp.ClientSession) -> None:
        while not self._stopping.is_set():
            ids = self._ids()
            if not ids:
                return
            tickets = [example_ticket(ticket_id) for ticket_id in ids]
            started = time.monotonic()
            try:
                body = tickets if self.batch else tickets[0]
                async with client.post(self.endpoint, json=body) as response:
                    await response.read()
            except (aiohttp.ClientError, TimeoutError):
                self.errors += 1
                await asyncio.sleep(_ERROR_PAUSE_S)
            else:
                if response.ok:
                    self.acknowledged.extend(ids)
                else:
                    self.refused[response.status] += 1
                    self.slowest_refusal_s = max(self.slowest_refusal_s, time.monotonic() - started)
            self.sent += len(ids)
            self.on_sent(len(ids))


def stored_at_least(store: Store, count: int) -> bool:
    return store.count() >= count


def wait_stored(store: Store, ids: Iterable[str], timeout: float) -> set[str]:
    """Wait until every id is stored; the ids still missing at the deadline."""
    missing = set(ids)

    def all_stored() -> bool:
        missing.intersection_update(store.missing(missing))
        return not missing

    with contextlib.suppress(TimeoutError):
        wait_for(all_stored, timeout, f"{len(missing)} tickets stored")
    return missing


@dataclass(frozen=True)
class Verdict:
    """What was acknowledged against what is stored: nothing lost, nothing twice."""

    acknowledged: int
    stored: int
    lost: int
    duplicated: int

    @classmethod
    def of(cls, acknowledged: Iterable[str], store: Store) -> Verdict:
        wanted = set(acknowledged)
        copies = Counter(ticket.id for ticket in store.tickets())
        return cls(
            acknowledged=len(wanted),
            stored=len(copies),
            lost=len(wanted - set(copies)),
            duplicated=sum(1 for n in copies.values() if n > 1),
        )

    @property
    def holds(self) -> bool:
        return self.acknowledged > 0 and self.lost == 0 and self.duplicated == 0

    def line(self, scenario: str, faults: int) -> str:
        return (
            f"{scenario:<32} faults {faults:>3}  acknowledged {self.acknowledged:>6}  "
            f"stored {self.stored:>6}  lost {self.lost}  duplicated {self.duplicated}"
        )


@dataclass
class StressResult:
    """``shopstream stress``: the load, what of it is not stored, and how long it took."""

    load: Load
    missing: set[str]
    seconds: float

    @property
    def stored(self) -> int:
        return len(self.load.acknowledged) - len(self.missing)

    @property
    def rate(self) -> float:
        return self.stored / self.seconds if self.seconds else 0.0

    @property
    def ok(self) -> bool:
        return not self.missing and self.load.errors == 0 and not self.load.refused


def stress(
    endpoint: str,
    count: int,
    store: Store,
    *,
    concurrency: int = 1,
    timeout: float = 60.0,
    on_sent: Callable[[int], None] = lambda _: None,
) -> StressResult:
    """POST ``count`` tickets, then wait until the acknowledged ones are stored.

    The clock stops only when every acknowledged ticket is in the store (or the timeout
    passes): the figure is ingest to stored, not how fast requests were fired.
    """
    prefix = f"stress-{uuid.uuid4().hex[:8]}"
    load = Load(endpoint, clients=concurrency, count=count, prefix=prefix, on_sent=on_sent)
    started = time.perf_counter()
    load.run()
    missing = wait_stored(store, load.acknowledged, timeout)
    return StressResult(load, missing, time.perf_counter() - started)
