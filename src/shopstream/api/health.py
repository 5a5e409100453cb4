"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from shopstream.api.deps import PublisherDep

router = APIRouter(tags=["health"])


@router.get("/health", summary="The process is up")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    summary="Kafka answers: tickets can be accepted",
    responses={503: {"description": "No Kafka broker answered"}},
)
async def ready(publisher: PublisherDep) -> JSONResponse:
    if await publisher.ready():
        return JSONResponse({"status": "ready"})
    return JSONResponse(
        {"status": "unavailable", "detail": "no Kafka broker answered"}, status_code=503
    )
