"""A local Apache Kafka 4 node in KRaft mode (broker and controller), run with ``java``.

Everything the broker needs or writes lives in one state directory (``.kafka/`` by
default): ``libs/``, ``server.properties`` (mode 0600: it holds the SASL password),
``data/``, ``tls/`` (key material, with TLS), ``broker.log``, ``broker.pid`` and
``start.lock``. How the JVM is found and run is ``jvm.py``'s, what the node is
configured with ``properties.py``'s. The broker runs detached from the shell that
started it, so ``shopstream kafka stop`` (or SIGTERM to the pid) is what stops it.

Starting is safe to run twice: a start holds the state directory's lock from before it
looks for a running broker until its broker answers or fails, launches no JVM onto a
port another process holds, writes ``broker.pid`` only once the broker answers, and
takes an answer for its broker's only if it comes from the cluster formatted in
``data/meta.properties``.
"""

from __future__ import annotations

import base64
import logging
import os
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shopstream.errors import BrokerError
from shopstream.kafka.admin import add_scram_user, answering_cluster_id, broker_answers
from shopstream.kafka.config import plain_config
from shopstream.localkafka.guard import (
    Port,
    ensure_ports_free,
    formatted_cluster_id,
    start_lock,
    write_private,
)
from shopstream.localkafka.jvm import (
    MAIN_CLASS,
    ClassArchive,
    adopt_archive,
    discard_archive,
    end_launched,
    find_java,
    install_jars,
    process_alive,
    resource,
)
from shopstream.localkafka.properties import (
    HOST,
    NodeProperties,
    SaslListener,
    TlsListener,
    local_address,
)
from shopstream.localkafka.tls import TlsFiles

log = logging.getLogger(__name__)

# How long a start waits for another one on the same state directory (which may be
# fetching the jars first) before saying so.
LOCK_WAIT_S = 300.0
# Listener name -> what its port is for, and the setting that moves it.
_PORT_USES = {
    "PLAINTEXT": ("client port", "KAFKA_LOCAL_PORT"),
    "CONTROLLER": ("controller port", "KAFKA_LOCAL_CONTROLLER_PORT"),
    "SASL_PLAINTEXT": ("SASL port", "KAFKA_LOCAL_SASL_PORT"),
    "SSL": ("SSL port", "KAFKA_LOCAL_SSL_PORT"),
    "SASL_SSL": ("SASL_SSL port", "KAFKA_LOCAL_SASL_SSL_PORT"),
}


