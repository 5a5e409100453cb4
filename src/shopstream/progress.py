"""The worker's progress line: what it stored, how fast, the group's lag, dead letters.

Every ``WORKER_PROGRESS_S`` (5 s) the worker measures its group's lag and, if it stored or
dead-lettered anything since the last line, or the lag is not what the last line said,
logs::

    progress: 12000 stored (+2400, 480/s), lag 130, 2 dead letters

So ``make up`` shows tickets flowing, a line after a burst says the lag is back to 0 (once
the worker committed), and an idle worker says nothing. In JSON logs the numbers are fields
of their own (``stored``, ``rate``, ``lag``, ``dead_letters``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger("shopstream.worker")

LagByPartition = dict[int, int]
MeasureLag = Callable[[], LagByPartition | None]
"""The group's lag by partition, or None when Kafka does not say."""


class Progress:
    """Called by the worker's loop with its totals; speaks every ``interval_s``."""

    def __init__(
        self,
        interval_s: float,
        measure_lag: MeasureLag | None = None,
        on_lag: Callable[[LagByPartition], None] = lambda _: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval_s = interval_s
        self._measure_lag = measure_lag
        self._on_lag = on_lag
        self._clock = clock
        self._then = clock()
        self._next = self._then  # the lag is measured at once: the metric is there from the start
        self._stored = self._dead_lettered = 0
        self._lag_said: int | None = 0  # an idle start with nothing to read says nothing

    def tick(self, stored: int, dead_lettered: int) -> None:
        """At most once an interval: measure the lag, and log if tickets moved."""
        now = self._clock()
        if now < self._next:
            return
        self._next = now + self._interval_s
        lag = self._measure_lag() if self._measure_lag else None
        if lag is not None:
            self._on_lag(lag)
        moved = stored - self._stored
        handled = moved + dead_lettered - self._dead_lettered
        total = None if lag is None else sum(lag.values())
        if handled or total != self._lag_said:
            rate = moved / max(now - self._then, 1e-9)
            self._lag_said = total
            log.info(
                "progress: %d stored (+%d, %.0f/s), lag %s, %d dead letters",
                stored,
                moved,
                rate,
                "unknown" if total is None else total,
                dead_lettered,
                extra={"stored": stored, "rate": round(rate, 1), "lag": total,
                       "dead_letters": dead_lettered},
            )  # fmt: skip
        self._then, self._stored, self._dead_lettered = now, stored, dead_lettered
