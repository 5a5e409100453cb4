"""The local broker's class archive: made by a clean stop, mapped by the next start, never half.

Each test has jars of its own (hard links to the session's), so the archive it makes or
refuses is its own.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from shopstream.localkafka.broker import LocalBroker
from shopstream.localkafka.jvm import install_jars
from testbed.pipeline import LIBS
from testbed.ports import free_port

pytestmark = pytest.mark.integration


def _broker(tmp_path: Path) -> LocalBroker:
    install_jars(LIBS)  # this test may be the session's first to need them
    libs = tmp_path / "libs"
    shutil.copytree(
        LIBS, libs, copy_function=os.link, ignore=shutil.ignore_patterns("kafka-*.jsa", ".*")
    )
    shutil.copy(LIBS / ".pom-sha256", libs)  # else the jars would be fetched again
    return LocalBroker(
        tmp_path / "state", port=free_port(), controller_port=free_port(), libs_dir=libs
    )


def _arguments(pid: int) -> list[str]:
    return [a.decode() for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")]


def _mapped(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def test_a_clean_stop_leaves_an_archive_that_the_next_start_maps(tmp_path: Path) -> None:
    broker = _broker(tmp_path)
    broker.start()
    pid = broker.pid()
    assert pid is not None
    assert any(a.startswith("-XX:ArchiveClassesAtExit=") for a in _arguments(pid))
    broker.stop()
    [archive] = broker.libs.glob("kafka-*.jsa")
    assert not list(broker.state_dir.glob("*.jsa"))  # moved beside the jars, not copied

    broker.start()
    pid = broker.pid()
    assert pid is not None
    assert f"-XX:SharedArchiveFile={archive}" in _arguments(pid)
    assert str(archive) in _mapped(pid)  # the JVM took it: a refused archive is not mapped
    assert broker.answers()
    broker.stop()
    assert list(broker.libs.glob("kafka-*.jsa")) == [archive]


def test_a_killed_broker_leaves_no_archive(tmp_path: Path) -> None:
    broker = _broker(tmp_path)
    broker.start()
    broker.kill()
    assert not list(broker.libs.glob("*.jsa"))
    assert not list(broker.state_dir.glob("*.jsa"))
