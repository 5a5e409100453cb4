"""All of shopstream's configuration: one settings object read from the environment.

Each field is an environment variable of the same name in upper case (``kafka_topic`` is
``KAFKA_TOPIC``). The README's configuration table lists them with their defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shopstream.errors import ConfigurationError
from shopstream.secret_url import DatabaseUrl


class Settings(BaseSettings):
    """Validated at start-up; build one with ``Settings()`` and pass it down."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    kafka_bootstrap_servers: str | None = Field(
        default=None,
        description="Brokers of an existing Kafka. Unset: shopstream runs a local broker.",
    )
    kafka_topic: str = Field(default="delhaize_shop", min_length=1)
    kafka_partitions: int = Field(default=3, ge=1, description="Partitions of a topic it creates.")
    kafka_replication_factor: int = Field(default=1, ge=1)
    kafka_retention_ms: int = Field(
        default=-1,
        ge=-1,
        description="How long the topics shopstream creates keep messages; -1: forever.",
    )
    kafka_local_port: int = Field(default=9092, description="Client port of the local broker.")
    kafka_local_controller_port: int = Field(default=9093)
    kafka_local_brokers: int = Field(
        default=1, ge=1, le=9, description="Nodes of the local Kafka (`kafka start --brokers`)."
    )
    kafka_local_sasl_port: int = Field(
        default=9094, description="SASL port of the local broker (`kafka start --sasl`)."
    )
    kafka_local_ssl_port: int = Field(
        default=9095, description="SSL (mutual TLS) port of the local broker (`--tls`)."
    )
    kafka_local_sasl_ssl_port: int = Field(
        default=9096, description="SASL_SSL port of the local broker (`--tls --sasl`)."
    )
    kafka_state_dir: Path = Field(
        default=Path(".kafka"), description="Jars, config, data and log of the local broker."
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_ca_file: Path | None = Field(
        default=None, description="CA bundle to verify the brokers; unset: the system's."
    )
    kafka_ssl_cert_file: Path | None = Field(
        default=None, description="Client certificate (PEM) for brokers that require one."
    )
    kafka_ssl_key_file: Path | None = Field(
        default=None, description="The client certificate's private key (PEM)."
    )
    kafka_ssl_key_password: SecretStr | None = Field(
        default=None, description="Password of KAFKA_SSL_KEY_FILE, if it is encrypted."
    )
    kafka_queue_max_messages: int = Field(
        default=100_000, ge=1, description="Messages the API may queue before answering 503."
    )
    kafka_linger_ms: float = Field(
        # 0 measured best here: a lone request is sent at once (p50 1.5 ms instead of 4.2 ms
        # at linger 2); under load, batches form anyway, as the API queues each turn of its
        # event loop's messages together (kafka/producer.py).
        default=0.0,
        ge=0,
        description="How long the producer waits to fill a batch.",
    )
    publish_timeout_s: float = Field(
        default=5.0, gt=0, description="Longest wait for the broker's ack before answering 503."
    )
    worker_group: str = Field(default="shopstream-workers", min_length=1)
    worker_batch_size: int = Field(default=2000, ge=1, le=100_000)
    worker_session_timeout_ms: int = Field(
        default=10_000,
        ge=1,
        description="How long a crashed worker keeps its partitions before others take them.",
    )
    worker_fetch_wait_ms: int = Field(
        default=25,
        ge=0,
        le=1000,
        description="How long the broker may hold a worker's fetch to fill it to 64 KiB.",
    )
    database_url: DatabaseUrl = Field(
        default=DatabaseUrl("database.json"),
        description="A path ending in .json, sqlite:///path/to/file.db or postgresql://... "
        "(a secret: shown with its password masked).",
    )
    categories_file: Path | None = Field(
        default=None, description="The manager's category list; unset: the bundled one."
    )
    batch_max_tickets: int = Field(
        default=10_000, ge=1, description="Tickets per POST /data/batch."
    )
    max_ticket_bytes: int = Field(
        default=512 * 1024, ge=1024, description="Largest POST /data body, and Kafka message."
    )
    max_batch_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1024, description="Largest POST /data/batch body."
    )
    api_keys: Annotated[tuple[SecretStr, ...], NoDecode] = Field(
        default=(), description="Comma-separated write keys (they may read too)."
    )
    api_read_keys: Annotated[tuple[SecretStr, ...], NoDecode] = Field(
        default=(), description="Comma-separated keys that may only read; set: reads need a key."
    )
    api_keys_protect_reads: bool = Field(
        default=False, description="With API_KEYS alone: analytics need a key too."
    )
    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), description="Comma-separated origins allowed to call the API from a browser."
    )
    api_allowed_hosts: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Comma-separated Host names the API answers (`*.example.com` too); unset: any.",
    )
    request_body_timeout_s: float = Field(
        default=30.0, gt=0, description="Longest wait for a request's whole body (408 after)."
    )
    api_max_connections: int = Field(
        default=512,
        ge=1,
        description="Connections (and requests) an API process serves at once; more get 503.",
    )
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_workers: int = Field(
        default=1, ge=1, le=64, description="API processes sharing the port, each with a producer."
    )
    worker_processes: int = Field(
        default=1, ge=1, le=64, description="Worker processes `shopstream worker` runs."
    )
    log_level: str = "INFO"

    @field_validator(
        "api_keys", "api_read_keys", "cors_origins", "api_allowed_hosts", mode="before"
    )
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            items = tuple(item.strip() for item in value.split(",") if item.strip())
            if not items:
                # Most often a template's missing secret (API_KEYS=${KEY}): failing is
                # safer than serving with writes open, as an empty list would mean.
                raise PydanticCustomError(
                    "empty_list",
                    "is set but holds no value: give comma-separated values, or unset it",
                )
            return items
        return value

    @model_validator(mode="after")
    def _keys_are_consistent(self) -> Settings:
        if self.api_read_keys and not self.api_keys:
            raise PydanticCustomError(
                "read_keys_alone",
                "API_READ_KEYS is set but API_KEYS is not: anyone could write while reads "
                "need a key; set API_KEYS too",
            )
        if self.api_keys_protect_reads and not self.api_keys:
            raise PydanticCustomError(
                "protect_reads_alone",
                "API_KEYS_PROTECT_READS is true but API_KEYS is not set: "
                "there is no key to ask for",
            )
        write_keys = {key.get_secret_value() for key in self.api_keys}
        if any(key.get_secret_value() in write_keys for key in self.api_read_keys):
            raise PydanticCustomError(
                "key_in_both",
                "a key is in both API_KEYS and API_READ_KEYS: a key either writes or only reads",
            )
        return self

    @property
    def reads_protected(self) -> bool:
        """Whether ``/analytics`` needs a key: read keys exist, or API_KEYS_PROTECT_READS."""
        return bool(self.api_read_keys) or self.api_keys_protect_reads

    @property
    def dead_letter_topic(self) -> str:
        return f"{self.kafka_topic}.dlq"

    @property
    def uses_local_broker(self) -> bool:
        return self.kafka_bootstrap_servers is None

    @property
    def bootstrap_servers(self) -> str:
        if self.kafka_bootstrap_servers is not None:
            return self.kafka_bootstrap_servers
        return f"127.0.0.1:{self.kafka_local_port}"


def load_settings() -> Settings:
    """The settings from the environment; an invalid value is one line naming each variable.

    Pydantic's own message would echo the value, which may be a secret, over several lines.
    """
    try:
        return Settings()
    except ValidationError as exc:
        problems = [
            f"{'.'.join(map(str, error['loc'])).upper()}: {error['msg']}"
            if error["loc"]
            else error["msg"]
            for error in exc.errors(include_url=False, include_input=False)
        ]
        raise ConfigurationError("invalid settings: " + "; ".join(problems)) from None
