"""The fault suite's harness: the load under faults, and its verdict on each scenario."""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import partial

from shopstream.load import Load, Verdict, stored_at_least
from shopstream.stores import Store
from shopstream.supervise import wait_for
from testbed.pipeline import Pipeline


def load_on(pipeline: Pipeline, clients: int = 8) -> Load:
    """Clients posting fresh tickets to the pipeline's API until stopped."""
    return Load(f"{pipeline.url}/data", clients=clients).start()


def let_some_through(store: Store, low: int = 100, high: int = 400) -> None:
    """Wait until a random few hundred more tickets are stored (the load keeps going)."""
    target = store.count() + random.randint(low, high)
    wait_for(partial(stored_at_least, store, target), 60, f"{target} tickets stored")


@dataclass(frozen=True)
class Scenario:
    """A scenario's verdict, with its name and how many faults it injected."""

    name: str
    faults: int
    verdict: Verdict

    def line(self) -> str:
        return self.verdict.line(self.name, self.faults)


def finish(
    name: str, faults: int, load: Load, pipeline: Pipeline, record: list[Scenario] | None = None
) -> Scenario:
    """Stop the load, wait for every acknowledged ticket, check none is lost or doubled,
    and keep the verdict in ``record`` (the fault suite's summary), if given."""
    load.stop()
    pipeline.wait_stored(load.acknowledged, timeout=120)
    scenario = Scenario(name, faults, Verdict.of(load.acknowledged, pipeline.store))
    print(scenario.line())
    if record is not None:
        record.append(scenario)
    assert scenario.verdict.holds, scenario.line()
    return scenario
