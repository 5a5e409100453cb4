"""The manager's list as ``CATEGORIES_FILE`` says now, followed without a restart.

The worker asks for the list before each batch, the API before each answer: a look at
the file's identity, size and modification time, and only when they changed a new read.
A read takes the file whole and validates it before it replaces the list in force: a
file that changed while it was read is being written, and is read again at the next
look; a list that cannot be read or is not valid is logged once with the reason, and the
list in force stays. ``reload`` (the worker's SIGHUP) reads the file at the next look
even if nothing about it seems to have changed.

A file written in place by hand is briefly empty or half written; a broken list younger
than ``SETTLE_S`` is given that long to be finished before it is reported.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from shopstream.catalog import Catalog
from shopstream.errors import ConfigurationError

log = logging.getLogger(__name__)

SETTLE_S = 1.0

State = tuple[int, int, int, int] | str
"""what the file is now: (device, inode, size, mtime in ns), or why it cannot be looked at"""


def _state(path: Path) -> State:
    try:
        stat = os.stat(path)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns


class _Changing(Exception):
    """The file changed while it was read."""


class CatalogFile:
    """The list in ``path`` (the bundled one when None): ``current()`` follows the file."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._state = _state(path) if path is not None else ""
        self._catalog = Catalog.load(path)  # at start, a broken list is a ConfigurationError
        self._refused: State | None = None  # the state last reported as broken
        self._reload = False

    def reload(self) -> None:
        """Read the file at the next look, changed or not (safe from a signal handler)."""
        self._reload = True

    def current(self) -> Catalog:
        """The list in force, read again first if the file changed."""
        if self.path is None:
            return self._catalog
        state = _state(self.path)
        if not self._reload and state in (self._state, self._refused):
            return self._catalog
        self._reload = False
        try:
            catalog = self._read(self.path, state)
        except _Changing:
            return self._catalog  # being written: the next look reads it again
        except ConfigurationError as exc:
            if not self._settled(state):
                return self._catalog
            self._refused = state
            log.error(
                "the category list %s was not reloaded, keeping version %s: %s",
                self.path,
                self._catalog.version.hash,
                exc,
            )
            return self._catalog
        self._state, self._refused = state, None
        if catalog.version.hash != self._catalog.version.hash:
            log.info(
                "category list %s reloaded: version %s (was %s)",
                self.path,
                catalog.version.hash,
                self._catalog.version.hash,
            )
            self._catalog = catalog
        return self._catalog

    @staticmethod
    def _read(path: Path, before: State) -> Catalog:
        """The list in ``path``, read whole while the file stayed as ``before``."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigurationError(f"cannot read the category list {path}: {exc}") from exc
        after = _state(path)
        if after != before or (isinstance(after, tuple) and after[2] != len(data)):
            raise _Changing
        return Catalog.parse(data, path)

    @staticmethod
    def _settled(state: State) -> bool:
        """Whether the file was last written long enough ago to be judged."""
        if isinstance(state, str):
            return True  # missing or unreadable: nothing to wait for
        age_ns = time.time_ns() - state[3]
        return age_ns >= SETTLE_S * 1e9 or age_ns < 0  # < 0: a clock ahead; waiting won't help
