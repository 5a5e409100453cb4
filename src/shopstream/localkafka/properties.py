"""A local node's ``server.properties``: its ports (listeners), its quorum, its topics' defaults."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from shopstream.errors import ConfigurationError

HOST = "127.0.0.1"
# The user's name becomes a JAAS option's name (``user_<name>``), which is a bare token.
_USERNAME = re.compile(r"[A-Za-z0-9._@-]+")


def local_address(port: int) -> str:
    """How clients reach a local node's port: the one address the nodes listen on."""
    return f"{HOST}:{port}"


@dataclass(frozen=True)
class SaslListener:
    """A second client port that takes only authenticated clients, as cloud Kafka does.

    SASL_PLAINTEXT with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, for one user. The
    PLAINTEXT port stays for the broker's own use and for local clients.
    """

    port: int
    username: str
    password: str

    def __post_init__(self) -> None:
        if not _USERNAME.fullmatch(self.username):
            raise ConfigurationError(
                "KAFKA_SASL_USERNAME: the local broker's user takes letters, digits and . _ @ -"
            )
        if any(ord(c) < 32 or ord(c) == 127 for c in self.password):
            raise ConfigurationError("KAFKA_SASL_PASSWORD: no control characters (line breaks)")

    def __repr__(self) -> str:
        return f"SaslListener(port={self.port}, username={self.username!r}, password='**')"

    @property
    def bootstrap_servers(self) -> str:
        return local_address(self.port)


@dataclass(frozen=True)
class TlsListener:
    """TLS client ports, with certificates of the broker's own CA (``localkafka/tls.py``).

    ``port``: SSL, which takes only clients with a certificate that CA signed (mutual
    TLS, ``ssl.client.auth=required``, as Aiven and MSK do). ``sasl_port``: SASL_SSL,
    as Confluent Cloud and MSK do, opened only when the broker has a ``SaslListener``.
    """

    port: int
    sasl_port: int

    @property
    def bootstrap_servers(self) -> str:
        return local_address(self.port)

    @property
    def sasl_bootstrap_servers(self) -> str:
        return local_address(self.sasl_port)


@dataclass(frozen=True)
class NodeProperties:
    """What one node's ``server.properties`` says; ``text()`` writes it out."""

    node_id: int
    port: int
    controller_port: int
    voters: tuple[tuple[int, int], ...]
    data_dir: Path
    sasl: SaslListener | None = None
    tls: TlsListener | None = None
    keystore: Path | None = None
    truststore: Path | None = None
    extra: tuple[str, ...] = ()
    """more lines, written last (``log.retention.check.interval.ms=500``)"""

    def client_listeners(self) -> list[tuple[str, int]]:
        """(listener name, which is also its protocol; port) of every client port."""
        listeners = [("PLAINTEXT", self.port)]
        if self.sasl is not None:
            listeners.append(("SASL_PLAINTEXT", self.sasl.port))
        if self.tls is not None:
            listeners.append(("SSL", self.tls.port))
            if self.sasl is not None:
                listeners.append(("SASL_SSL", self.tls.sasl_port))
        return listeners

    def text(self) -> str:
        voters = self.voters or ((self.node_id, self.controller_port),)
        replicas = len(voters)
        # With three nodes: every internal topic on all three, and an acks=all write needs
        # two of them, so one node may be down without losing or refusing anything.
        in_sync = min(2, replicas)
        return "\n".join(
            [
                "process.roles=broker,controller",
                f"node.id={self.node_id}",
                "controller.quorum.voters="
                + ",".join(f"{node}@{HOST}:{port}" for node, port in voters),
                *self._listeners(),
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                f"log.dirs={self.data_dir.resolve()}",
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
                *self.extra,
                "",
            ]
        )

    def _listeners(self) -> list[str]:
        clients = self.client_listeners()
        urls = [f"{name}://{HOST}:{port}" for name, port in clients]
        lines = [
            "listeners=" + ",".join([*urls, f"CONTROLLER://{HOST}:{self.controller_port}"]),
            "advertised.listeners=" + ",".join(urls),
            "listener.security.protocol.map="
            + ",".join([*(f"{name}:{name}" for name, _ in clients), "CONTROLLER:PLAINTEXT"]),
        ]
        if self.sasl is not None:
            lines += self._sasl_lines(self.sasl, [name for name, _ in clients])
        if self.keystore is not None and self.truststore is not None:
            lines += [
                # PEM stores: the key is readable by this user only (tls.py), no password.
                "ssl.keystore.type=PEM",
                f"ssl.keystore.location={self.keystore.resolve()}",
                "ssl.truststore.type=PEM",
                f"ssl.truststore.location={self.truststore.resolve()}",
                "listener.name.ssl.ssl.client.auth=required",
            ]
        return lines

    @staticmethod
    def _sasl_lines(sasl: SaslListener, listeners: list[str]) -> list[str]:
        plain = (
            "org.apache.kafka.common.security.plain.PlainLoginModule required "
            f"user_{sasl.username}={jaas_quoted(sasl.password)};"
        )
        scram = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        lines = ["sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512"]
        for name in listeners:
            if name.startswith("SASL"):
                prefix = f"listener.name.{name.lower()}"
                lines += [
                    f"{prefix}.plain.sasl.jaas.config={properties_value(plain)}",
                    f"{prefix}.scram-sha-256.sasl.jaas.config={scram}",
                    f"{prefix}.scram-sha-512.sasl.jaas.config={scram}",
                ]
        return lines


def jaas_quoted(value: str) -> str:
    """``value`` as a JAAS option's quoted string: a ``"`` or ``\\`` in it is escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def properties_value(value: str) -> str:
    """``value`` as a Java properties file reads it back: backslashes doubled.

    Line breaks cannot occur: ``SaslListener`` refuses control characters.
    """
    return value.replace("\\", "\\\\")
