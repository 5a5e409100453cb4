"""The exceptions shopstream raises on purpose.

    ShopstreamError
     ├── ConfigurationError   a setting or a required tool is wrong or missing
     │    └── InvalidSettings    a setting's value is not one it accepts (exit status 2)
     ├── BrokerError          the local Kafka broker could not be started or stopped
     ├── PublishError         Kafka did not acknowledge a ticket in time (API answers 503)
     │    ├── BackpressureError  the producer's local queue is full (503 + Retry-After)
     │    └── MessageRefused     Kafka refused the message itself: retrying cannot help (4xx)
     └── StoreError           the store cannot be read or written as it stands (fatal)
          ├── StoreUnavailable   the database is down, locked or restarting: retry
          └── TicketRefused      the store refuses this data for good: dead-letter it

Every message says what to do next; the CLI prints it as one line, never a traceback.
"""


class ShopstreamError(Exception):
    """Base of every error shopstream raises on purpose."""


class ConfigurationError(ShopstreamError):
    """A setting or a required external tool is wrong or missing."""


class InvalidSettings(ConfigurationError):
    """A setting holds a value shopstream does not accept: a usage error (exit status 2)."""


class BrokerError(ShopstreamError):
    """The local Kafka broker could not be started, reached or stopped."""


class PublishError(ShopstreamError):
    """Kafka did not acknowledge a message."""


class BackpressureError(PublishError):
    """The producer's local queue is full; the client should retry shortly."""


class MessageRefused(PublishError):
    """Kafka refused the message for what it is (too large, invalid); ``status`` is the answer."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class StoreError(ShopstreamError):
    """The store cannot be read or written as it stands."""


class StoreUnavailable(StoreError):
    """The database cannot be reached right now (down, restarting); a retry may work."""


class TicketRefused(StoreError):
    """The store refuses the data of a batch for good (a constraint, a value it cannot hold).

    Retrying the same batch cannot help; the worker splits it to find the tickets at fault.
    """
