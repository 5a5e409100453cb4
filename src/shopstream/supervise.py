"""Child processes started, watched and stopped as one group.

One supervisor serves ``shopstream up`` (the API and a worker), ``shopstream worker
--processes N``, the test pipelines and the bench. Each child is ``python -m <module>``
of this interpreter in a session of its own, so Ctrl-C in a terminal reaches the
supervisor alone, which then stops the children gracefully (SIGTERM, then SIGKILL after
a grace period). A child's output is relayed with its name as a prefix, as
``docker compose up`` shows it, written to a file, or dropped. With ``json_lines``
(``LOG_FORMAT=json``) a relayed line stays one JSON object, its child's name in ``part``.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal, TypeVar

import orjson

log = logging.getLogger(__name__)

RELAY: Literal["relay"] = "relay"
Output = Literal["relay"] | Path | None
"""``RELAY`` (prefixed lines on this process's stdout), a log file, or None (dropped)."""

# A child that dies sooner than this after starting is failing, not crashing: give up.
FAILING_WITHIN_S = 5.0
_WATCH_S = 0.5
T = TypeVar("T")


def wait_for(condition: Callable[[], T], timeout: float, what: str, interval: float = 0.05) -> T:
    """Poll ``condition`` until it returns something truthy; ``TimeoutError`` naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def stop_on_signals() -> threading.Event:
    """An event set by SIGINT or SIGTERM, installed now.

    Installed explicitly: Ctrl-C during start-up still stops what was started, and a
    shell may start a command in the background with SIGINT ignored.
    """
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    return stopped


def _relay(name: str, stream: IO[bytes], json_lines: bool) -> None:
    out = sys.stdout.buffer
    prefix = f"{name:<6} | ".encode()
    for line in stream:
        out.write(_tagged(name, line) if json_lines else prefix + line)
        out.flush()


def _tagged(name: str, line: bytes) -> bytes:
    """A child's JSON line with ``part`` added; a line that is not JSON becomes a message."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        record = None
    if not isinstance(record, dict):
        record = {"message": line.decode(errors="replace").rstrip("\n")}
    return orjson.dumps({"part": name, **record}) + b"\n"


@dataclass
class _Child:
    args: tuple[str, ...]
    module: str
    output: Output
    restart: bool
    process: subprocess.Popen[bytes]
    started: float


class Supervisor:
    """Children of one environment and working directory, stopped together."""

    def __init__(
        self,
        env: Mapping[str, str],
        cwd: Path | None = None,
        stop_timeout: float = 20.0,
        json_lines: bool = False,
        on_exit: Callable[[int], None] = lambda _: None,
    ) -> None:
        self.env = dict(env)
        self.on_exit = on_exit
        """called with the pid of a child that exited and is started again"""
        self.cwd = cwd
        self.stop_timeout = stop_timeout
        self.json_lines = json_lines
        self._children: dict[str, _Child] = {}

    def start(
        self,
        name: str,
        *args: str,
        module: str = "shopstream",
        output: Output = RELAY,
        restart: bool = False,
    ) -> subprocess.Popen[bytes]:
        """Start ``python -m module args`` as ``name``; with ``restart``, again if it crashes."""
        if isinstance(output, Path):
            with output.open("ab") as log_file:
                process = self._popen(module, args, log_file)
        elif output is None:
            process = self._popen(module, args, subprocess.DEVNULL)
        else:
            process = self._popen(module, args, subprocess.PIPE)
            assert process.stdout is not None  # noqa: S101 - stdout=PIPE above
            threading.Thread(
                target=_relay, args=(name, process.stdout, self.json_lines), daemon=True
            ).start()
        self._children[name] = _Child(args, module, output, restart, process, time.monotonic())
        return process

    def _popen(
        self, module: str, args: tuple[str, ...], out: IO[bytes] | int
    ) -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", module, *args],
            env=self.env,
            cwd=self.cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def __getitem__(self, name: str) -> subprocess.Popen[bytes]:
        return self._children[name].process

    def processes(self) -> dict[str, subprocess.Popen[bytes]]:
        return {name: child.process for name, child in self._children.items()}

    def watch(self, stopped: threading.Event) -> int:
        """Until ``stopped`` is set or a child fails; the exit status of the first to fail.

        A child started with ``restart`` that exits after running a while is started
        again (a crash); one that exits at once is failing, and ends the watch.
        """
        while not stopped.wait(_WATCH_S):
            for name, child in list(self._children.items()):
                code = child.process.poll()
                if code is None:
                    continue
                if child.restart and time.monotonic() - child.started >= FAILING_WITHIN_S:
                    log.warning("%s exited (%s): starting another", name, code)
                    self.on_exit(child.process.pid)
                    self.start(
                        name, *child.args, module=child.module, output=child.output, restart=True
                    )
                    continue
                log.error("stopping: %s exited (%s)", name, code)
                return code or 1
        return 0

    def forward_hangups(self, *names: str) -> None:
        """From now on, pass SIGHUP (read the category list again) on to the children ``names``.

        Without it, SIGHUP would end this process and leave its children running.
        """

        def forward(*_: object) -> None:
            for name in names:
                child = self._children.get(name)
                if child is not None and child.process.poll() is None:
                    child.process.send_signal(signal.SIGHUP)

        signal.signal(signal.SIGHUP, forward)

    def stop(self) -> None:
        """SIGTERM every child still running, then SIGKILL those that outlast the grace."""
        for child in self._children.values():
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        for name, child in self._children.items():
            try:
                child.process.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %.0f s: killing it", name, self.stop_timeout)
                child.process.kill()
                child.process.wait()

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
