"""The servers that bound ``POST /data``, each doing one more part of its work.

Run with the same server and settings as the real API, so that the difference between
two of them is the cost of the part one adds:

- ``raw_app``: an ASGI app that reads the body and answers, without a framework;
- ``bare_app``: FastAPI returning at once;
- ``validate_app``: FastAPI validating the ticket exactly as ``POST /data`` does;
- ``unpublished_app``: shopstream's own app, with a publisher that acknowledges at once.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.types import Receive, Scope, Send

from shopstream.api.app import create_app
from shopstream.config import load_settings
from shopstream.kafka.producer import Messages
from shopstream.models import Ticket, as_message

bare_app = FastAPI(telemetry={"tracing": False, "metrics": False, "logs": False})
validate_app = FastAPI(telemetry={"tracing": False, "metrics": False, "logs": False})
_ANSWER = b'{"status":"ok"}'


async def raw_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send(
        {
            "type": "http.response.start",
            "status": 202,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": _ANSWER})


@bare_app.post("/data")
async def bare() -> dict[str, str]:
    return {"status": "ok"}


@validate_app.post("/data")
async def validate(request: Request) -> dict[str, str]:
    ticket = Ticket.model_validate_json(await request.body())
    as_message(ticket)
    return {"status": "ok", "id": ticket.id}


class _AtOnce:
    """A publisher whose every message is acknowledged the moment it is published."""

    async def publish(self, messages: Messages) -> None:
        return None

    async def ready(self) -> bool:
        return True


def unpublished_app() -> FastAPI:
    """shopstream's API as configured by the environment, publishing to nothing (a factory)."""
    return create_app(load_settings(), publisher=_AtOnce())
