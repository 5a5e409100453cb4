"""Shared test helpers: waiting on a condition with a deadline, free ports, seed data."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import pytest

from shopstream.config import SECTIONS, Settings, env_name
from shopstream.stress import seed_ticket

T = TypeVar("T")

SEED_TICKET: dict[str, Any] = seed_ticket("123456789")

SEED_AFTER_PROCESSING: dict[str, Any] = {
    "id": "123456789",
    "store": "Brussels",
    "date": "2020-01-01",
    "total_price": 4.5,
    "products": [
        {"id": "123456789", "name": "Banana", "price": 1.5, "category": "Fruit"},
        {"id": "123456789", "name": "Bread", "price": 1.5, "category": "Bakery"},
        {"id": "123456789", "name": "Water", "price": 1.5, "category": "Drink"},
    ],
}


def ticket(ticket_id: object, **changes: Any) -> dict[str, Any]:
    """The seed's ticket with another id (and any field changed)."""
    return {**SEED_TICKET, "id": ticket_id, **changes}


def wait_for(condition: Callable[[], T], timeout: float, what: str, interval: float = 0.05) -> T:
    """Poll ``condition`` until it returns something truthy; fail naming ``what`` if too late."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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


def assert_seed_figures(figures: dict[str, Any], tickets: int = 1000) -> None:
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
