"""Test helpers: the example ticket, settings from variable names, the CLI as users run it."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest
from prometheus_client.parser import text_string_to_metric_families

from shopstream.catalog import Catalog
from shopstream.config import SECTIONS, Settings, env_name
from shopstream.models import example_ticket

EXAMPLE_TICKET: dict[str, Any] = example_ticket("123456789")

EXAMPLE_AFTER_PROCESSING: dict[str, Any] = {
    "id": "123456789",
    "store": "Brussels",
    "date": "2020-01-01",
    "total_price": 4.5,
    "products": [
        {"id": "123456789", "name": "Banana", "price": 1.5, "category": "Fruit"},
        {"id": "123456789", "name": "Bread", "price": 1.5, "category": "Bakery"},
        {"id": "123456789", "name": "Water", "price": 1.5, "category": "Drink"},
    ],
    "catalog_version": Catalog.load().version.hash,  # which list gave the categories
}


def ticket(ticket_id: object, **changes: Any) -> dict[str, Any]:
    """The example ticket with another id (and any field changed)."""
    return {**EXAMPLE_TICKET, "id": ticket_id, **changes}


def shopstream(
    *args: str, env: Mapping[str, str], cwd: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the ``shopstream`` command as a user would, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "shopstream", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_example_figures(figures: dict[str, Any], tickets: int = 1000) -> None:
    """What the manager sees after the seed's stress test: a third each, 1.5 on average."""
    assert figures["tickets"] == tickets
    assert figures["category_share"] == {
        "Fruit": pytest.approx(1 / 3),
        "Bakery": pytest.approx(1 / 3),
        "Drink": pytest.approx(1 / 3),
        "Other": 0.0,
    }
    assert figures["average_product_price"] == 1.5


def settings_from(**environment: object) -> Settings:
    """Settings from environment variable names, as a user gives them: ``API_KEYS="a,b"``.

    Each goes to its section by its name; what is not given takes its default (the tests'
    environment holds none of shopstream's variables).
    """
    by_name = {
        env_name(section, field): (key, field)
        for key, section in SECTIONS.items()
        for field in section.model_fields
    }
    sections: dict[str, dict[str, object]] = {}
    top: dict[str, object] = {}
    for name, value in environment.items():
        if name == "LOG_LEVEL":
            top["log_level"] = value
            continue
        key, field = by_name[name]
        sections.setdefault(key, {})[field] = value
    built = {key: SECTIONS[key].model_validate(fields) for key, fields in sections.items()}
    return Settings.model_validate({**built, **top})


# A quote and a backslash: the local broker writes the password into a JAAS option.
SASL_USER, SASL_PASSWORD = "till", 's3cret-"Pa\\55'
"""the user the test brokers' SASL listeners accept"""


@dataclass(frozen=True)
class CommandResult:
    returncode: int
    stdout: str
    stderr: str


class Command(Protocol):
    """``command("report", "--json", DATABASE_URL=...)``: ``shopstream`` run in this process."""

    def __call__(self, *args: str, **environment: str) -> CommandResult: ...


def run_command(
    args: Sequence[str],
    environment: Mapping[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> CommandResult:
    """``shopstream args`` in this process, as its entry point runs it: exit status, output."""
    from shopstream import cli

    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "argv", ["shopstream", *args])
    capsys.readouterr()
    code: int | str | None = 0
    try:
        cli.main()
    except SystemExit as exited:
        code = exited.code
    out = capsys.readouterr()
    return CommandResult(code if isinstance(code, int) else 1, out.out, out.err)


def fails_fast(
    command: Sequence[str], env: Mapping[str, str], cwd: Path, said: Sequence[str], secret: str
) -> None:
    """``shopstream command`` exits non-zero within 15 s, saying ``said``, never ``secret``."""
    started = time.monotonic()
    result = shopstream(*command, env=env, cwd=cwd, timeout=60)
    seconds = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    for words in said:
        assert words in output, output
    assert secret not in output  # a password is never echoed
    assert seconds < 15, f"{seconds:.1f} s"


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    """Every sample of an exposition, by name and labels (``le`` included)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)
