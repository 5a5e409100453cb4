"""Several local KRaft nodes, each a broker and a controller: a real quorum on one machine.

Node ``n`` (from 1) lives in ``<state dir>/node-n`` and listens on the single broker's
ports plus ``10 * (n - 1)``: 9092, 9102, 9112 for clients and 9093, 9103, 9113 for the
controllers by default. All share the jars, one cluster id (``<state dir>/cluster.id``)
and, with TLS, one CA and broker certificate (``<state dir>/tls``). With three nodes,
topics are replicated three times and a write needs two in-sync copies, so any one node
can die without a lost or refused acknowledged message.

Starting and stopping hold ``<state dir>/start.lock``, as a single broker's do; every
node's ports are checked before the first is launched, and a node that does not come up
takes the others launched with it down.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

from shopstream.localkafka.broker import LOCK_WAIT_S, LocalBroker, new_cluster_id
from shopstream.localkafka.guard import start_lock
from shopstream.localkafka.jvm import end_launched
from shopstream.localkafka.properties import SaslListener, TlsListener, local_address
from shopstream.localkafka.tls import TlsFiles

PORT_STEP = 10


@dataclass(frozen=True)
class LocalCluster:
    state_dir: Path
    size: int = 3
    port: int = 9092
    controller_port: int = 9093
    libs_dir: Path | None = None
    heap: str = "1g"
    sasl: SaslListener | None = None
    tls: TlsListener | None = None

    @property
    def tls_files(self) -> TlsFiles:
        return TlsFiles(self.state_dir / "tls")

    @property
    def _cluster_id_file(self) -> Path:
        return self.state_dir / "cluster.id"

    @property
    def nodes(self) -> list[LocalBroker]:
        """The nodes; only ``start`` writes the shared cluster id, the others just read it."""
        shift = [PORT_STEP * n for n in range(self.size)]
        voters = tuple((n + 1, self.controller_port + shift[n]) for n in range(self.size))
        id_file = self._cluster_id_file
        cluster_id = id_file.read_text().strip() if id_file.exists() else None
        return [
            LocalBroker(
                state_dir=self.state_dir / f"node-{n + 1}",
                port=self.port + shift[n],
                controller_port=self.controller_port + shift[n],
                libs_dir=self.libs_dir or self.state_dir / "libs",
                heap=self.heap,
                sasl=replace(self.sasl, port=self.sasl.port + shift[n]) if self.sasl else None,
                node_id=n + 1,
                voters=voters,
                cluster_id=cluster_id,
                tls=TlsListener(self.tls.port + shift[n], self.tls.sasl_port + shift[n])
                if self.tls
                else None,
                tls_dir=self.tls_files.directory,
            )
            for n in range(self.size)
        ]

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(local_address(self.port + PORT_STEP * n) for n in range(self.size))

    @property
    def log_file(self) -> Path:
        return self.state_dir / "node-*" / "broker.log"

    def pid(self) -> int | None:
        """The first running node's pid."""
        return next((pid for node in self.nodes if (pid := node.pid()) is not None), None)

    def answers(self, timeout: float = 2.0) -> bool:
        return any(node.answers(timeout) for node in self.nodes)

    def start(self, timeout: float = 120.0) -> bool:
        """Start every node not running, then wait for each; False if all were running."""
        with start_lock(self.state_dir, LOCK_WAIT_S):
            if not self._cluster_id_file.exists():
                self._cluster_id_file.write_text(new_cluster_id())
            down = [node for node in self.nodes if not node.check_running()]
            if not down:
                return False
            for node in down:
                node.check_ports()
            if self.tls is not None:
                self.tls_files.ensure()
            launched: list[tuple[LocalBroker, subprocess.Popen[bytes]]] = []
            try:
                for node in down:  # all at once: a majority must run to answer
                    launched.append((node, node.launch()))
                for node, process in launched:
                    node.wait_until_up(process, timeout)
            except BaseException:
                for _, process in launched:
                    end_launched(process)
                raise
            return True

    def stop(self, timeout: float = 30.0) -> bool:
        if not self.state_dir.exists():
            return False
        with start_lock(self.state_dir, LOCK_WAIT_S):
            stopped = [node.terminate(timeout) for node in self.nodes]
            return any(stopped)

    def kill(self) -> None:
        for node in self.nodes:
            node.kill()
