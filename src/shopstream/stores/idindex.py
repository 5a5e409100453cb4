"""Which ticket ids ``database.json`` holds, in 16 bytes an entry rather than about 90.

A set of a million id strings took some 90 MB of the worker's memory. This index keeps,
per entry, only the hash of its id and where its line starts, in two flat arrays (an
open-addressing table with linear probing). Two ids may share a hash, so a hit is only a
candidate: the caller reads the line at that offset to see whose entry it is. That read
happens for true duplicates (a redelivered batch) and, for distinct ids, about once in
10^13 look-ups at a million entries.
"""

from __future__ import annotations

from array import array

_EMPTY = 0
_FIRST_CAPACITY = 1 << 10  # slots; a power of two


def _table(capacity: int) -> tuple[array[int], array[int]]:
    """Empty key and offset arrays of ``capacity`` slots."""
    return array("q", bytes(8 * capacity)), array("q", bytes(8 * capacity))


def _key(ticket_id: str) -> int:
    """A non-zero 64-bit key: zero marks an empty slot."""
    return hash(ticket_id) or 1


class IdIndex:
    """id -> byte offsets of the entries whose id has its hash (usually one, or none)."""

    def __init__(self) -> None:
        self._keys, self._offsets = _table(_FIRST_CAPACITY)
        self._mask = _FIRST_CAPACITY - 1
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def candidates(self, ticket_id: str) -> list[int]:
        """Offsets of the entries that may be ``ticket_id``'s: read them to be sure."""
        key = _key(ticket_id)
        keys, mask = self._keys, self._mask
        slot = key & mask
        found: list[int] = []
        while (held := keys[slot]) != _EMPTY:
            if held == key:
                found.append(self._offsets[slot])
            slot = (slot + 1) & mask
        return found

    def add(self, ticket_id: str, offset: int) -> None:
        """Record that the entry of ``ticket_id`` starts at ``offset`` (not checked for a twin)."""
        if 2 * (self._count + 1) > len(self._keys):
            self._grow()
        self._put(_key(ticket_id), offset)
        self._count += 1

    def _put(self, key: int, offset: int) -> None:
        keys, mask = self._keys, self._mask
        slot = key & mask
        while keys[slot] != _EMPTY:
            slot = (slot + 1) & mask
        keys[slot] = key
        self._offsets[slot] = offset

    def _grow(self) -> None:
        old = zip(self._keys, self._offsets, strict=True)
        capacity = 2 * len(self._keys)
        self._keys, self._offsets = _table(capacity)
        self._mask = capacity - 1
        for key, offset in old:
            if key != _EMPTY:
                self._put(key, offset)

    def clear(self) -> None:
        self._keys, self._offsets = _table(_FIRST_CAPACITY)
        self._mask = _FIRST_CAPACITY - 1
        self._count = 0
