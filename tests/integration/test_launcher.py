"""`shopstream kafka start` run twice, onto a held port, onto another Kafka: never fooled.

Each test runs the command as a user would, in a state directory of its own that
shares the session's jars, and counts the JVMs started with that directory's config.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from shopstream.errors import BrokerError
from shopstream.localkafka.broker import LocalBroker
from shopstream.localkafka.cluster import PORT_STEP
from shopstream.localkafka.guard import port_taken
from shopstream.localkafka.properties import jaas_quoted, properties_value
from shopstream.supervise import wait_for
from testbed.pipeline import LIBS
from testbed.ports import free_port
from tests.helpers import SASL_PASSWORD, SASL_USER, shopstream

pytestmark = pytest.mark.integration


def _state(tmp_path: Path) -> Path:
    state = tmp_path / ".kafka"
    state.mkdir()
    (state / "libs").symlink_to(LIBS)
    return state


def _jvms(state: Path) -> list[int]:
    """Pids of the brokers running with a config file under ``state`` (or relative to it)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            arguments = (proc / "cmdline").read_bytes().split(b"\0")
            cwd = Path(os.readlink(proc / "cwd"))
        except OSError:
            continue
        configs = [cwd / os.fsdecode(a) for a in arguments if a.endswith(b"server.properties")]
        if b"kafka.Kafka" in arguments and any(c.is_relative_to(state) for c in configs):
            found.append(int(proc.name))
    return found


@pytest.fixture
def launched(tmp_path: Path) -> Iterator[Path]:
    """A state directory; whatever broker is left running in it at the end is SIGKILLed."""
    state = _state(tmp_path)
    yield state
    for pid in _jvms(state):
        os.kill(pid, signal.SIGKILL)


def _env(port: int, controller: int, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "KAFKA_LOCAL_PORT": str(port),
        "KAFKA_LOCAL_CONTROLLER_PORT": str(controller),
        **extra,
    }
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    return env


def _one_line_naming(result: subprocess.CompletedProcess[str], port: int, setting: str) -> None:
    assert result.returncode != 0
    error = result.stderr.strip()
    assert "\n" not in error, error  # no JVM log dump
    assert error.startswith("error: ")
    assert f"port {port}" in error
    assert setting in error


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port another process would hold: bound and listening."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


@pytest.mark.parametrize("which", ["client", "controller"])
def test_a_held_port_is_one_line_and_no_jvm_is_launched(
    launched: Path, tmp_path: Path, held_port: int, which: str
) -> None:
    port, controller = (held_port, free_port()) if which == "client" else (free_port(), held_port)
    result = shopstream("kafka", "start", env=_env(port, controller), cwd=tmp_path, timeout=120)
    setting = "KAFKA_LOCAL_PORT" if which == "client" else "KAFKA_LOCAL_CONTROLLER_PORT"
    _one_line_naming(result, held_port, setting)
    assert not (launched / "broker.log").exists()
    assert _jvms(launched) == []


def test_another_kafka_on_the_port_is_not_taken_for_ours(
    launched: Path, tmp_path: Path, kafka: LocalBroker
) -> None:
    env = _env(kafka.port, free_port())
    result = shopstream("kafka", "start", env=env, cwd=tmp_path, timeout=120)
    _one_line_naming(result, kafka.port, "KAFKA_LOCAL_PORT")
    assert "kafka started" not in result.stdout
    assert _jvms(launched) == []


def test_a_running_broker_is_ours_only_if_its_cluster_answers(
    own_broker: LocalBroker, kafka: LocalBroker
) -> None:
    """broker.pid names a live broker, but the port now answers for another cluster."""
    moved = LocalBroker(
        own_broker.state_dir, port=kafka.port, controller_port=own_broker.controller_port
    )
    assert moved.pid() == own_broker.pid()
    other = rf"another Kafka \(cluster .+\) answers at 127.0.0.1:{kafka.port}"
    with pytest.raises(BrokerError, match=other):
        moved.start()


def test_a_second_start_while_one_is_starting_launches_no_second_jvm(
    launched: Path, tmp_path: Path
) -> None:
    port, controller = free_port(), free_port()
    env = _env(
        port,
        controller,
        KAFKA_LOCAL_SASL_PORT=str(free_port()),
        KAFKA_SASL_USERNAME=SASL_USER,
        KAFKA_SASL_PASSWORD=SASL_PASSWORD,
    )
    command = [sys.executable, "-m", "shopstream", "kafka", "start", "--sasl"]
    pipe = subprocess.PIPE
    with subprocess.Popen(
        command, env=env, cwd=tmp_path, stdout=pipe, stderr=pipe, text=True
    ) as first:
        wait_for(lambda: _jvms(launched), 60, "the first start's JVM")
        broker = LocalBroker(launched, port, controller)
        assert not broker.answers(timeout=0.5), "the broker answered before the second start"
        second = shopstream("kafka", "start", "--sasl", env=env, cwd=tmp_path, timeout=180)
        first_out, first_err = first.communicate(timeout=180)
    assert first.returncode == 0, first_err
    assert second.returncode == 0, second.stderr
    assert "kafka started" in first_out
    assert "kafka already running" in second.stdout
    running = _jvms(launched)
    assert len(running) == 1
    assert broker.pid() == running[0]  # broker.pid was not overwritten
    assert broker.log_file.read_text().count("Kafka version:") == 1  # one JVM ever started
    config = launched / "server.properties"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600  # it holds the SASL password
    assert properties_value(jaas_quoted(SASL_PASSWORD)) in config.read_text()
    stopped = shopstream("kafka", "stop", env=env, cwd=tmp_path)
    assert "kafka stopped" in stopped.stdout
    assert _jvms(launched) == []


def test_a_held_port_of_one_cluster_node_launches_no_node(launched: Path, tmp_path: Path) -> None:
    while True:  # node 2's client port held, every other port of the three nodes free
        port, controller = free_port(), free_port()
        if port + 3 * PORT_STEP < 65535 and controller + 3 * PORT_STEP < 65535:
            break
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port + PORT_STEP))
        holder.listen()
        result = shopstream(
            "kafka", "start", "--brokers", "3", env=_env(port, controller), cwd=tmp_path
        )
    _one_line_naming(result, port + PORT_STEP, "KAFKA_LOCAL_PORT")
    assert "node 2's client port" in result.stderr
    assert _jvms(launched) == []


def test_a_start_stopped_before_its_broker_answers_takes_the_jvm_down(
    launched: Path, tmp_path: Path
) -> None:
    port, controller = free_port(), free_port()
    env = _env(port, controller)
    command = [sys.executable, "-m", "shopstream", "kafka", "start"]
    with subprocess.Popen(command, env=env, cwd=tmp_path, stderr=subprocess.PIPE) as start:
        wait_for(lambda: _jvms(launched), 60, "the start's JVM")
        assert not LocalBroker(launched, port, controller).answers(timeout=0.5)
        start.send_signal(signal.SIGTERM)
        start.communicate(timeout=60)
    assert start.returncode != 0
    wait_for(lambda: not _jvms(launched), 30, "no JVM left behind")
    assert not (launched / "broker.pid").exists()


def test_connections_of_a_stopped_broker_do_not_hold_its_port() -> None:
    """The side that closes first keeps the connection in TIME_WAIT: a broker that stopped."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the JVM's is
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = listener.accept()
        accepted.close()
    client.close()
    assert not port_taken("127.0.0.1", port)
