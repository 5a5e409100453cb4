"""A local Apache Kafka 4 node in KRaft mode (broker and controller), run with ``java``.

The jars are Apache's own, resolved from Maven Central by the small ``pom.xml`` beside
this module; nothing is compiled. Everything the broker needs or writes lives in one
state directory (``.kafka/`` by default): ``libs/``, ``server.properties``, ``data/``,
``broker.log`` and ``broker.pid``. The broker runs detached from the shell that started
it, so ``shopstream kafka stop`` (or SIGTERM to the pid) is what stops it.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from shopstream.errors import BrokerError, ConfigurationError
from shopstream.kafka.admin import add_scram_user, broker_answers

log = logging.getLogger(__name__)

_MAIN_CLASS = "kafka.Kafka"
_MIN_JAVA = 17
_INSTALL_HINT = (
    "install a Java 17+ runtime and Maven (Debian: apt-get install openjdk-17-jre-headless "
    "maven), or set KAFKA_BOOTSTRAP_SERVERS to a broker you already run"
)


def _resource(name: str) -> bytes:
    return resources.files("shopstream.kafka").joinpath(name).read_bytes()


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise ConfigurationError(f"`{tool}` was not found: {_INSTALL_HINT}")
    return path


def _java_major(java: str) -> int:
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [java, "-version"], capture_output=True, text=True, check=False
    )
    match = re.search(r'version "(\d+)', result.stderr)
    return int(match.group(1)) if match else 0


def local_address(port: int) -> str:
    """How clients reach a local node's port: the one address the nodes listen on."""
    return f"127.0.0.1:{port}"


def new_cluster_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()


