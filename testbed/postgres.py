"""A throwaway PostgreSQL server from Debian's packages, for the tests that need one.

``initdb`` into a temporary directory, then ``pg_ctl start`` on a free port with trust
authentication on 127.0.0.1 only. PostgreSQL refuses to run as root, so as root the
server runs as the ``postgres`` user the Debian package creates.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg

from shopstream.supervise import wait_for
from testbed.ports import free_port


def _bin_dir() -> Path:
    """The newest server binaries Debian installed (``/usr/lib/postgresql/<major>/bin``)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if not found:
        raise RuntimeError(
            "PostgreSQL's server is not installed: scripts/system-deps test installs it"
        )
    return found[-1].parent


@dataclass
class PostgresServer:
    directory: Path
    port: int = 0
    durable: bool = False
    """fsync on: the benchmark wants it; a test server's data need not survive a power cut."""

    def _run(self, *command: str) -> None:
        if os.geteuid() == 0:
            command = ("runuser", "-u", "postgres", "--", *command)
        subprocess.run(command, check=True, capture_output=True, text=True)

    def start(self) -> None:
        binaries = _bin_dir()
        self.port = self.port or free_port()
        data = self.directory / "data"
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            postgres = pwd.getpwnam("postgres")
            os.chown(self.directory, postgres.pw_uid, postgres.pw_gid)
        self._run(
            str(binaries / "initdb"),
            *("-D", str(data), "-U", "postgres", "--auth=trust", "--no-sync"),
        )
        self.resume()

    def resume(self) -> None:
        """Start the server on its existing data (after ``stop``)."""
        data = self.directory / "data"
        self._run(
            str(_bin_dir() / "pg_ctl"),
            *("-D", str(data), "-l", str(self.directory / "server.log"), "-w", "start"),
            "-o",
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
            f" -c fsync={'on' if self.durable else 'off'}",
        )
        wait_for(self._answers, 30, "PostgreSQL")

    def _answers(self) -> bool:
        return self._lets_in(self.url("postgres"))

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database; its URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def add_login(self, role: str, password: str, database: str) -> str:
        """A role that must log in with ``password`` and owns nothing; its URL to ``database``.

        The server trusts every other connection; a line put first in pg_hba.conf asks
        this role alone for its password (SCRAM), so a wrong one is refused.
        """
        with psycopg.connect(self.url("postgres"), autocommit=True) as admin:
            admin.execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'")
            hba = Path(admin.execute("SHOW hba_file").fetchone()[0])  # type: ignore[index]
            hba.write_text(f"host all {role} 127.0.0.1/32 scram-sha-256\n{hba.read_text()}")
            admin.execute("SELECT pg_reload_conf()")
        url = f"postgresql://{role}:{password}@127.0.0.1:{self.port}/{database}"
        wait_for(lambda: not self._lets_in(url.replace(f":{password}@", ":wrong@")), 10, "hba")
        return url

    @staticmethod
    def _lets_in(url: str) -> bool:
        try:
            psycopg.connect(url, connect_timeout=2).close()
        except psycopg.OperationalError:
            return False
        return True

    def stop(self, mode: str = "fast") -> None:
        """``fast`` disconnects clients and shuts down cleanly; ``immediate`` is a crash."""
        data = str(self.directory / "data")
        self._run(str(_bin_dir() / "pg_ctl"), "-D", data, "-m", mode, "stop")

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
