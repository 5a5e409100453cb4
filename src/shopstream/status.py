"""``shopstream status``: the whole pipeline at a glance, as text or as JSON.

Kafka (brokers, the ticket topic's partitions, the workers' group and its lag, the dead
letters), the store (its URL with the password masked, its ticket count) and the API's
``/ready``. ``ok`` only when Kafka answers and the API is ready: what tickets need.
"""

from __future__ import annotations

import dataclasses
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from shopstream.config import Settings
from shopstream.errors import ShopstreamError
from shopstream.kafka.describe import KafkaState, describe
from shopstream.stores import open_store


@dataclass(frozen=True)
class StoreState:
    url: str
    """masked: never the password"""
    tickets: int | None
    error: str | None = None


@dataclass(frozen=True)
class ApiState:
    url: str
    ready: bool
    detail: str


@dataclass(frozen=True)
class Status:
    settings: Settings
    kafka: KafkaState
    store: StoreState
    api: ApiState

    @property
    def ok(self) -> bool:
        return self.kafka.answers and self.api.ready

    def as_json(self) -> dict[str, Any]:
        kafka, settings = self.kafka, self.settings
        return {
            "ok": self.ok,
            "kafka": {
                "bootstrap_servers": settings.bootstrap_servers,
                "answers": kafka.answers,
                "brokers": [dataclasses.asdict(b) for b in kafka.brokers],
                "error": kafka.error,
            },
            "topic": {
                "name": settings.kafka.topic,
                "partitions": [dataclasses.asdict(p) for p in kafka.partitions],
            },
            "group": {
                "name": settings.worker.group,
                "state": kafka.group_state,
                "members": [dataclasses.asdict(m) for m in kafka.members],
                "lag": kafka.lag,
                "lag_by_partition": {str(p.partition): p.lag for p in kafka.partitions},
            },
            "dead_letters": {
                "topic": settings.kafka.dead_letter_topic,
                "count": kafka.dead_letters,
            },
            "store": dataclasses.asdict(self.store),
            "api": dataclasses.asdict(self.api),
        }


def api_url(settings: Settings) -> str:
    """Where this machine reaches the API: its host, or loopback if it listens everywhere."""
    host = settings.api.host
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104 - a name, not a bind
    return f"http://{host}:{settings.api.port}"


def api_state(url: str) -> ApiState:
    """Whether the API at ``url`` answers ``/ready`` with 200 (Kafka answers it), and why not."""
    try:
        # Our own API's URL, http: never a file:// or other scheme the user did not mean.
        with urllib.request.urlopen(f"{url}/ready", timeout=5) as answer:  # noqa: S310
            return ApiState(url, answer.status == 200, "ready")
    except urllib.error.HTTPError as exc:
        return ApiState(url, False, f"/ready answered {exc.code}: Kafka does not answer it")
    except OSError as exc:
        reason = getattr(exc, "reason", exc)
        return ApiState(url, False, f"no answer: {reason}")


def _store(settings: Settings) -> StoreState:
    url = str(settings.store.database_url)
    try:
        count = open_store(settings.store.database_url.get_secret_value()).count()
    except (ShopstreamError, OSError) as exc:
        return StoreState(url, None, " ".join(str(exc).split()))
    return StoreState(url, count)


def status(settings: Settings, url: str | None = None) -> Status:
    return Status(
        settings, describe(settings), _store(settings), api_state(url or api_url(settings))
    )
