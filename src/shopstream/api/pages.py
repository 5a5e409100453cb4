"""The pages the app serves itself: the manager's dashboard, ``/docs`` and ``/redoc``.

Every asset comes from the package, never a CDN: the pages work offline, and no third
party's code runs on the origin that holds the API key. FastAPI's own docs pages load
their scripts from a CDN, so these load the copies vendored in ``static/vendor``
(versions and licenses in its README.md), with no inline script, so the strict
Content-Security-Policy (``headers.py``) holds on them too. The dashboard draws with
plotly.js's basic bundle (bar, pie and scatter traces only), vendored the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

STATIC = Path(str(resources.files("shopstream.api").joinpath("static")))
_VENDOR = STATIC / "vendor"
_HTML, _JS, _CSS = "text/html", "text/javascript", "text/css"

PAGES: dict[str, tuple[Path, str]] = {
    "/dashboard": (STATIC / "dashboard.html", _HTML),
    "/dashboard/dashboard.js": (STATIC / "dashboard.js", _JS),
    "/dashboard/dashboard.css": (STATIC / "dashboard.css", _CSS),
    "/dashboard/plotly-basic.min.js": (_VENDOR / "plotly" / "plotly-basic.min.js", _JS),
    "/docs": (STATIC / "docs.html", _HTML),
    "/docs/docs.js": (STATIC / "docs.js", _JS),
    "/docs/swagger-ui-bundle.js": (_VENDOR / "swagger-ui" / "swagger-ui-bundle.js", _JS),
    "/docs/swagger-ui.css": (_VENDOR / "swagger-ui" / "swagger-ui.css", _CSS),
    "/redoc": (STATIC / "redoc.html", _HTML),
    "/redoc/redoc.standalone.js": (_VENDOR / "redoc" / "redoc.standalone.js", _JS),
}
"""URL path -> the file served there and its media type"""

router = APIRouter(tags=["pages"], include_in_schema=False)


def _serving(path: Path, media_type: str) -> Callable[[], FileResponse]:
    def page() -> FileResponse:
        return FileResponse(path, media_type=media_type)

    return page


for url, (file, media_type) in PAGES.items():
    router.add_api_route(url, _serving(file, media_type), methods=["GET"])
