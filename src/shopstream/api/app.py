"""``create_app(settings)``: the FastAPI application, its Kafka producer in its lifespan."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

import shopstream
from shopstream.api import analytics, dashboard, health, tickets
from shopstream.api.schema import document_models
from shopstream.catalog import Catalog
from shopstream.config import Settings
from shopstream.errors import BackpressureError, PublishError, ShopstreamError
from shopstream.kafka.admin import ensure_topics
from shopstream.kafka.producer import KafkaPublisher, Publisher
from shopstream.models import Ticket
from shopstream.stores import open_store

log = logging.getLogger(__name__)


def create_app(settings: Settings, publisher: Publisher | None = None) -> FastAPI:
    """The API. Without ``publisher``, a Kafka producer is started in the lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if publisher is not None:
            app.state.publisher = publisher
            yield
            return
        kafka = KafkaPublisher(settings)
        kafka.start()
        app.state.publisher = kafka
        try:
            await asyncio.to_thread(ensure_topics, settings)
        except ShopstreamError as exc:
            log.error("%s; POST /data answers 503 until a broker answers", exc)
        try:
            yield
        finally:
            await asyncio.to_thread(kafka.close)

    app = FastAPI(
        title="shopstream",
        version=shopstream.__version__,
        description="Tickets over HTTP into Apache Kafka.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = open_store(settings.database_url)
    app.state.catalog = Catalog.load(settings.categories_file)
    app.include_router(tickets.router)
    app.include_router(analytics.router)
    app.include_router(dashboard.router)
    app.include_router(health.router)
    app.add_exception_handler(PublishError, _publish_failed)  # type: ignore[arg-type]
    document_models(app, Ticket)
    return app


async def _publish_failed(_: Request, exc: PublishError) -> JSONResponse:
    retry_after = "1" if isinstance(exc, BackpressureError) else "5"
    log.warning("answering 503: %s", exc)
    return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": retry_after})


def app_from_environment() -> FastAPI:
    """The uvicorn factory: settings from the environment, read when the server starts."""
    return create_app(Settings())
