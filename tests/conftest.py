"""What every test has: fixture plugins, and an environment holding none of shopstream's
settings, so that nothing set in the shell or a ``.env`` file (an API_KEYS, a DATABASE_URL)
leaks into a test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shopstream import config
from shopstream.config import environment_names
from tests.helpers import Command, CommandResult, run_command

pytest_plugins = [
    "tests.plugins.browser",
    "tests.plugins.kafka",
    "tests.plugins.pipelines",
    "tests.plugins.postgres",
    "tests.plugins.stores",
]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in environment_names():
        monkeypatch.delenv(name, raising=False)
    # Suites run side by side: a worker serves /metrics only on a port its test gives it.
    monkeypatch.setenv("WORKER_METRICS_PORT", "0")
    monkeypatch.setattr(config, "DOTENV", Path(os.devnull))


@pytest.fixture
def command(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Command:
    """``shopstream`` as a command in this process: no subprocess (the unit tests have none)."""

    def run(*args: str, **environment: str) -> CommandResult:
        return run_command(args, environment, capsys, monkeypatch)

    return run