def new_cluster_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()


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
    tls: TlsListener | None = None
    tls_dir: Path | None = None
    extra_config: tuple[str, ...] = ()
    """more ``server.properties`` lines (``log.retention.check.interval.ms=500``)"""

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
    def tls_files(self) -> TlsFiles:
        """The CA, broker and client certificates (shared by a cluster's nodes)."""
        return TlsFiles(self.tls_dir or self.state_dir / "tls")

    @property
    def _pid_file(self) -> Path:
        return self.state_dir / "broker.pid"

    @property
    def _config_file(self) -> Path:
        return (self.state_dir / "server.properties").resolve()

    def pid(self) -> int | None:
        """The pid of this state directory's broker process, if it runs."""
        try:
            pid = int(self._pid_file.read_text())
        except (OSError, ValueError):
            return None
        return pid if process_alive(pid, self._config_file) else None

    def ports(self) -> list[Port]:
        """Every port the node listens on, named as the error for a held one names it."""
        node = f"node {self.node_id}'s " if self.voters else ""
        return [
            Port(number, node + _PORT_USES[name][0], _PORT_USES[name][1])
            for name, number in [
                *self._properties().client_listeners(),
                ("CONTROLLER", self.controller_port),
            ]
        ]

    def check_ports(self) -> None:
        """Raise ``BrokerError`` naming the first port that another process holds."""
        ensure_ports_free(HOST, self.ports())

    def answering_cluster_id(self, timeout: float = 2.0) -> str | None:
        """The id of the cluster that answers on the client port; None if none answers."""
        return answering_cluster_id(self._client_config(), timeout)

    def _client_config(self) -> dict[str, Any]:
        return plain_config(self.bootstrap_servers, "localkafka")

    def formatted_cluster_id(self) -> str | None:
        """The id of the cluster this node's storage was formatted for, once it was."""
        return formatted_cluster_id(self.state_dir / "data")

    def answers(self, timeout: float = 2.0) -> bool:
        return broker_answers(self._client_config(), timeout)

    def install(self) -> None:
        install_jars(self.libs)

    def _properties(self) -> NodeProperties:
        tls = self.tls is not None
        return NodeProperties(
            node_id=self.node_id,
            port=self.port,
            controller_port=self.controller_port,
            voters=self.voters,
            data_dir=self.state_dir / "data",
            sasl=self.sasl,
            tls=self.tls,
            keystore=self.tls_files.broker_keystore if tls else None,
            truststore=self.tls_files.ca_cert if tls else None,
            extra=self.extra_config,
        )

    def _write_config(self) -> Path:
        config = self._config_file
        write_private(config, self._properties().text().encode())
        (self.state_dir / "log4j2.properties").write_bytes(resource("log4j2.properties"))
        return config

    def _format(self, java: str, archive: ClassArchive, config: Path) -> None:
        if (self.state_dir / "data" / "meta.properties").exists():
            return
        cluster_id = self.cluster_id or new_cluster_id()
        result = subprocess.run(  # noqa: S603 - fixed arguments
            [
                java,
                *archive.reading_flags(),
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
        with start_lock(self.state_dir, LOCK_WAIT_S):
            if self.check_running():
                return False
            process = self.launch()
            self.wait_until_up(process, timeout)
            return True

    def check_running(self) -> bool:
        """Whether this state directory's broker runs and answers; raises if it runs mute.

        Also raises when the answer comes from another cluster than the one formatted
        here: the port then belongs to another Kafka, not to the process in ``broker.pid``.
        """
        pid = self.pid()
        if pid is None:
            return False
        answering = self.answering_cluster_id(timeout=5.0)
        if answering is None:
            raise BrokerError(
                f"the broker in {self.state_dir} runs (pid {pid}) but does not answer at "
                f"{self.bootstrap_servers}: see {self.log_file}, or stop it with "
                "`shopstream kafka stop`"
            )
        self._check_cluster(answering)
        return True

    def _check_cluster(self, answering: str) -> None:
        ours = self.formatted_cluster_id()
        if answering != ours:
            raise BrokerError(
                f"another Kafka (cluster {answering}) answers at {self.bootstrap_servers}, "
                f"not the broker of {self.state_dir} (cluster {ours}): port {self.port} is "
                "taken; stop that Kafka, or set KAFKA_LOCAL_PORT to a free port"
            )

    def launch(self) -> subprocess.Popen[bytes]:
        """Start the process without waiting: a cluster's nodes answer only once a majority runs.

        Checks first that every port is free (another Kafka taking one meanwhile is caught
        by ``wait_until_up``, which writes the pid once the broker answers as this node).
        """
        java, java_version = find_java()
        self.check_ports()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.install()
        if self.tls is not None:
            self.tls_files.ensure()
        config = self._write_config()
        archive = ClassArchive(self.libs, java_version)
        self._format(java, archive, config)
        with self.log_file.open("ab") as log_out:
            return subprocess.Popen(  # noqa: S603 - fixed arguments
                [
                    java,
                    "-Xms256m",
                    f"-Xmx{self.heap}",
                    "-XX:+UseG1GC",
                    "-XX:MaxGCPauseMillis=20",
                    "-XX:+ExitOnOutOfMemoryError",
                    *archive.flags(self.state_dir),
                    "-Djava.awt.headless=true",
                    f"-Dlog4j2.configurationFile={self.state_dir.resolve() / 'log4j2.properties'}",
                    "-cp",
                    f"{self.libs}/*",
                    MAIN_CLASS,
                    str(config),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log_out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_until_up(self, process: subprocess.Popen[bytes], timeout: float = 90.0) -> None:
        """Wait until ``process`` answers as this node, then write its pid; else kill it."""
        try:
            self._await(process, timeout)
        except BaseException:
            end_launched(process)  # not half-started, whatever went wrong (Ctrl-C included)
            raise
        self._pid_file.write_text(str(process.pid))
        log.info("kafka broker %s up (pid %d)", self.bootstrap_servers, process.pid)

    def _await(self, process: subprocess.Popen[bytes], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise BrokerError(f"the broker exited at start-up:\n{self._log_tail()}")
            answering = self.answering_cluster_id(timeout=1.0)
            if answering is None:
                continue
            self._check_cluster(answering)
            if self.sasl is not None:
                add_scram_user(self._client_config(), self.sasl.username, self.sasl.password)
                log.info("SASL listener at %s", self.sasl.bootstrap_servers)
            return
        raise BrokerError(f"the broker did not answer within {timeout:.0f} s:\n{self._log_tail()}")

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop gracefully (SIGTERM), or by SIGKILL after ``timeout``; False if not running.

        Waits for a start in progress on this state directory first, then stops what it
        started.
        """
        if not self.state_dir.exists():
            return False
        with start_lock(self.state_dir, LOCK_WAIT_S):
            return self.terminate(timeout)

    def terminate(self, timeout: float = 30.0) -> bool:
        """``stop`` without the lock, for the holder of a cluster's."""
        pid = self.pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not process_alive(pid, self._config_file):
                adopt_archive(self.state_dir, self.libs)  # it exited by itself: complete
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
        while process_alive(pid, self._config_file):
            time.sleep(0.05)
        discard_archive(self.state_dir)

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no broker log)"
