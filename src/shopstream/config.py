"""All of shopstream's configuration: one settings object read from the environment.

The object has a section per concern: ``kafka`` (the connection, the topics, the
producer), ``local`` (the local broker that ``shopstream up`` runs), ``api``, ``worker``
and ``store``. Each field is an environment variable: the section's prefix and the
field's name in upper case (``kafka.topic`` is ``KAFKA_TOPIC``), or the name given as
its alias (``kafka.publish_timeout_s`` is ``PUBLISH_TIMEOUT_S``). docs/operations.md
lists them with their defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import annotated_types
from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shopstream.errors import InvalidSettings
from shopstream.secret_url import DatabaseUrl

CommaSeparated = Annotated[tuple[str, ...], NoDecode]
SecretList = Annotated[tuple[SecretStr, ...], NoDecode]
Port = Annotated[int, Field(ge=1, le=65535)]
DOTENV = Path(".env")
"""Read by ``load_settings`` from the working directory; the environment wins over it."""


def _section(prefix: str = "") -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=prefix, frozen=True, extra="ignore", populate_by_name=True)


def _comma_separated(value: object) -> object:
    if isinstance(value, str):
        items = tuple(item.strip() for item in value.split(",") if item.strip())
        if not items:
            # Most often a template's missing secret (API_KEYS=${KEY}): failing is safer
            # than serving with writes open, as an empty list would mean.
            raise PydanticCustomError(
                "empty_list", "is set but holds no value: give comma-separated values, or unset it"
            )
        return items
    return value


# Each section writes its model_config out: pydantic's mypy plugin reads populate_by_name
# (fields may be given by name as well as by their environment alias) only there.


class KafkaSettings(BaseSettings):
    """The brokers, how to reach them, the topics shopstream uses, and its producer."""

    model_config = SettingsConfigDict(
        env_prefix="KAFKA_", frozen=True, extra="ignore", populate_by_name=True
    )

    bootstrap_servers: str | None = Field(
        default=None,
        description="Brokers of an existing Kafka. Unset: shopstream runs a local broker.",
    )
    topic: str = Field(default="delhaize_shop", min_length=1)
    partitions: int = Field(default=3, ge=1, description="Partitions of a topic it creates.")
    replication_factor: int = Field(default=1, ge=1)
    retention_ms: int = Field(
        default=-1,
        ge=-1,
        description="How long the topics shopstream creates keep messages; -1: forever.",
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_ca_file: Path | None = Field(
        default=None, description="CA bundle to verify the brokers; unset: the system's."
    )
    ssl_cert_file: Path | None = Field(
        default=None, description="Client certificate (PEM) for brokers that require one."
    )
    ssl_key_file: Path | None = Field(
        default=None, description="The client certificate's private key (PEM)."
    )
    ssl_key_password: SecretStr | None = Field(
        default=None, description="Password of KAFKA_SSL_KEY_FILE, if it is encrypted."
    )
    queue_max_messages: int = Field(
        default=100_000, ge=1, description="Messages the API may queue before answering 503."
    )
    linger_ms: float = Field(
        # 0 measured best here: a lone request is sent at once (p50 1.5 ms instead of 4.2 ms
        # at linger 2); under load, batches form anyway, as the API queues each turn of its
        # event loop's messages together (kafka/producer.py).
        default=0.0,
        ge=0,
        description="How long the producer waits to fill a batch.",
    )
    publish_timeout_s: float = Field(
        default=5.0,
        gt=0,
        validation_alias="PUBLISH_TIMEOUT_S",
        description="Longest wait for the broker's ack before answering 503.",
    )
    max_ticket_bytes: int = Field(
        default=512 * 1024,
        ge=1024,
        validation_alias="MAX_TICKET_BYTES",
        description="Largest POST /data body, and largest ticket as published.",
    )

    @property
    def dead_letter_topic(self) -> str:
        return f"{self.topic}.dlq"


class LocalKafkaSettings(BaseSettings):
    """The local Apache Kafka that ``shopstream up`` and ``shopstream kafka`` run."""

    model_config = SettingsConfigDict(
        env_prefix="KAFKA_LOCAL_", frozen=True, extra="ignore", populate_by_name=True
    )

    port: Port = Field(default=9092, description="Client port of the local broker.")
    controller_port: Port = Field(default=9093)
    brokers: int = Field(
        default=1, ge=1, le=9, description="Nodes of the local Kafka (`kafka start --brokers`)."
    )
    sasl_port: Port = Field(
        default=9094, description="SASL port of the local broker (`kafka start --sasl`)."
    )
    ssl_port: Port = Field(
        default=9095, description="SSL (mutual TLS) port of the local broker (`--tls`)."
    )
    sasl_ssl_port: Port = Field(
        default=9096, description="SASL_SSL port of the local broker (`--tls --sasl`)."
    )
    warmup_s: float = Field(
        default=3.0,
        ge=0,
        le=60,
        description="Seconds of traffic a freshly started local broker gets before it is up.",
    )
    state_dir: Path = Field(
        default=Path(".kafka"),
        validation_alias="KAFKA_STATE_DIR",
        description="Jars, config, data and log of the local broker.",
    )


class ApiSettings(BaseSettings):
    """The HTTP API: where it listens, who may call it, what it takes."""

    model_config = SettingsConfigDict(
        env_prefix="API_", frozen=True, extra="ignore", populate_by_name=True
    )

    host: str = "127.0.0.1"
    port: Port = 8000
    workers: int = Field(
        default=1, ge=1, le=64, description="API processes sharing the port, each with a producer."
    )
    keys: SecretList = Field(
        default=(), description="Comma-separated write keys (they may read too)."
    )
    read_keys: SecretList = Field(
        default=(), description="Comma-separated keys that may only read; set: reads need a key."
    )
    keys_protect_reads: bool = Field(
        default=False, description="With API_KEYS alone: analytics need a key too."
    )
    allowed_hosts: CommaSeparated = Field(
        default=(),
        description="Comma-separated Host names the API answers (`*.example.com` too); unset: any.",
    )
    max_connections: int = Field(
        default=512,
        ge=1,
        description="Connections (and requests) an API process serves at once; more get 503.",
    )
    proxy_headers: bool = Field(
        default=False,
        description="Take the client's address from X-Forwarded-For (set behind a reverse proxy).",
    )
    cors_origins: CommaSeparated = Field(
        default=(),
        validation_alias="CORS_ORIGINS",
        description="Comma-separated origins allowed to call the API from a browser.",
    )
    request_body_timeout_s: float = Field(
        default=30.0,
        gt=0,
        validation_alias="REQUEST_BODY_TIMEOUT_S",
        description="Longest wait for a request's whole body (408 after).",
    )
    batch_max_tickets: int = Field(
        default=10_000,
        ge=1,
        validation_alias="BATCH_MAX_TICKETS",
        description="Tickets per POST /data/batch.",
    )
    max_batch_bytes: int = Field(
        default=32 * 1024 * 1024,
        ge=1024,
        validation_alias="MAX_BATCH_BYTES",
        description="Largest POST /data/batch body.",
    )
    access_log: bool = Field(
        default=False, description="One line per request (never a header, no secret)."
    )
    metrics: bool = Field(default=True, description="GET /metrics, and counting for it.")

    _lists = field_validator("keys", "read_keys", "cors_origins", "allowed_hosts", mode="before")(
        _comma_separated
    )

    @model_validator(mode="after")
    def _keys_are_consistent(self) -> ApiSettings:
        if self.read_keys and not self.keys:
            raise PydanticCustomError(
                "read_keys_alone",
                "API_READ_KEYS is set but API_KEYS is not: anyone could write while reads "
                "need a key; set API_KEYS too",
            )
        if self.keys_protect_reads and not self.keys:
            raise PydanticCustomError(
                "protect_reads_alone",
                "API_KEYS_PROTECT_READS is true but API_KEYS is not set: "
                "there is no key to ask for",
            )
        write_keys = {key.get_secret_value() for key in self.keys}
        if any(key.get_secret_value() in write_keys for key in self.read_keys):
            raise PydanticCustomError(
                "key_in_both",
                "a key is in both API_KEYS and API_READ_KEYS: a key either writes or only reads",
            )
        return self

    @property
    def reads_protected(self) -> bool:
        """Whether ``/analytics`` needs a key: read keys exist, or API_KEYS_PROTECT_READS."""
        return bool(self.read_keys) or self.keys_protect_reads


class WorkerSettings(BaseSettings):
    """The workers: their consumer group, and how they batch."""

    model_config = SettingsConfigDict(
        env_prefix="WORKER_", frozen=True, extra="ignore", populate_by_name=True
    )

    group: str = Field(default="shopstream-workers", min_length=1)
    batch_size: int = Field(default=2000, ge=1, le=100_000)
    session_timeout_ms: int = Field(
        default=10_000,
        ge=1,
        description="How long a crashed worker keeps its partitions before others take them.",
    )
    fetch_wait_ms: int = Field(
        default=25,
        ge=0,
        le=1000,
        description="How long the broker may hold a worker's fetch to fill it to 64 KiB.",
    )
    processes: int = Field(
        default=1, ge=1, le=64, description="Worker processes `shopstream worker` runs."
    )
    progress_s: float = Field(
        default=5.0, gt=0, description="How often a worker logs its progress and measures its lag."
    )
    metrics_host: str = Field(
        default="127.0.0.1", description="Where the worker's /metrics listens."
    )
    metrics_port: int = Field(
        default=8001, ge=0, le=65535, description="The worker's /metrics port; 0 turns it off."
    )


class StoreSettings(BaseSettings):
    """Where tickets are stored, and the manager's list they are categorised with."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    database_url: DatabaseUrl = Field(
        default=DatabaseUrl("database.json"),
        validation_alias="DATABASE_URL",
        description="A path ending in .json, sqlite:///path/to/file.db or postgresql://... "
        "(a secret: shown with its password masked).",
    )
    categories_file: Path | None = Field(
        default=None,
        validation_alias="CATEGORIES_FILE",
        description="The manager's category list; unset: the bundled one.",
    )


