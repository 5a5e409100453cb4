"""Unit tests: each store that needs no server, and no network, database or subprocess."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest


@pytest.fixture(params=["json", "sqlite"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store of each kind that needs no server (PostgreSQL's: the integration tests)."""
    if request.param == "json":
        return str(tmp_path / "database.json")
    return f"sqlite:///{tmp_path / 'shop.db'}"


class _NotInUnitTests(AssertionError):
    pass


@pytest.fixture(autouse=True)
def _no_network_database_or_subprocess(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests run with no network, no database server and no subprocess."""

    def refuse(*_: object, **__: object) -> None:
        raise _NotInUnitTests("a unit test may not connect or start a process")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
