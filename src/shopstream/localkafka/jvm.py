"""The JVM a local Kafka node runs in: Java itself, Kafka's jars, and its command line.

The jars are Apache's own, resolved from Maven Central by the small ``pom.xml`` beside
this module; nothing is compiled.

A JVM spends most of a Kafka node's start-up loading and verifying some 4,000 classes
from the jars. The first node to stop cleanly leaves them, as loaded, in a class-data
archive beside the jars (AppCDS, ``-XX:ArchiveClassesAtExit``), and every later start
maps that archive instead (``-XX:SharedArchiveFile``): docs/performance.md has the
figures. The archive's name holds a digest of the Java runtime and the jars, so a
different Java or another Kafka release never uses an archive made for another.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from shopstream.errors import BrokerError, ConfigurationError

log = logging.getLogger(__name__)

MAIN_CLASS = "kafka.Kafka"
_MIN_JAVA = 17
_INSTALL_HINT = (
    "install a Java 17+ runtime and Maven (Debian: apt-get install openjdk-17-jre-headless "
    "maven), or set KAFKA_BOOTSTRAP_SERVERS to a broker you already run"
)
_POM_STAMP = ".pom-sha256"


def resource(name: str) -> bytes:
    """A file shipped beside this module (the pom, the log4j configuration)."""
    return resources.files("shopstream.localkafka").joinpath(name).read_bytes()


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise ConfigurationError(f"`{tool}` was not found: {_INSTALL_HINT}")
    return path


def _java_version(java: str) -> str:
    """What ``java -version`` prints: the release, vendor and build of this runtime."""
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [java, "-version"], capture_output=True, text=True, check=False
    )
    return result.stderr


def find_java() -> tuple[str, str]:
    """The ``java`` to run Kafka with, and its version text; refused below Java 17."""
    java = require("java")
    version = _java_version(java)
    match = re.search(r'version "(\d+)', version)
    if match is None or int(match.group(1)) < _MIN_JAVA:
        raise ConfigurationError(f"Kafka 4 needs Java {_MIN_JAVA} or newer: {_INSTALL_HINT}")
    return java, version


def install_jars(libs: Path) -> None:
    """Resolve the Kafka jars with Maven, unless the ones for this pom are already there."""
    pom = resource("pom.xml")
    stamp = libs / _POM_STAMP
    digest = hashlib.sha256(pom).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    mvn = require("mvn")
    shutil.rmtree(libs, ignore_errors=True)  # the archive of the old jars goes with them
    libs.mkdir(parents=True)
    pom_path = libs / "pom.xml"
    pom_path.write_bytes(pom)
    log.info("fetching Apache Kafka jars with Maven into %s", libs)
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [
            mvn,
            "-B",
            "-q",
            "-f",
            str(pom_path),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={libs.resolve()}",
            "-DincludeScope=runtime",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BrokerError(f"Maven could not fetch Kafka:\n{result.stdout}{result.stderr}")
    stamp.write_text(digest)


@dataclass(frozen=True)
class ClassArchive:
    """Kafka's classes as a node's JVM loaded them, kept for the next start (AppCDS).

    A node launched without the archive records it at its exit into its own state
    directory; only ``adopt_archive``, called once the node has exited by itself after
    SIGTERM, puts that file beside the jars, so one killed mid-write is never used.
    """

    libs: Path
    java_version: str

    @property
    def name(self) -> str:
        stamp = self.libs / _POM_STAMP
        jars = stamp.read_text() if stamp.exists() else ""
        digest = hashlib.sha256(f"{self.java_version}\n{jars}".encode()).hexdigest()[:16]
        return f"kafka-{digest}.jsa"

    def flags(self, state_dir: Path) -> list[str]:
        """The JVM flags that use the archive, or record it when there is none yet."""
        archive = self.libs / self.name
        if archive.exists():
            return [f"-XX:SharedArchiveFile={archive}"]
        discard_archive(state_dir)  # a killed node's, maybe half-written
        return [f"-XX:ArchiveClassesAtExit={state_dir.resolve() / self.name}"]

    def reading_flags(self) -> list[str]:
        """For the JVM's short runs (formatting storage): use the archive, never record it."""
        archive = self.libs / self.name
        return [f"-XX:SharedArchiveFile={archive}"] if archive.exists() else []


def adopt_archive(state_dir: Path, libs: Path) -> None:
    """The archive a node wrote at its clean exit becomes the one later starts use.

    Copied under a name of its own, then renamed: the archive beside the jars is always
    whole, also when the state directory is on another file system.
    """
    for recorded in state_dir.glob("kafka-*.jsa"):
        archive = libs / recorded.name
        if not archive.exists():  # else another node of a cluster got there first
            partial = libs / f".{recorded.name}.{uuid.uuid4().hex}"
            shutil.copyfile(recorded, partial)
            os.replace(partial, archive)
            log.info("Kafka's classes archived for faster starts: %s", archive)
        recorded.unlink()


def discard_archive(state_dir: Path) -> None:
    """A node that was killed may have left a half-written archive: never adopt it."""
    for recorded in state_dir.glob("kafka-*.jsa"):
        recorded.unlink(missing_ok=True)


def process_alive(pid: int, config: Path) -> bool:
    """Whether ``pid`` is a running (not zombie) Kafka broker started with ``config``.

    The config's path, not only the main class: a stale pid may have been reused by
    another broker on this machine.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state != "Z" and MAIN_CLASS.encode() in arguments and os.fsencode(config) in arguments


def end_launched(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL a broker this process launched and reap it."""
    if process.poll() is None:
        process.kill()
    process.wait()