SECTIONS: dict[str, type[BaseSettings]] = {
    "kafka": KafkaSettings,
    "local": LocalKafkaSettings,
    "api": ApiSettings,
    "worker": WorkerSettings,
    "store": StoreSettings,
}


class Settings(BaseSettings):
    """Validated at start-up; build one with ``load_settings()`` and pass it down."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    local: LocalKafkaSettings = Field(default_factory=LocalKafkaSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["text", "json"] = Field(
        default="text", description="text: lines for people; json: one JSON object per line."
    )

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _in_any_case(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        return value.upper() if info.field_name == "log_level" else value.lower()

    @property
    def uses_local_broker(self) -> bool:
        return self.kafka.bootstrap_servers is None

    @property
    def bootstrap_servers(self) -> str:
        """The brokers: KAFKA_BOOTSTRAP_SERVERS, or the local broker's client port."""
        if self.kafka.bootstrap_servers is not None:
            return self.kafka.bootstrap_servers
        return f"127.0.0.1:{self.local.port}"


def env_name(section: type[BaseSettings], field: str) -> str:
    """The environment variable of ``section``'s ``field``."""
    info: FieldInfo = section.model_fields[field]
    if isinstance(info.validation_alias, str):
        return info.validation_alias
    return f"{section.model_config.get('env_prefix', '')}{field}".upper()


