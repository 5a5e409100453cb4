"""``create_app(settings)``: the FastAPI application, its Kafka producer in its lifespan."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import ClientDisconnect

import shopstream
from shopstream.api import analytics, body, export, health, home, metrics, pages, tickets
from shopstream.api.headers import SecurityHeaders
from shopstream.api.schema import document_models
from shopstream.api.security import read_access, write_access
from shopstream.catalogfile import CatalogFile
from shopstream.config import Settings, load_settings
from shopstream.errors import (
    BackpressureError,
    ConfigurationError,
    InvalidSettings,
    MessageRefused,
    PublishError,
    ShopstreamError,
    StoreError,
)
from shopstream.gcfreeze import keep_out_of_collections
from shopstream.kafka.admin import ensure_topics
from shopstream.kafka.producer import KafkaPublisher, Publisher
from shopstream.logs import configure_logging
from shopstream.metrics import ApiMetrics, own_registry
from shopstream.models import Ticket
from shopstream.stores import open_store

log = logging.getLogger(__name__)


def create_app(settings: Settings, publisher: Publisher | None = None) -> FastAPI:
    """The API. Without ``publisher``, a Kafka producer is started in the lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if publisher is not None:
            app.state.publisher = publisher
            async with metrics.sampling(app.state.metrics, publisher):
                yield
            return
        kafka = KafkaPublisher(settings)
        kafka.start()
        app.state.publisher = kafka
        try:
            await asyncio.to_thread(ensure_topics, settings)
        except ConfigurationError as exc:
            log.error("%s", exc)
            kafka.close(timeout=0)
            raise  # wrong credentials: the API does not start
        except ShopstreamError as exc:
            log.error("%s; POST /data answers 503 until a broker answers", exc)
        keep_out_of_collections()
        try:
            async with metrics.sampling(app.state.metrics, kafka):
                yield
        finally:
            await asyncio.to_thread(kafka.close)

    app = FastAPI(
        title="shopstream",
        version=shopstream.__version__,
        description="Tickets over HTTP into Apache Kafka.",
        lifespan=lifespan,
        # No OpenTelemetry provider is configured here; checking for one costs every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        docs_url=None,  # FastAPI's pages load from a CDN; pages.py serves its own
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = open_store(settings.store.database_url.get_secret_value())
    app.state.catalog = CatalogFile(settings.store.categories_file)  # followed as it changes
    app.state.metrics = ApiMetrics(own_registry()) if settings.api.metrics else None
    # Declared only when keys are configured, so the OpenAPI schema says what is enforced.
    writes = [Depends(write_access)] if settings.api.keys else []
    reads = [Depends(read_access)] if settings.api.reads_protected else []
    write_refusals = _refusal(writes)
    if writes and settings.api.read_keys:
        write_refusals[403] = {"description": "The key sent may only read (API_READ_KEYS)"}
    app.include_router(
        tickets.router, dependencies=writes, responses={**body.REFUSALS, **write_refusals}
    )
    app.include_router(analytics.router, dependencies=reads, responses=_refusal(reads))
    app.include_router(export.router, dependencies=reads, responses=_refusal(reads))
    app.include_router(pages.router)
    app.include_router(home.router)
    app.include_router(health.router)
    if app.state.metrics is not None:
        app.include_router(metrics.router, dependencies=reads, responses=_refusal(reads))
    app.add_exception_handler(MessageRefused, _kafka_refused)  # type: ignore[arg-type]
    app.add_exception_handler(PublishError, _publish_failed)  # type: ignore[arg-type]
    app.add_exception_handler(StoreError, _store_unavailable)  # type: ignore[arg-type]
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(Exception, _unexpected)
    if settings.api.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.api.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    if settings.api.allowed_hosts:
        # Behind DNS rebinding, a page on another site reaches this API under its own
        # host name: only the names listed here are answered (400 otherwise).
        app.add_middleware(
            TrustedHostMiddleware,
            allowed_hosts=list(settings.api.allowed_hosts),
            www_redirect=False,
        )
    if app.state.metrics is not None:
        app.add_middleware(metrics.CountAnswers, api=app.state.metrics)
    app.add_middleware(SecurityHeaders)  # the last added runs first: it covers every answer
    document_models(app, Ticket)
    return app


def _refusal(guards: list[Any]) -> dict[int | str, dict[str, Any]]:
    return {401: {"description": "No valid API key was sent"}} if guards else {}


async def _publish_failed(_: Request, exc: PublishError) -> JSONResponse:
    retry_after = "1" if isinstance(exc, BackpressureError) else "5"
    log.warning("answering 503: %s", exc)
    return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": retry_after})


async def _kafka_refused(_: Request, exc: MessageRefused) -> JSONResponse:
    """Kafka refused the message itself (too large for the topic): sending it again cannot help."""
    log.warning("answering %d: %s", exc.status, exc)
    return JSONResponse({"detail": str(exc)}, status_code=exc.status)


async def _store_unavailable(_: Request, exc: StoreError) -> JSONResponse:
    """The database is down or restarting: a retry may work. Its details stay in the log."""
    log.warning("answering 503: %s", exc)
    return JSONResponse(
        {"detail": "the store is unavailable; retry shortly"},
        status_code=503,
        headers={"Retry-After": "5"},
    )


async def _client_gone(_: Request, __: Exception) -> Response:
    """The client hung up before its body arrived: nobody to answer, nothing published."""
    log.debug("client disconnected mid-request")
    return Response(status_code=499)  # never sent; the status access logs use for this


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    """A bug: logged here with its traceback, never shown to the client."""
    log.exception("unexpected error", exc_info=exc)
    return JSONResponse(
        {"detail": "internal error; the server log has the details"}, status_code=500
    )


def app_from_environment() -> FastAPI:
    """The uvicorn factory: settings from the environment, read when the server starts.

    With ``--workers N`` it runs in each process uvicorn spawns, whose logging nobody set up.
    """
    try:
        settings = load_settings()
    except InvalidSettings as exc:  # checked by `shopstream api` first; one line here too
        log.error("%s", exc)
        raise SystemExit(2) from None
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)
