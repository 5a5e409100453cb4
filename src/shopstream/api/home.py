"""``GET /``: the API's home is the manager's dashboard."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home(request: Request) -> RedirectResponse:
    """Behind a proxy that serves the API under a path, the dashboard is under it too."""
    return RedirectResponse(f"{request.scope.get('root_path', '')}/dashboard")
