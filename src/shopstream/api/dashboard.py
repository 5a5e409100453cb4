"""``GET /dashboard``: the manager's page, every asset served by the app (no CDN)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

router = APIRouter(tags=["dashboard"], include_in_schema=False)

STATIC = Path(str(resources.files("shopstream.api").joinpath("static")))


def _plotly_js() -> Path:
    # Plotly's Python package ships the plotly.js bundle; serving it keeps the page offline.
    return Path(str(resources.files("plotly").joinpath("package_data", "plotly.min.js")))


@router.get("/dashboard")
def dashboard() -> FileResponse:
    return FileResponse(STATIC / "dashboard.html", media_type="text/html")


@router.get("/dashboard/dashboard.js")
def dashboard_js() -> FileResponse:
    return FileResponse(STATIC / "dashboard.js", media_type="text/javascript")


@router.get("/dashboard/dashboard.css")
def dashboard_css() -> FileResponse:
    return FileResponse(STATIC / "dashboard.css", media_type="text/css")


@router.get("/dashboard/plotly.min.js")
def plotly_js() -> FileResponse:
    return FileResponse(_plotly_js(), media_type="text/javascript")
