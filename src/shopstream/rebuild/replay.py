"""``shopstream rebuild --into URL``: a new store of any kind, built from the ticket topic.

The topic is read from its first offset by a consumer group of the rebuild's own, up to
the live workers' committed position, and what it reads goes through the worker's own
code (``Worker.handle``): the same validation, the same rules for id conflicts and for
tickets the store refuses, in the same order, so what the workers did not store is not
stored either. Those messages are counted, not dead-lettered again (the workers did).

It refuses to start if the topic no longer begins at offset 0 where it must read from:
retention deleted tickets the live store may hold, and the new store would lack them.
Stopped half-way, it says so; run again, it resumes from its group's position.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from shopstream.analytics import Filters
from shopstream.catalog import Catalog
from shopstream.config import Settings
from shopstream.errors import ConfigurationError
from shopstream.kafka.deadletters import Rejected
from shopstream.kafka.history import HistoryReader, Offsets, committed, watermarks
from shopstream.rebuild.writer import BATCH, UNHEARD, Interrupted, Reporting
from shopstream.secret_url import mask
from shopstream.stores import Store, open_store
from shopstream.worker import Worker

_WAIT_S = 1.0
_IDS_PER_CHECK = 10_000


@dataclass
class NotStored:
    """What the worker's code did not store, by reason (a dead-letter sink that sends nothing)."""

    reasons: Counter[str] = field(default_factory=Counter)

    def send(self, rejected: Sequence[Rejected]) -> None:
        for item in rejected:
            self.reasons[item.reason.split(":", 1)[0]] += 1

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class Replayed:
    group: str
    messages: int
    """messages read, up to the live position"""
    stored: int
    """tickets stored by this run"""
    tickets: int
    """tickets in the new store"""
    not_stored: Counter[str]
    missing: list[str]
    """ids of the live store the new one lacks (a few of them)"""
    missing_count: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


def rebuild_group(settings: Settings, target_url: str) -> str:
    """The rebuild's own consumer group: one per target store, so that a re-run resumes."""
    digest = hashlib.sha256(target_url.encode()).hexdigest()[:12]
    return f"{settings.worker.group}.rebuild-{digest}"


def replay_into(
    settings: Settings,
    target_url: str,
    catalog: Catalog,
    stopping: threading.Event,
    reporting: Reporting = UNHEARD,
) -> Replayed:
    """Build the store ``target_url`` from the ticket topic, up to the live group's position."""
    started = time.perf_counter()
    live_url = settings.store.database_url.get_secret_value()
    _refuse_the_live_store(live_url, target_url)
    group = rebuild_group(settings, target_url)
    live_group = settings.worker.group
    live = committed(settings, live_group)
    if not live:
        raise ConfigurationError(
            f"the consumer group {live_group} (WORKER_GROUP) has stored nothing from the topic "
            f"{settings.kafka.topic} yet: there is nothing to rebuild"
        )
    ours = committed(settings, group)
    target = open_store(target_url)
    _check_target(target, target_url, catalog, resuming=bool(ours))
    edges = watermarks(settings)
    start = {p: ours.get(p, 0) for p in edges.first}
    for partition, first in edges.first.items():
        if first > start[partition]:
            raise ConfigurationError(
                f"the topic {settings.kafka.topic} no longer holds its history: partition "
                f"{partition} begins at offset {first}, so offsets {start[partition]} to "
                f"{first - 1} were deleted (retention, KAFKA_RETENTION_MS). The store "
                f"{mask(live_url)} may hold tickets from them, and a store built from what "
                "is left would silently lack them: nothing was built"
            )

    def live_position() -> Offsets:
        position = committed(settings, live_group)
        reporting.total(sum(max(position.get(p, 0) - start[p], 0) for p in start))
        return position

    reader = HistoryReader(settings, group, start, live_position)
    letters = NotStored()
    worker = Worker(settings, target, catalog, reader, letters)
    read = 0
    target.open()
    try:
        reader.subscribe()
        while not reader.done():
            if stopping.is_set():
                raise Interrupted(f"interrupted at {read:,} messages")
            batch = reader.next_batch(BATCH, _WAIT_S)
            if batch:
                worker.handle(batch)
                read += len(batch)
                reporting.done(len(batch))
    finally:
        reader.close()
        target.close()
    missing = list(_missing(open_store(live_url), open_store(target_url)))
    return Replayed(
        group=group,
        messages=read,
        stored=worker.stored,
        tickets=open_store(target_url).count(),
        not_stored=letters.reasons,
        missing=missing[:5],
        missing_count=len(missing),
        seconds=time.perf_counter() - started,
    )


def _same_file(one: str, other: str) -> bool:
    prefix = "sqlite:///"
    if one.startswith(prefix) and other.startswith(prefix):
        one, other = one.removeprefix(prefix), other.removeprefix(prefix)
    elif "://" in one or "://" in other:
        return one == other
    return Path(one).resolve() == Path(other).resolve()


def _refuse_the_live_store(live_url: str, target_url: str) -> None:
    if _same_file(live_url, target_url):
        raise ConfigurationError(
            f"{mask(target_url)} is the store in use (DATABASE_URL): `shopstream rebuild` "
            "without --into rebuilds it in place"
        )


def _check_target(target: Store, url: str, catalog: Catalog, resuming: bool) -> None:
    """A new store, or the one an interrupted run of this rebuild began, with this list."""
    held = target.count()
    if held and not resuming:
        raise ConfigurationError(
            f"{mask(url)} already holds {held:,} tickets: --into builds a new store; give it "
            "an empty one"
        )
    others = set(target.tally(Filters()).versions) - {catalog.version.hash}
    if others:
        raise ConfigurationError(
            f"{mask(url)} was begun with another category list ({', '.join(sorted(others))}) "
            f"than the one in force ({catalog.version.hash}): start again with an empty store"
        )


def _missing(live: Store, built: Store) -> Iterator[str]:
    """The ids of ``live`` that ``built`` does not hold."""
    chunk: list[str] = []
    for ticket in live.tickets():
        chunk.append(ticket.id)
        if len(chunk) == _IDS_PER_CHECK:
            yield from sorted(built.missing(chunk))
            chunk = []
    if chunk:
        yield from sorted(built.missing(chunk))
