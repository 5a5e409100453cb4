"""Logging of every part (the commands, the API, the worker, ``up``, the Kafka launcher).

``LOG_FORMAT=text`` (the default) writes lines for people; ``LOG_FORMAT=json`` writes one
JSON object per line (python-json-logger), for a log collector: ``time``, ``level``,
``logger``, ``message``, and the fields a record carries (the worker's progress counts,
the access log's method, path and status). Both go to stderr, at ``LOG_LEVEL``.

The access log (``API_ACCESS_LOG=true``) is uvicorn's. It never holds a header, so no
``Authorization``; a query parameter whose name says it holds a secret (``api_key``,
``token``, ``password``...) has its value masked before the line is written.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Literal

from pythonjsonlogger.orjson import OrjsonFormatter

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
ACCESS_LOGGER = "uvicorn.access"
_SECRET_PARAMETER = re.compile(
    r"(?i)([?&][^=&#]*(?:key|token|secret|passw|auth|signature|credential)[^=&#]*=)[^&#]*"
)


def formatter(log_format: Literal["text", "json"]) -> logging.Formatter:
    if log_format == "json":
        return OrjsonFormatter(
            ["levelname", "name", "message"],
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
        )
    return logging.Formatter(TEXT_FORMAT)


def configure_logging(level: str, log_format: Literal["text", "json"]) -> None:
    """Every record of this process to stderr, as ``log_format`` says.

    The first call sets it up; a later one (uvicorn's factory, in the process the command
    configured already) changes nothing, as ``logging.basicConfig`` does.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(log_format))
    logging.basicConfig(level=level, handlers=[handler])
    access = logging.getLogger(ACCESS_LOGGER)
    if describe_access not in access.filters:
        access.addFilter(describe_access)


def writes_json() -> bool:
    """Whether this process's log is JSON: then an error ending a command is logged too."""
    return any(isinstance(h.formatter, OrjsonFormatter) for h in logging.getLogger().handlers)


def masked_query(path: str) -> str:
    """``path`` with the value of every query parameter named like a secret masked."""
    return _SECRET_PARAMETER.sub(r"\1***", path)


def describe_access(record: logging.LogRecord) -> bool:
    """Mask secrets in an access-log record's path, and give its parts their own fields.

    uvicorn logs ``client - "METHOD path HTTP/version" status`` with these as arguments.
    """
    if isinstance(record.args, tuple) and len(record.args) == 5:
        client, method, path, version, status = record.args
        path = masked_query(str(path))
        record.args = (client, method, path, version, status)
        record.client, record.method, record.path, record.status = client, method, path, status
    return True
