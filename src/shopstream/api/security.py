"""Optional API keys: with ``API_KEYS`` set, writes (and, if asked, reads) need a Bearer key."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shopstream.config import Settings

_bearer = HTTPBearer(auto_error=False, description="An API key from API_KEYS")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def authorised(settings: Settings, credentials: HTTPAuthorizationCredentials | None) -> bool:
    """Whether the request may pass: no keys configured, or one of them given.

    Every key is compared, each in constant time, so the answer's timing says nothing
    about which key, or how much of one, was right.
    """
    if not settings.api_keys:
        return True
    if credentials is None:
        return False
    given = credentials.credentials.encode()
    matched = False
    for key in settings.api_keys:
        matched |= hmac.compare_digest(given, key.get_secret_value().encode())
    return matched


def _refuse() -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail="a valid API key is needed: send the header 'Authorization: Bearer <key>'",
        headers={"WWW-Authenticate": "Bearer"},
    )


async def write_access(request: Request, credentials: Credentials) -> None:
    """Guards the ticket routes when API_KEYS is set."""
    if not authorised(request.app.state.settings, credentials):
        raise _refuse()


async def read_access(request: Request, credentials: Credentials) -> None:
    """Guards the analytics routes when API_KEYS_PROTECT_READS is set too."""
    settings: Settings = request.app.state.settings
    if settings.api_keys_protect_reads and not authorised(settings, credentials):
        raise _refuse()
