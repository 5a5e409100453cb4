"""``/docs`` (Swagger UI) and ``/redoc``, every asset served by the app.

FastAPI's own pages load their scripts from a CDN: they break offline, and they let a
third party's code run on the origin that holds the API key. These pages load the
copies vendored in ``static/vendor`` (versions and licenses in its README.md), and no
inline script, so the strict Content-Security-Policy (``headers.py``) holds on them too.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from shopstream.api.dashboard import STATIC

router = APIRouter(tags=["docs"], include_in_schema=False)

_SWAGGER_UI = STATIC / "vendor" / "swagger-ui"
_REDOC = STATIC / "vendor" / "redoc"
_JS = "text/javascript"


@router.get("/docs")
def swagger_ui() -> FileResponse:
    return FileResponse(STATIC / "docs.html", media_type="text/html")


@router.get("/docs/docs.js")
def swagger_ui_setup() -> FileResponse:
    return FileResponse(STATIC / "docs.js", media_type=_JS)


@router.get("/docs/swagger-ui-bundle.js")
def swagger_ui_js() -> FileResponse:
    return FileResponse(_SWAGGER_UI / "swagger-ui-bundle.js", media_type=_JS)


@router.get("/docs/swagger-ui.css")
def swagger_ui_css() -> FileResponse:
    return FileResponse(_SWAGGER_UI / "swagger-ui.css", media_type="text/css")


@router.get("/redoc")
def redoc() -> FileResponse:
    return FileResponse(STATIC / "redoc.html", media_type="text/html")


@router.get("/redoc/redoc.standalone.js")
def redoc_js() -> FileResponse:
    return FileResponse(_REDOC / "redoc.standalone.js", media_type=_JS)
