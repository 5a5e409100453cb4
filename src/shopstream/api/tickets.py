"""``POST /data`` and ``POST /data/batch``: validate, publish, answer once Kafka has them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import TypeAdapter, ValidationError

from shopstream.api.body import read_body
from shopstream.api.deps import ingest_state
from shopstream.api.metrics import count_accepted
from shopstream.api.schema import json_body, ref
from shopstream.models import Ticket, as_message, example_ticket

router = APIRouter(tags=["tickets"])

_TICKETS = TypeAdapter(list[Ticket])
_EXAMPLE = example_ticket("123456789")  # the exercise's own
_ANSWERS: dict[int | str, dict[str, Any]] = {
    413: {
        "description": "The body is larger than MAX_TICKET_BYTES / MAX_BATCH_BYTES, or a ticket "
        "is larger than MAX_TICKET_BYTES as published (`oversized` lists their indices)"
    },
    422: {"description": "Not a valid ticket: `detail` names every bad field"},
    503: {"description": "Kafka did not acknowledge in time; retry after `Retry-After`"},
}


def field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic's errors, each with a dotted ``field`` name and without the input echoed."""
    return [
        {
            "field": ".".join(str(part) for part in error["loc"]) or "body",
            "message": error["msg"],
            "type": error["type"],
            "loc": ["body", *error["loc"]],
        }
        for error in exc.errors(include_url=False, include_input=False)
    ]


def _ticket_index(error: dict[str, Any]) -> int | None:
    """Which ticket of a batch an error is about (its ``loc`` is ``body, index, ...``)."""
    loc = error["loc"]
    return loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None


def _unprocessable(detail: Any) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=detail)


def _messages(tickets: list[Ticket], limit: int, *, batch: bool) -> list[tuple[str, bytes]]:
    """Each ticket as published, refused whole (413) if any is larger than ``limit`` bytes.

    The limit is on the bytes Kafka gets, not the body: an integer id gains quotes and a
    price ``1`` becomes ``1.0``, so a body under the limit may publish larger.
    """
    messages = [(t.id, as_message(t)) for t in tickets]
    oversized = [i for i, (_, value) in enumerate(messages) if len(value) > limit]
    if oversized:
        first = oversized[0]
        message = (
            f"{f'ticket {first}' if batch else 'the ticket'} is {len(messages[first][1]):,} "
            f"bytes as published, more than MAX_TICKET_BYTES ({limit:,}); nothing was published"
        )
        detail = {"oversized": oversized, "message": message} if batch else message
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, detail=detail)
    return messages


@router.post(
    "/data",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Accept one ticket",
    description="Answers 202 only once Kafka acknowledged the ticket (acks=all).",
    openapi_extra=json_body(ref(Ticket), _EXAMPLE),
    responses=_ANSWERS,
)
async def post_ticket(request: Request) -> dict[str, str]:
    publisher, settings = ingest_state(request)
    body = await read_body(request, settings.kafka.max_ticket_bytes)
    try:
        ticket = Ticket.model_validate_json(body)
    except ValidationError as exc:
        raise _unprocessable(field_errors(exc)) from None
    await publisher.publish(_messages([ticket], settings.kafka.max_ticket_bytes, batch=False))
    count_accepted(request, 1)
    return {"status": "ok", "id": ticket.id}


@router.post(
    "/data/batch",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Accept many tickets, all or nothing",
    description=(
        "Validates every ticket first: if any is bad, none is published and `invalid` lists "
        "the index of each bad one. Answers 202 once Kafka acknowledged all of them."
    ),
    openapi_extra=json_body({"type": "array", "items": ref(Ticket), "minItems": 1}, [_EXAMPLE]),
    responses=_ANSWERS,
)
async def post_batch(request: Request) -> dict[str, Any]:
    publisher, settings = ingest_state(request)
    try:
        tickets = _TICKETS.validate_json(await read_body(request, settings.api.max_batch_bytes))
    except ValidationError as exc:
        errors = field_errors(exc)
        invalid = sorted({i for i in map(_ticket_index, errors) if i is not None})
        raise _unprocessable({"invalid": invalid, "errors": errors}) from None
    if not tickets or len(tickets) > settings.api.batch_max_tickets:
        raise _unprocessable(
            f"a batch holds 1 to {settings.api.batch_max_tickets} tickets, not {len(tickets)}"
        )
    await publisher.publish(_messages(tickets, settings.kafka.max_ticket_bytes, batch=True))
    count_accepted(request, len(tickets))
    return {"status": "ok", "count": len(tickets)}
