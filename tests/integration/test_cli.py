"""The command line as a user runs it: a real process, a real terminal's environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import shopstream

pytestmark = pytest.mark.integration


def test_kafka_status_fails_when_no_broker_answers(tmp_path: Path) -> None:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}
    result = shopstream("kafka", "status", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "no kafka broker answers at 127.0.0.1:1" in result.stdout


@pytest.mark.parametrize(
    "terminal",
    [{"COLUMNS": "80"}, {"COLUMNS": "40", "TERM": "xterm"}, {"TERM": "dumb"}],
    ids=["80 columns", "40 columns", "no terminal"],
)
def test_an_error_is_printed_whole_whatever_the_terminal(
    tmp_path: Path, terminal: dict[str, str]
) -> None:
    long_dir = tmp_path / "a" / "very" / "long" / "path" / "that" / "wraps" / "any" / "terminal"
    long_dir.mkdir(parents=True)
    database = long_dir / "database.json"
    env = {**os.environ, **terminal, "DATABASE_URL": str(database), "TMPDIR": str(long_dir)}
    result = shopstream("worker", "--processes", "2", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert f"{database} takes one writer at a time: use --processes 1" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
