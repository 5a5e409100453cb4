"""The API's metrics: ``GET /metrics``, the ticket routes counted, the producer sampled.

Answers of ``POST /data`` and ``/data/batch`` are counted by an ASGI middleware that sees
the status of every one, refusals from the body reader and the key check included; the
routes count what they accepted, since only they know how many tickets a batch held.
``API_METRICS=false`` leaves all of it out.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shopstream.errors import PublishError
from shopstream.kafka.producer import Publisher
from shopstream.metrics import ApiMetrics, exposed

router = APIRouter(tags=["health"])

TICKET_PATHS = frozenset({"/data", "/data/batch"})
_SAMPLE_S = 2.0


@router.get(
    "/metrics",
    summary="Prometheus metrics (of every API process)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
)
async def metrics(request: Request) -> Response:
    api: ApiMetrics = request.app.state.metrics
    return Response(generate_latest(exposed(api.registry)), media_type=CONTENT_TYPE_LATEST)


def count_accepted(request: Request, tickets: int) -> None:
    api: ApiMetrics | None = request.app.state.metrics
    if api is not None:
        api.accepted.inc(tickets)


class CountAnswers:
    """Times each ticket POST to its 202, or counts its refusal by status."""

    def __init__(self, app: ASGIApp, api: ApiMetrics) -> None:
        self.app = app
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] not in TICKET_PATHS
        ):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = message["status"]
                if status < 300:
                    self.api.publish_seconds.observe(time.perf_counter() - started)
                else:
                    self.api.refused.labels(str(status)).inc()
            await send(message)

        await self.app(scope, receive, counted)


async def _sample(api: ApiMetrics, publisher: Publisher) -> None:
    """Every ``_SAMPLE_S``: whether Kafka answers, and the producer's queue."""
    while True:
        try:
            up = await publisher.ready()
        except PublishError:  # the producer is closing
            up = False
        api.kafka_up.set(1 if up else 0)
        api.queue_depth.set(publisher.queued())
        await asyncio.sleep(_SAMPLE_S)


@contextlib.asynccontextmanager
async def sampling(api: ApiMetrics | None, publisher: Publisher) -> AsyncIterator[None]:
    """The producer's gauges kept fresh while the app runs."""
    if api is None:
        yield
        return
    task = asyncio.create_task(_sample(api, publisher))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
