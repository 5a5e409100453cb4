"""One measured figure over several runs, and the results files they are written to."""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import subprocess
import time
from dataclasses import dataclass, field

from bench.stack import BENCH, REPO


@dataclass
class Figure:
    """One measured figure over several runs."""

    name: str
    unit: str
    values: list[float] = field(default_factory=list)
    target: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def row(self) -> str:
        low, high = min(self.values), max(self.values)
        return (
            f"| {self.name} | {self.median:,.1f} {self.unit} | {low:,.1f} to {high:,.1f} "
            f"| {self.target} |"
        )


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
    figures: list[Figure],
    ratios: list[tuple[str, str]],
    profiles: str,
    runs: int,
    started: float,
    commit: str,
) -> None:
    """``bench/results/<date>.json`` and ``bench/RESULTS.md``."""
    day = datetime.date.today().isoformat()
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    record = {
        "date": day,
        "commit": commit,
        "machine": machine,
        "runs": runs,
        "seconds": round(time.time() - started),
        "figures": [
            {
                "name": f.name,
                "unit": f.unit,
                "median": f.median,
                "values": f.values,
                "target": f.target,
            }
            for f in figures
        ],
    }
    (BENCH / "results" / f"{day}.json").write_text(json.dumps(record, indent=2) + "\n")
    table = "\n".join(f.row() for f in figures)
    by_name = {f.name: f.median for f in figures}
    shares = "\n".join(
        f"- {ours} / {ceiling}: {by_name[ours] / by_name[ceiling]:.0%}"
        for ours, ceiling in ratios
        if ours in by_name and ceiling in by_name
    )
    (BENCH / "RESULTS.md").write_text(
        f"# Benchmark results\n\n{day}, commit {commit}, {machine}; median of {runs} runs "
        f"(min to max), everything (load generator, broker, API, worker) on this one machine. "
        f"Reproduce: `make bench`.\n\n"
        f"| figure | median | range | target |\n| --- | --- | --- | --- |\n{table}\n\n"
        f"Ours as a share of its ceiling, same run, same machine:\n\n{shares}\n\n"
        f"{profiles}"
    )
