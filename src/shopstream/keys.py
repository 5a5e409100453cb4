"""API keys with two roles: ``API_KEYS`` write (and read), ``API_READ_KEYS`` only read.

What a key sent may do, for the API's routes and the worker's ``/metrics`` alike.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from enum import Enum

from pydantic import SecretStr

from shopstream.config import Settings


class Role(Enum):
    NONE = "none"
    READ = "read"
    WRITE = "write"


def _matches(given: bytes, keys: Iterable[SecretStr]) -> bool:
    """Whether ``given`` is one of ``keys``; every key is compared, each in constant time.

    So the answer's timing says nothing about which key, or how much of one, was right.
    """
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(given, key.get_secret_value().encode())
    return matched


def key_role(settings: Settings, key: str | None) -> Role:
    """What ``key`` may do (``NONE``: no key, or not one of ours)."""
    if key is None:
        return Role.NONE
    given = key.encode()
    writes = _matches(given, settings.api.keys)
    reads = _matches(given, settings.api.read_keys)
    if writes:
        return Role.WRITE
    return Role.READ if reads else Role.NONE


def bearer_key(authorization: str | None) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header, if that is what it is."""
    scheme, _, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return key.strip() or None
