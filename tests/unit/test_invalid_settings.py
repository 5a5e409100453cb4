"""Every invalid setting: one line naming the variable and what it accepts, exit status 2."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from shopstream import config
from shopstream.config import SECTIONS, Settings, env_name, load_settings
from tests.helpers import Command

_WRONG = {int: "abc", float: "abc", bool: "maybe"}


def _settings_with_a_type() -> list[tuple[str, str]]:
    """``(variable, a value of the wrong kind)`` for every number, flag and choice."""
    found = []
    sections: list[type[BaseSettings]] = [*SECTIONS.values(), Settings]
    for section in sections:
        for field, info in section.model_fields.items():
            if info.annotation in _WRONG:
                found.append((env_name(section, field), _WRONG[info.annotation]))
            elif typing.get_origin(info.annotation) is typing.Literal:
                found.append((env_name(section, field), "nonsense"))
    return found


SETTINGS_WITH_A_TYPE = _settings_with_a_type()


def test_every_kind_of_setting_is_checked() -> None:
    names = {name for name, _ in SETTINGS_WITH_A_TYPE}
    assert {"API_PORT", "LOG_LEVEL", "KAFKA_SECURITY_PROTOCOL", "PUBLISH_TIMEOUT_S"} <= names
    assert "API_KEYS_PROTECT_READS" in names
    assert len(names) >= 25


@pytest.mark.parametrize(("variable", "value"), SETTINGS_WITH_A_TYPE)
def test_a_value_of_the_wrong_kind_is_one_line_saying_what_would_do(
    variable: str, value: str, command: Command
) -> None:
    result = command("report", **{variable: value}, COLUMNS="40")
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    [line] = result.stderr.splitlines()
    prefix = f"error: invalid settings: {variable}: "
    assert line.startswith(prefix)
    said = line.removeprefix(prefix)
    assert said.startswith(("must be a whole number", "must be a number", "must be true or")) or (
        said.startswith("Input should be '")
    ), said
    assert value not in said


WHOLE = "must be a whole number, at least"
ACCEPTED = [
    ("LOG_LEVEL", "verbose", "Input should be 'DEBUG', 'INFO', 'WARNING', 'ERROR' or 'CRITICAL'"),
    ("API_PORT", "abc", f"{WHOLE} 1 and at most 65535"),
    ("API_PORT", "70000", f"{WHOLE} 1 and at most 65535"),
    ("API_WORKERS", "0", f"{WHOLE} 1 and at most 64"),
    ("PUBLISH_TIMEOUT_S", "0", "must be a number, greater than 0"),
    ("MAX_TICKET_BYTES", "1.5", f"{WHOLE} 1024"),
    ("API_KEYS_PROTECT_READS", "maybe", "must be true or false (or 1/0, yes/no, on/off)"),
]


@pytest.mark.parametrize(("variable", "value", "said"), ACCEPTED)
def test_the_line_names_the_accepted_values(
    variable: str, value: str, said: str, command: Command
) -> None:
    result = command("report", **{variable: value})
    assert result.returncode == 2
    assert result.stderr == f"error: invalid settings: {variable}: {said}\n"


def test_every_invalid_setting_is_named_on_the_one_line(command: Command) -> None:
    result = command("api", LOG_LEVEL="verbose", API_PORT="abc", KAFKA_PARTITIONS="x")
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    for variable in ("LOG_LEVEL", "API_PORT", "KAFKA_PARTITIONS"):
        assert f"{variable}: " in line


def test_a_log_level_may_be_written_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "debug")
    assert load_settings().log_level == "DEBUG"


def test_a_dotenv_file_in_the_working_directory_is_read_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config, "DOTENV", Path(".env"))  # the tests' guard off: the default
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        "# a comment\nKAFKA_TOPIC=from-dotenv\nAPI_PORT=9000\nLOG_LEVEL=warning\n"
        "COMPOSE_PROJECT_NAME=not-ours\n"
    )
    monkeypatch.setenv("API_PORT", "9100")
    settings = load_settings()
    assert settings.kafka.topic == "from-dotenv"
    assert settings.log_level == "WARNING"
    assert settings.api.port == 9100


def test_an_invalid_value_in_dotenv_is_named_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: Command
) -> None:
    monkeypatch.setattr(config, "DOTENV", Path(".env"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("API_PORT=eighty\n")
    result = command("report")
    assert result.returncode == 2
    assert result.stderr.startswith("error: invalid settings: API_PORT: must be a whole number")


def test_version(command: Command) -> None:
    from shopstream import __version__

    result = command("--version")
    assert result.returncode == 0
    assert result.stdout == f"shopstream {__version__}\n"
