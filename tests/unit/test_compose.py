"""compose.yaml and the Dockerfile, checked without a Docker engine (there is none here).

The file must validate against the Compose specification's JSON schema (the copy that
check-jsonschema ships), and everything it tells shopstream must be something shopstream
reads: real commands and options, real settings with valid values, and addresses of
services that exist.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import typer.main
from ruamel.yaml import YAML

from shopstream import cli
from shopstream.config import environment_names, load_settings

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "compose.yaml"


def _load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe").load(path)
    return loaded


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _load(COMPOSE)


def _schema_errors(path: Path) -> list[str]:
    """Where ``path`` breaks the Compose specification, as check-jsonschema ships it."""
    schema = json.loads(
        resources.files("check_jsonschema.builtin_schemas.vendor")
        .joinpath("compose-spec.json")
        .read_text()
    )
    validator = jsonschema.Draft202012Validator(schema)
    return [error.message for error in validator.iter_errors(_load(path))]


def test_compose_file_follows_the_compose_specification() -> None:
    assert _schema_errors(COMPOSE) == []


def test_the_schema_check_catches_a_mistake(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    broken.write_text(COMPOSE.read_text().replace("    healthcheck:\n", "    healthchek:\n", 1))
    assert _schema_errors(broken)


def test_no_version_key_and_kafka_runs_in_kraft_mode(compose: dict[str, Any]) -> None:
    assert "version" not in compose
    kafka = compose["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert "broker,controller" in kafka["environment"]["KAFKA_PROCESS_ROLES"]
    assert not any("ZOOKEEPER" in key for key in kafka["environment"])


def test_every_service_has_a_health_check_or_waits_for_healthy_ones(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    for name in ("kafka", "postgres", "api"):
        assert services[name]["healthcheck"]["test"], name
    for name in ("api", "worker"):
        waits = services[name]["depends_on"]
        assert waits["kafka"]["condition"] == "service_healthy"
        assert waits["postgres"]["condition"] == "service_healthy"
    named = set(compose["volumes"])
    mounted = {volume.split(":")[0] for s in services.values() for volume in s.get("volumes", [])}
    assert mounted == named == {"kafka-data", "postgres-data"}


def _options(name: str) -> set[str]:
    """The options of ``shopstream <name>``, from the CLI itself."""
    group: Any = typer.main.get_command(cli.app)  # typer's own click: a group of commands
    command = group.commands.get(name)
    assert command is not None, f"shopstream has no command {name!r}"
    return {opt for param in command.params for opt in param.opts}


@pytest.mark.parametrize("service", ["api", "worker"])
def test_commands_are_shopstream_commands_with_real_options(
    compose: dict[str, Any], service: str
) -> None:
    program, name, *args = compose["services"][service]["command"]
    assert program == "shopstream"
    options = _options(name)
    given = {arg for arg in args if arg.startswith("--")}
    assert given <= options, given - options


@pytest.mark.parametrize("service", ["api", "worker"])
def test_environment_is_settings_shopstream_reads_with_valid_values(
    compose: dict[str, Any], service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment: dict[str, str] = compose["services"][service]["environment"]
    known = environment_names()
    assert set(environment) <= known, set(environment) - known
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    settings = load_settings()  # raises if a value is not valid
    services = compose["services"]
    database = urlsplit(settings.store.database_url.get_secret_value())
    postgres = services["postgres"]["environment"]
    assert (database.hostname, database.username, database.password, database.path) == (
        "postgres",
        postgres["POSTGRES_USER"],
        postgres["POSTGRES_PASSWORD"],
        f"/{postgres['POSTGRES_DB']}",
    )
    advertised = services["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert advertised == f"PLAINTEXT://{settings.bootstrap_servers}"


def test_the_image_runs_as_an_unprivileged_user_and_serves_the_api(
    compose: dict[str, Any],
) -> None:
    lines = (REPO / "Dockerfile").read_text().splitlines()
    final_stage = lines[max(i for i, line in enumerate(lines) if line.startswith("FROM ")) :]
    users = [line.split()[1] for line in final_stage if line.startswith("USER ")]
    assert users
    assert users[-1] not in ("root", "0")
    assert "EXPOSE 8000" in final_stage
    assert compose["services"]["api"]["ports"] == ["8000:8000"]
    assert "--port" in compose["services"]["api"]["command"]
