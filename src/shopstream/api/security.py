"""API keys with two roles: ``API_KEYS`` write (and read), ``API_READ_KEYS`` only read.

Without write keys, writes are open; reads need a key when ``API_READ_KEYS`` is set or
``API_KEYS_PROTECT_READS`` is true (``Settings.reads_protected``). A read key sent to a
write route is refused with 403: it is known, but not allowed to post tickets.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shopstream.config import Settings
from shopstream.keys import Role, key_role

_bearer = HTTPBearer(auto_error=False, description="A key from API_KEYS or API_READ_KEYS")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def role(settings: Settings, credentials: HTTPAuthorizationCredentials | None) -> Role:
    """What the key sent may do (``NONE``: no key, or not one of ours)."""
    return key_role(settings, None if credentials is None else credentials.credentials)


def _unauthorised() -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail="a valid API key is needed: send the header 'Authorization: Bearer <key>'",
        headers={"WWW-Authenticate": "Bearer"},
    )


async def write_access(request: Request, credentials: Credentials) -> None:
    """Guards the ticket routes when API_KEYS is set."""
    granted = role(request.app.state.settings, credentials)
    if granted is Role.READ:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="this key may only read: posting tickets needs a key from API_KEYS",
        )
    if granted is not Role.WRITE:
        raise _unauthorised()


async def read_access(request: Request, credentials: Credentials) -> None:
    """Guards the analytics routes when reads are protected: any of our keys may read."""
    if role(request.app.state.settings, credentials) is Role.NONE:
        raise _unauthorised()
