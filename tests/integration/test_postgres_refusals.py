"""A database that refuses the worker for good stops it at once, saying why.

Reproduced on main: a database that does not exist and a wrong password were retried for
ever as "cannot reach PostgreSQL". Only a server that is unreachable or restarting is
waited for (test_secrets.py, test_postgres.py).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from testbed.postgres import PostgresServer
from tests.helpers import fails_fast

pytestmark = pytest.mark.integration

PASSWORD = "Rol3-Pa55word"  # noqa: S105 - a test's own


def _database(postgres: PostgresServer) -> str:
    return postgres.new_database().rsplit("/", 1)[1]


def _role() -> str:
    return f"r_{uuid.uuid4().hex[:10]}"


def _no_database(postgres: PostgresServer) -> tuple[str, str]:
    name = f"missing_{uuid.uuid4().hex[:8]}"
    return postgres.url(name), f'database "{name}" does not exist'


def _wrong_password(postgres: PostgresServer) -> tuple[str, str]:
    role = _role()
    url = postgres.add_login(role, PASSWORD, _database(postgres))
    return url.replace(
        PASSWORD, "Wr0ng-Pa55word"
    ), f'password authentication failed for user "{role}"'


def _no_connect_right(postgres: PostgresServer) -> tuple[str, str]:
    database = _database(postgres)
    with psycopg.connect(postgres.url("postgres"), autocommit=True) as admin:
        admin.execute(f'REVOKE CONNECT ON DATABASE "{database}" FROM PUBLIC')
    return postgres.add_login(_role(), PASSWORD, database), "permission denied for database"


def _no_create_right(postgres: PostgresServer) -> tuple[str, str]:
    # Since PostgreSQL 15 only the database's owner may create tables in its public schema.
    return postgres.add_login(_role(), PASSWORD, _database(postgres)), (
        "permission denied for schema public"
    )


@pytest.mark.parametrize(
    "refusal",
    [_no_database, _wrong_password, _no_connect_right, _no_create_right],
    ids=lambda refusal: refusal.__name__.strip("_").replace("_", " "),
)
def test_a_database_that_refuses_for_good_stops_the_worker_with_its_reason(
    postgres: PostgresServer,
    tmp_path: Path,
    refusal: Callable[[PostgresServer], tuple[str, str]],
) -> None:
    url, reason = refusal(postgres)
    env = {**os.environ, "DATABASE_URL": url, "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}
    fails_fast(["worker"], env, tmp_path, said=["error: PostgreSQL", reason], secret="Pa55word")
