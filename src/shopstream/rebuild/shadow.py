"""The store a rebuild builds beside the live one, and how it takes the live one's place.

One per kind of store (``jsonshadow``, ``sqliteshadow``, ``pgshadow``; ``inplace`` picks
one for a store's URL), each with the
same steps: ``prepare`` takes the rebuild's lock (one rebuild of a store at a time) and
starts a fresh shadow, dropping what an interrupted rebuild left; ``feed`` hands over each
live ticket the shadow was not given yet (the first time, all of them); ``swap`` does the
last of that under the live store's write lock and puts the shadow in the live store's
place in one step; ``discard`` removes the shadow, the live store untouched.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import BinaryIO, Protocol

from shopstream.errors import StoreError
from shopstream.rebuild.writer import BatchWriter
from shopstream.stores import Store


class Shadow(Protocol):
    @property
    def store(self) -> Store:
        """The shadow, open for writing once prepared."""
        ...

    def prepare(self) -> None: ...

    def feed(self, writer: BatchWriter) -> None:
        """Give ``writer`` each live ticket not given before: the first time, every one, and
        how many that is about to be (``writer.reporting.total``)."""
        ...

    def swap(self, writer: BatchWriter) -> int:
        """Under the live store's write lock, have ``writer`` store what it got since the
        last ``feed`` and switch to the shadow; how many tickets that was."""
        ...

    def discard(self) -> None: ...

    def release(self) -> None:
        """Let the next rebuild of this store start (after ``swap`` or ``discard``)."""
        ...


def beside(path: Path, suffix: str) -> Path:
    """A file next to ``path``: its name and ``suffix``."""
    return path.with_name(f"{path.name}.{suffix}")


class FileLock:
    """An exclusive lock on a file beside a store: one rebuild of it at a time."""

    def __init__(self, path: Path, store: Path) -> None:
        self.path = path
        self._store = store
        self._file: BinaryIO | None = None

    def take(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        file = self.path.open("ab")
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.close()
            raise StoreError(f"{self._store} is being rebuilt by another rebuild") from None
        # The last holder removes the file when it is done: ours must still be at the path.
        try:
            at_path = os.stat(self.path).st_ino
        except FileNotFoundError:
            at_path = None
        if os.fstat(file.fileno()).st_ino != at_path:
            file.close()
            raise StoreError(f"{self._store} is being rebuilt by another rebuild")
        self._file = file

    def release(self) -> None:
        if self._file is not None:
            self.path.unlink(missing_ok=True)
            self._file.close()
            self._file = None


class BesideFile:
    """What the file stores' shadows share: the file beside the live one, the rebuild's lock."""

    def __init__(self, live: Path) -> None:
        self.live = live
        self.path = beside(live, "rebuilding")
        self._lock = FileLock(beside(live, "rebuild-lock"), live)

    def release(self) -> None:
        self._lock.release()


def upgrade(live: Store) -> None:
    """Bring the live store to this version's tables, as a worker opening it does.

    For a store an older shopstream wrote, never opened by a worker since: it lacks what
    the copy reads (each ticket's ``catalog_version``). Only then: opening takes the
    store's schema lock, which the workers' writes wait for.
    """
    live.open()
    live.close()


def lost_tickets(store: str) -> StoreError:
    """The live store holds fewer tickets than were rebuilt from it: nothing is switched."""
    return StoreError(
        f"{store} lost tickets while it was being rebuilt (removed by hand?); it was left as it is"
    )
