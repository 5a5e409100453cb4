"""Shared test helpers: waiting on a condition with a deadline, free ports, seed data."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

SEED_TICKET: dict[str, Any] = {
    "id": "123456789",
    "store": "Brussels",
    "date": "2020-01-01",
    "products": [
        {"id": "123456789", "name": "Banana", "price": 1.5},
        {"id": "123456789", "name": "Bread", "price": 1.5},
        {"id": "123456789", "name": "Water", "price": 1.5},
    ],
}

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
