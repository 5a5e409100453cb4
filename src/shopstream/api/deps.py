"""Request dependencies, as ``Annotated`` aliases the routes declare."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from shopstream.config import Settings
from shopstream.kafka.producer import Publisher


def _publisher(request: Request) -> Publisher:
    publisher: Publisher = request.app.state.publisher
    return publisher


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


PublisherDep = Annotated[Publisher, Depends(_publisher)]
SettingsDep = Annotated[Settings, Depends(_settings)]
