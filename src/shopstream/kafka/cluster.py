"""Several local KRaft nodes, each a broker and a controller: a real quorum on one machine.

Node ``n`` (from 1) lives in ``<state dir>/node-n`` and listens on the single broker's
ports plus ``10 * (n - 1)``: 9092, 9102, 9112 for clients and 9093, 9103, 9113 for the
controllers by default. All share the jars and one cluster id (``<state dir>/cluster.id``).
With three nodes, topics are replicated three times and a write needs two in-sync copies,
so any one node can die without a lost or refused acknowledged message.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from shopstream.kafka.broker import LocalBroker, SaslListener, local_address, new_cluster_id

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
        if not self._cluster_id_file.exists():
            self.state_dir.mkdir(parents=True, exist_ok=True)
            self._cluster_id_file.write_text(new_cluster_id())
        nodes = self.nodes
        down = [node for node in nodes if node.pid() is None]
        if not down:
            return False
        launched = [(node, node.launch()) for node in down]  # a majority must run to answer
        for node, process in launched:
            node.wait_until_up(process, timeout)
        return True

    def stop(self, timeout: float = 30.0) -> bool:
        stopped = [node.stop(timeout) for node in self.nodes]
        return any(stopped)

    def kill(self) -> None:
        for node in self.nodes:
            node.kill()