def environment_names() -> set[str]:
    """Every environment variable the settings read."""
    names = {env_name(Settings, "log_level"), env_name(Settings, "log_format")}
    for section in SECTIONS.values():
        names.update(env_name(section, field) for field in section.model_fields)
    return names


def load_settings() -> Settings:
    """The settings from the environment and ``.env``; an invalid value is one line naming
    each variable and what it accepts.

    Pydantic's own message would echo the value, which may be a secret, over several lines.
    """
    problems: list[str] = []
    sections: dict[str, Any] = {}
    for name, section in SECTIONS.items():
        try:
            sections[name] = section(_env_file=DOTENV)
        except ValidationError as exc:
            problems.extend(_named(section, exc))
            sections[name] = section.model_construct()  # so the rest is checked too
    try:
        settings = Settings(_env_file=DOTENV, **sections)
    except ValidationError as exc:
        problems.extend(_named(Settings, exc))
    if problems:
        raise InvalidSettings("invalid settings: " + "; ".join(problems))
    return settings


def _named(section: type[BaseSettings], exc: ValidationError) -> list[str]:
    # An error's location is the field's name, or its alias when it was read by that.
    fields = {env_name(section, field): field for field in section.model_fields}
    fields.update((field, field) for field in section.model_fields)
    named: list[str] = []
    for error in exc.errors(include_url=False, include_input=False):
        where = str(error["loc"][0]) if error["loc"] else ""
        field = fields.get(where)
        if field is not None:
            named.append(
                f"{env_name(section, field)}: {_problem(error, section.model_fields[field])}"
            )
        elif where:
            named.append(f"{where.upper()}: {error['msg']}")
        else:
            named.append(error["msg"])
    return named


_NUMBER_ERRORS = frozenset(
    {
        "int_parsing",
        "int_from_float",
        "float_parsing",
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
    }
)


def _problem(error: Any, info: FieldInfo) -> str:
    """What was wrong, said as what the variable accepts.

    Pydantic's "unable to parse string as an integer" does not say which numbers would do,
    nor does "greater than or equal to 1" say how large they may be; its message for a
    value not among those listed names them already.
    """
    if error["type"] == "bool_parsing":
        return "must be true or false (or 1/0, yes/no, on/off)"
    if error["type"] in _NUMBER_ERRORS:
        kind = "a whole number" if info.annotation is int else "a number"
        return f"must be {kind}{_bounds(info)}"
    return str(error["msg"])


def _bounds(info: FieldInfo) -> str:
    low = high = ""
    for constraint in info.metadata:
        if isinstance(constraint, annotated_types.Ge):
            low = f"at least {constraint.ge}"
        elif isinstance(constraint, annotated_types.Gt):
            low = f"greater than {constraint.gt}"
        elif isinstance(constraint, annotated_types.Le):
            high = f"at most {constraint.le}"
        elif isinstance(constraint, annotated_types.Lt):
            high = f"less than {constraint.lt}"
    limits = " and ".join(limit for limit in (low, high) if limit)
    return f", {limits}" if limits else ""
