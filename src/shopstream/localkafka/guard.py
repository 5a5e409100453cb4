"""What keeps the local launcher from being fooled or from leaking.

- One start at a time per state directory: ``start_lock`` (``flock`` on ``start.lock``).
- No JVM launched onto ports another process holds: ``ensure_ports_free``.
- Files holding secrets (passwords, keys) readable by their owner only: ``write_private``.
- The broker that answers is the one formatted in this state directory: ``formatted_cluster_id``.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import socket
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from shopstream.errors import BrokerError

log = logging.getLogger(__name__)

_LOCK_FILE = "start.lock"
_LOCK_POLL_S = 0.1


@contextmanager
def start_lock(state_dir: Path, timeout: float) -> Iterator[None]:
    """Hold the state directory's start lock; wait up to ``timeout`` for another holder.

    ``flock`` is released by the kernel when its holder exits, however it exits, so a
    crashed ``kafka start`` never leaves a stale lock behind.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / _LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        waiting = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                if not waiting:
                    log.info(
                        "waiting for the `shopstream kafka start` (pid %s) in %s", holder, state_dir
                    )
                    waiting = True
                if time.monotonic() >= deadline:
                    raise BrokerError(
                        f"another `shopstream kafka start` (pid {holder}) has been starting "
                        f"the broker in {state_dir} for more than {timeout:.0f} s: wait for it, "
                        "or stop it"
                    ) from None
                time.sleep(_LOCK_POLL_S)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def port_taken(host: str, port: int) -> bool:
    """Whether binding ``host:port`` fails because something else holds it.

    ``SO_REUSEADDR``, as the JVM sets it, so that connections of a broker that just
    stopped (TIME_WAIT) do not count: only a socket bound or listening there does.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            raise
    return False


class Port(NamedTuple):
    """A port the broker will listen on, what it is for, and the setting that moves it."""

    number: int
    use: str
    setting: str


def ensure_ports_free(host: str, ports: Iterable[Port]) -> None:
    """Raise one line naming the first of ``ports`` that another process holds."""
    for port in ports:
        if port_taken(host, port.number):
            raise BrokerError(
                f"port {port.number} on {host} ({port.use}) is held by another process: "
                f"stop that process, or set {port.setting} to a free port"
            )


def write_private(path: Path, data: bytes) -> None:
    """Write ``path`` readable and writable by its owner only, also if it existed before."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        os.fchmod(fd, 0o600)  # O_CREAT's mode does not apply to a file that was there
        file.write(data)


def formatted_cluster_id(data_dir: Path) -> str | None:
    """The cluster id Kafka's storage tool wrote in ``data_dir/meta.properties``, if any."""
    try:
        lines = (data_dir / "meta.properties").read_text().splitlines()
    except OSError:
        return None
    values = dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    return values.get("cluster.id")