def _process_alive(pid: int) -> bool:
    """Whether ``pid`` is a running (not zombie) Kafka broker process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state != "Z" and _MAIN_CLASS.encode() in cmdline


@dataclass(frozen=True)
class SaslListener:
    """A second client port that takes only authenticated clients, as cloud Kafka does.

    SASL_PLAINTEXT with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, for one user. The
    PLAINTEXT port stays for the broker's own use and for local clients.
    """

    port: int
    username: str
    password: str

    @property
    def bootstrap_servers(self) -> str:
        return local_address(self.port)


@dataclass(frozen=True)
class LocalBroker:
    """One KRaft node acting as both controller and broker on 127.0.0.1.

    Alone by default; ``LocalCluster`` makes several that vote for each other
    (``voters``: node id -> controller port) and share one ``cluster_id``.
    """

    state_dir: Path
    port: int = 9092
    controller_port: int = 9093
    libs_dir: Path | None = None
    heap: str = "1g"
    sasl: SaslListener | None = None
    node_id: int = 1
    voters: tuple[tuple[int, int], ...] = ()
    cluster_id: str | None = None

    @property
    def bootstrap_servers(self) -> str:
        return local_address(self.port)

    @property
    def libs(self) -> Path:
        return self.libs_dir or self.state_dir / "libs"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "broker.log"

    @property
    def _pid_file(self) -> Path:
        return self.state_dir / "broker.pid"

    def pid(self) -> int | None:
        """The pid of this state directory's broker process, if it runs."""
        try:
            pid = int(self._pid_file.read_text())
        except (OSError, ValueError):
            return None
        return pid if _process_alive(pid) else None

    def answers(self, timeout: float = 2.0) -> bool:
        return broker_answers({"bootstrap.servers": self.bootstrap_servers}, timeout)

    def install(self) -> None:
        """Resolve the Kafka jars with Maven, unless the ones for this pom are already there."""
        pom = _resource("pom.xml")
        stamp = self.libs / ".pom-sha256"
        digest = hashlib.sha256(pom).hexdigest()
        if stamp.exists() and stamp.read_text() == digest:
            return
        mvn = _require("mvn")
        shutil.rmtree(self.libs, ignore_errors=True)
        self.libs.mkdir(parents=True)
        pom_path = self.libs / "pom.xml"
        pom_path.write_bytes(pom)
        log.info("fetching Apache Kafka jars with Maven into %s", self.libs)
        result = subprocess.run(  # noqa: S603 - fixed arguments
            [
                mvn,
                "-B",
                "-q",
                "-f",
                str(pom_path),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={self.libs.resolve()}",
                "-DincludeScope=runtime",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BrokerError(f"Maven could not fetch Kafka:\n{result.stdout}{result.stderr}")
        stamp.write_text(digest)

    def _listeners(self) -> list[str]:
        client = f"PLAINTEXT://127.0.0.1:{self.port}"
        if self.sasl is None:
            return [
                f"listeners={client},CONTROLLER://127.0.0.1:{self.controller_port}",
                f"advertised.listeners={client}",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            ]
        sasl = f"SASL_PLAINTEXT://127.0.0.1:{self.sasl.port}"
        user, password = self.sasl.username, self.sasl.password
        scram = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        return [
            f"listeners={client},{sasl},CONTROLLER://127.0.0.1:{self.controller_port}",
            f"advertised.listeners={client},{sasl}",
            "listener.security.protocol.map="
            "PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
            "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
            "listener.name.sasl_plaintext.plain.sasl.jaas.config="
            "org.apache.kafka.common.security.plain.PlainLoginModule required "
            f'user_{user}="{password}";',
            f"listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config={scram}",
            f"listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config={scram}",
        ]

    def _write_config(self) -> Path:
        data = self.state_dir / "data"
        config = self.state_dir / "server.properties"
        voters = self.voters or ((self.node_id, self.controller_port),)
        replicas = len(voters)
        # With three nodes: every internal topic on all three, and an acks=all write needs
        # two of them, so one node may be down without losing or refusing anything.
        in_sync = min(2, replicas)
        config.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    f"node.id={self.node_id}",
                    "controller.quorum.voters="
                    + ",".join(f"{node}@127.0.0.1:{port}" for node, port in voters),
                    *self._listeners(),
                    "controller.listener.names=CONTROLLER",
                    "inter.broker.listener.name=PLAINTEXT",
                    f"log.dirs={data.resolve()}",
                    f"offsets.topic.replication.factor={replicas}",
                    f"transaction.state.log.replication.factor={replicas}",
                    f"transaction.state.log.min.isr={in_sync}",
                    f"share.coordinator.state.topic.replication.factor={replicas}",
                    f"share.coordinator.state.topic.min.isr={in_sync}",
                    f"default.replication.factor={replicas}",
                    f"min.insync.replicas={in_sync}",
                    "group.initial.rebalance.delay.ms=0",
                    # Topics are created by shopstream with the partitions it is configured for.
                    "auto.create.topics.enable=false",
                    "",
                ]
            )
        )
        (self.state_dir / "log4j2.properties").write_bytes(_resource("log4j2.properties"))
        return config

    def _format(self, java: str, config: Path) -> None:
        if (self.state_dir / "data" / "meta.properties").exists():
            return
        cluster_id = self.cluster_id or new_cluster_id()
        result = subprocess.run(  # noqa: S603 - fixed arguments
            [
                java,
                "-cp",
                f"{self.libs}/*",
                "kafka.tools.StorageTool",
                "format",
                # One argument: a base64 id may start with "-", which argparse takes for a flag.
                f"--cluster-id={cluster_id}",
                "-c",
                str(config),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BrokerError(
                f"could not format the broker's storage:\n{result.stdout}{result.stderr}"
            )

    def start(self, timeout: float = 90.0) -> bool:
        """Start the broker and return once it answers; False if it was already running."""
        if self.pid() is not None and self.answers():
            return False
        process = self.launch()
        self.wait_until_up(process, timeout)
        return True

    def launch(self) -> subprocess.Popen[bytes]:
        """Start the process without waiting: a cluster's nodes answer only once a majority runs."""
        java = _require("java")
        if _java_major(java) < _MIN_JAVA:
            raise ConfigurationError(f"Kafka 4 needs Java {_MIN_JAVA} or newer: {_INSTALL_HINT}")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.install()
        config = self._write_config()
        self._format(java, config)
        with self.log_file.open("ab") as log_out:
            process = subprocess.Popen(  # noqa: S603 - fixed arguments
                [
                    java,
                    "-Xms256m",
                    f"-Xmx{self.heap}",
                    "-XX:+UseG1GC",
                    "-XX:MaxGCPauseMillis=20",
                    "-XX:+ExitOnOutOfMemoryError",
                    "-Djava.awt.headless=true",
                    f"-Dlog4j2.configurationFile={self.state_dir.resolve() / 'log4j2.properties'}",
                    "-cp",
                    f"{self.libs}/*",
                    _MAIN_CLASS,
                    str(config),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log_out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._pid_file.write_text(str(process.pid))
        return process

    def wait_until_up(self, process: subprocess.Popen[bytes], timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise BrokerError(f"the broker exited at start-up:\n{self._log_tail()}")
            if self.answers(timeout=1.0):
                log.info("kafka broker %s up (pid %d)", self.bootstrap_servers, process.pid)
                if self.sasl is not None:
                    try:
                        add_scram_user(
                            {"bootstrap.servers": self.bootstrap_servers},
                            self.sasl.username,
                            self.sasl.password,
                        )
                    except BrokerError:
                        self.kill()  # not half-started: without its users it is useless
                        raise
                    log.info("SASL listener at %s", self.sasl.bootstrap_servers)
                return
        self.kill()
        raise BrokerError(f"the broker did not answer within {timeout:.0f} s:\n{self._log_tail()}")

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop gracefully (SIGTERM), or by SIGKILL after ``timeout``; False if not running."""
        pid = self.pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _process_alive(pid):
                return True
            time.sleep(0.1)
        log.warning("broker %d ignored SIGTERM for %.0f s: killing it", pid, timeout)
        self.kill()
        return True

    def kill(self) -> None:
        """SIGKILL the broker at once, as a crash would."""
        pid = self.pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGKILL)
        while _process_alive(pid):
            time.sleep(0.05)

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no broker log)"
