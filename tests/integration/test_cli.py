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


@pytest.mark.parametrize(
    "command", [("up",), ("api", "--workers", "2"), ("worker", "--processes", "2")], ids=" ".join
)
@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        (
            "LOG_LEVEL",
            "verbose",
            "Input should be 'DEBUG', 'INFO', 'WARNING', 'ERROR' or 'CRITICAL'",
        ),
        ("API_PORT", "abc", "must be a whole number, at least 1 and at most 65535"),
        ("WORKER_PROCESSES", "many", "must be a whole number, at least 1 and at most 64"),
    ],
)
def test_an_invalid_setting_stops_a_command_of_many_processes_in_one_line(
    tmp_path: Path, command: tuple[str, ...], variable: str, value: str, said: str
) -> None:
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'shop.db'}",
        variable: value,
    }
    result = shopstream(*command, env=env, cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"error: invalid settings: {variable}: {said}\n"


def test_dotenv_in_the_working_directory_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:1\n")
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    from_dotenv = shopstream("kafka", "status", env=env, cwd=tmp_path)
    assert "no kafka broker answers at 127.0.0.1:1" in from_dotenv.stdout
    env["KAFKA_BOOTSTRAP_SERVERS"] = "127.0.0.1:2"
    from_environment = shopstream("kafka", "status", env=env, cwd=tmp_path)
    assert "no kafka broker answers at 127.0.0.1:2" in from_environment.stdout
