"""A PostgreSQL server for the session: each test asks it for a database of its own."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed.postgres import PostgresServer


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    # Not under pytest's tmp_path: its parent is private to root, and the server may run
    # as the postgres user.
    server = PostgresServer(Path(tempfile.mkdtemp(prefix="shopstream-pg-")))
    server.start()
    yield server
    server.stop()
    server.remove()
