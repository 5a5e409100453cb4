"""The ceilings of ``POST /data`` on the same HTTP server: (a) return at once, (b) validate.

Run with the same server and settings as the real API, so the ratio of ours to these
is the cost of publishing to Kafka and waiting for its acknowledgement.
"""

from __future__ import annotations

from fastapi import FastAPI, Request

from shopstream.models import Ticket, as_message

bare_app = FastAPI(telemetry={"tracing": False, "metrics": False, "logs": False})
validate_app = FastAPI(telemetry={"tracing": False, "metrics": False, "logs": False})


@bare_app.post("/data")
async def bare() -> dict[str, str]:
    return {"status": "ok"}


@validate_app.post("/data")
async def validate(request: Request) -> dict[str, str]:
    ticket = Ticket.model_validate_json(await request.body())
    as_message(ticket)
    return {"status": "ok", "id": ticket.id}
