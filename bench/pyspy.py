"""Where a process spends its time: py-spy samples, summed by the layer of the innermost frame.

The raw samples (collapsed stacks, one per line) are kept under ``bench/results/`` for
anyone who wants the whole picture: ``inferno-flamegraph`` or speedscope draws them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

# The first needle found in the innermost frame's file names the layer.
LAYERS = [
    ("pydantic", "validation (pydantic)"),
    ("shopstream/kafka", "Kafka client (ours)"),
    ("confluent_kafka", "Kafka client (librdkafka)"),
    ("uvicorn", "HTTP server (uvicorn)"),
    ("starlette", "web framework (FastAPI, Starlette)"),
    ("fastapi", "web framework (FastAPI, Starlette)"),
    ("anyio", "web framework (FastAPI, Starlette)"),
    ("shopstream/stores", "store"),
    ("sqlite3", "store"),
    ("psycopg", "store"),
    ("shopstream/enrich", "enrichment"),
    ("shopstream/catalog", "enrichment"),
    ("shopstream/models", "the stored ticket: built, written as JSON"),
    ("<string>", "the stored ticket: built, written as JSON"),  # dataclasses' __init__
    ("asyncio", "event loop (asyncio, uvloop)"),
    ("shopstream", "shopstream, other"),
]


def _py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return found


def record(pid: int, seconds: int, out: Path) -> subprocess.Popen[bytes]:
    """Start sampling ``pid`` for ``seconds`` into ``out``; wait on the returned process."""
    return subprocess.Popen(
        [
            _py_spy(),
            "record",
            *("--pid", str(pid), "--duration", str(seconds), "--rate", "200"),
            *("--format", "raw", "--output", str(out), "--nonblocking"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def layer_of(frame: str) -> str:
    """``function (path/file.py:line)`` -> the layer its file belongs to."""
    match = re.search(r"\((.*):\d+\)$", frame)
    path = match.group(1) if match else frame
    for needle, layer in LAYERS:
        if needle in path:
            return layer
    return "other"


def shares(raw: Path) -> Counter[str]:
    """Samples per layer of the innermost frame."""
    samples: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            samples[layer_of(stack.rsplit(";", 1)[-1])] += int(count)
    return samples


def summary(title: str, raw: Path) -> str:
    """A Markdown list of the layers' shares of the samples."""
    samples = shares(raw)
    total = sum(samples.values()) or 1
    rows = "\n".join(f"| {layer} | {n / total:.0%} |" for layer, n in samples.most_common())
    return (
        f"### {title}\n\n{total:,} samples; raw stacks in `bench/results/{raw.name}`.\n\n"
        f"| innermost frame in | share of samples |\n| --- | --- |\n{rows}\n"
    )
