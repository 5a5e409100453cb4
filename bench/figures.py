"""Measured figures, keyed by id; ratios between figures of one run; the results files."""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.stack import BENCH, REPO

RUNS = 3
"""how many times a bench scenario measures each figure"""


@dataclass
class Figure:
    """One measured figure over several runs; ``key`` is how code refers to it."""

    key: str
    name: str
    unit: str
    values: list[float] = field(default_factory=list)
    target: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def row(self, previous: Previous | None = None) -> str:
        """A table row; with ``previous``, a column for that run's median of this figure."""
        low, high = min(self.values), max(self.values)
        before = ""
        if previous is not None:
            median = previous.median(self)
            before = f" {median:,.1f} |" if median is not None else " |"
        return (
            f"| {self.name} | {self.median:,.1f} {self.unit} | {low:,.1f} to {high:,.1f} "
            f"|{before} {self.target} |"
        )


@dataclass(frozen=True)
class Previous:
    """The medians of the last full run on record, to read this run's beside."""

    date: str
    commit: str
    medians: dict[str, float]
    """by figure key, and by name: runs before figures had keys recorded only names"""

    @classmethod
    def load(cls, results: Path) -> Previous | None:
        """The latest full run's ``<date>.json`` in ``results``, if there is one."""
        runs = sorted(path for path in results.glob("*.json") if "partial" not in path.name)
        if not runs:
            return None
        record = json.loads(runs[-1].read_text())
        medians: dict[str, float] = {}
        for figure in record["figures"]:
            medians[figure["name"]] = figure["median"]
            if "key" in figure:
                medians[figure["key"]] = figure["median"]
        return cls(record["date"], record["commit"], medians)

    def median(self, figure: Figure) -> float | None:
        return self.medians.get(figure.key, self.medians.get(figure.name))


class Figures:
    """The figures of one bench run, in the order they were measured."""

    def __init__(self) -> None:
        self._by_key: dict[str, Figure] = {}

    def add(self, figure: Figure) -> None:
        if figure.key in self._by_key:
            raise ValueError(f"figure {figure.key!r} measured twice")
        self._by_key[figure.key] = figure
        print(figure.row(), flush=True)

    def __getitem__(self, key: str) -> Figure:
        return self._by_key[key]

    def __contains__(self, key: str) -> bool:
        return key in self._by_key

    def __iter__(self) -> Iterator[Figure]:
        return iter(self._by_key.values())

    def median(self, key: str) -> float:
        return self._by_key[key].median


@dataclass(frozen=True)
class Ratio:
    """``ours / ceiling``, two figures of the same run, and the bound it must keep.

    With ``every_run``, the figures' runs are paired (run i with run i) and each pair
    must keep the bound; else the ratio of the medians must.
    """

    ours: str
    ceiling: str
    at_least: float | None = None
    at_most: float | None = None
    every_run: bool = False
    percent: bool = True

    def values(self, figures: Figures) -> list[float]:
        ours, ceiling = figures[self.ours], figures[self.ceiling]
        if self.every_run and len(ours.values) == len(ceiling.values):
            return [o / c for o, c in zip(ours.values, ceiling.values, strict=True)]
        return [ours.median / ceiling.median]

    def kept(self, value: float) -> bool:
        return (self.at_least is None or value >= self.at_least) and (
            self.at_most is None or value <= self.at_most
        )

    def line(self, figures: Figures, previous: Previous | None = None) -> str:
        values = self.values(figures)
        shown = ", ".join(self._shown(v) for v in values)
        if previous is not None:
            ours, ceiling = (
                previous.median(figures[self.ours]),
                previous.median(figures[self.ceiling]),
            )
            if ours is not None and ceiling:
                shown += f" (last full run, {previous.date}: {self._shown(ours / ceiling)})"
        bound = ""
        if self.at_least is not None or self.at_most is not None:
            sign, limit = ("≥", self.at_least) if self.at_least is not None else ("≤", self.at_most)
            assert limit is not None
            verdict = "met" if all(self.kept(v) for v in values) else "MISSED"
            each = " in every run" if self.every_run else ""
            bound = f" (target {sign} {self._shown(limit)}{each}: {verdict})"
        return f"- {figures[self.ours].name} / {figures[self.ceiling].name}: {shown}{bound}"

    def _shown(self, value: float) -> str:
        return f"{value:.0%}" if self.percent else f"{value:.2f}"


def source_commit() -> str:
    """The commit the bench runs, marked when tracked code differs from it.

    The bench's own outputs do not count: an earlier run's results are not a change.
    """

    def git(*args: str) -> str:
        run = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        return run.stdout.strip() if run.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = git(
        *("status", "--porcelain", "--untracked-files=no", "--", "."),
        *(":(exclude)bench/results", ":(exclude)bench/RESULTS.md"),
    )
    return f"{commit} with uncommitted changes" if changed else commit


def write_results(
    figures: Figures,
    ratios: Iterable[Ratio],
    profiles: str,
    started: float,
    commit: str,
    partial: bool = False,
) -> list[Path]:
    """``bench/results/<date>.json`` and ``bench/RESULTS.md``; a partial run only its JSON.

    The ratios whose figures were both measured are printed either way.
    """
    day = datetime.date.today().isoformat()
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    record = {
        "date": day,
        "commit": commit,
        "machine": machine,
        "runs": RUNS,
        "seconds": round(time.time() - started),
        "partial": partial,
        "figures": [
            {
                "key": f.key,
                "name": f.name,
                "unit": f.unit,
                "median": f.median,
                "values": f.values,
                "target": f.target,
            }
            for f in figures
        ],
    }
    previous = Previous.load(BENCH / "results")  # read before this run's is written
    results = BENCH / "results" / f"{day}{'-partial' if partial else ''}.json"
    results.write_text(json.dumps(record, indent=2) + "\n")
    shares = "\n".join(
        r.line(figures, previous) for r in ratios if r.ours in figures and r.ceiling in figures
    )
    print(shares)
    if partial:
        return [results]
    table = "\n".join(f.row(previous) for f in figures)
    earlier = f"{previous.date}, {previous.commit}" if previous is not None else "none"
    summary = BENCH / "RESULTS.md"
    summary.write_text(
        f"# Benchmark results\n\n{day}, commit {commit}, {machine}; median of {RUNS} runs "
        f"(min to max), everything (load generator, broker, API, worker) on this one machine. "
        f"Reproduce: `make bench`. The last full run before it: {earlier}.\n\n"
        f"| figure | median | range | last full run | target |\n"
        f"| --- | --- | --- | --- | --- |\n{table}\n\n"
        f"Ratios, each of two figures of this run:\n\n{shares}\n\n"
        f"{profiles}"
    )
    return [results, summary]
