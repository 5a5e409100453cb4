"""Pages that trust only their origin: security headers everywhere, docs served locally."""

from __future__ import annotations

import base64
import hashlib
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shopstream.api import create_app
from shopstream.api.headers import EMPTY_STYLE_HASH, PLOTLY_MAP_STYLE_HASH
from shopstream.config import Settings
from tests.helpers import ticket
from tests.unit.fakes import FakePublisher

REPO = Path(__file__).resolve().parents[2]
VENDOR = REPO / "src" / "shopstream" / "api" / "static" / "vendor"
PLOTLY = VENDOR / "plotly" / "plotly-basic.min.js"
PAGES = ["/docs", "/redoc", "/dashboard"]
ASSETS = {
    "/docs/swagger-ui-bundle.js": "text/javascript",
    "/docs/swagger-ui.css": "text/css",
    "/docs/docs.js": "text/javascript",
    "/redoc/redoc.standalone.js": "text/javascript",
    "/dashboard/plotly-basic.min.js": "text/javascript",
}


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(), publisher=FakePublisher())) as test_client:
        yield test_client


def _policy(header: str) -> dict[str, list[str]]:
    return {
        name: sources
        for name, *sources in (part.split() for part in header.split(";") if part.strip())
    }


@pytest.mark.parametrize(
    "request_line",
    [
        ("GET", "/docs"), ("GET", "/redoc"), ("GET", "/dashboard"), ("GET", "/openapi.json"),
        ("GET", "/analytics"), ("GET", "/health"), ("GET", "/nowhere"), ("POST", "/data"),
        ("GET", "/docs/swagger-ui-bundle.js"),
    ],
)  # fmt: skip
def test_every_answer_has_the_security_headers(
    client: TestClient, request_line: tuple[str, str]
) -> None:
    method, path = request_line
    response = client.request(method, path, json=ticket("1") if method == "POST" else None)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    policy = _policy(response.headers["content-security-policy"])
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]  # no inline script, no other origin
    assert policy["connect-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == policy["form-action"] == ["'none'"]
    inline_styles = "'unsafe-inline'" in policy["style-src"]
    assert inline_styles == (path == "/redoc")  # Redoc's generated <style>s; no data there
    for directive, sources in policy.items():
        for source in sources:
            allowed = {"'self'", "'none'", "data:", "blob:"}
            if directive.startswith("style-src"):
                allowed |= {
                    f"'{EMPTY_STYLE_HASH}'",
                    f"'{PLOTLY_MAP_STYLE_HASH}'",
                    "'unsafe-inline'",
                }
            assert source in allowed, (directive, source)


def test_the_inline_styles_allowed_are_the_ones_plotly_injects() -> None:
    """Each hash is recomputed, so a plotly.js upgrade that changes them fails here, not
    only as a console error on the page."""
    assert _sha256("") == EMPTY_STYLE_HASH
    injected = re.findall(
        r'createElement\("style"\);e\.id="[0-9a-f]+",e\.textContent=\'([^\']*)\'',
        PLOTLY.read_text(),
    )
    assert [_sha256(css) for css in injected] == [PLOTLY_MAP_STYLE_HASH]


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


@pytest.mark.parametrize("page", PAGES)
def test_the_pages_load_nothing_from_elsewhere_and_run_no_inline_script(
    client: TestClient, page: str
) -> None:
    html = client.get(page).text
    assert "http://" not in html
    assert "https://" not in html
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []  # every script is a file
    for asset in re.findall(r'(?:src|href)="(/[^"]+)"', html):
        assert client.get(asset).status_code == 200, asset


@pytest.mark.parametrize(("path", "kind"), ASSETS.items())
def test_the_docs_assets_are_served_by_the_app(client: TestClient, path: str, kind: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(kind)
    assert len(response.content) > 300


def test_swagger_ui_is_set_up_to_call_no_third_party(client: TestClient) -> None:
    setup = client.get("/docs/docs.js").text
    assert 'url: "/openapi.json"' in setup
    assert "validatorUrl: null" in setup  # else a badge is fetched from validator.swagger.io


def test_the_vendored_files_are_the_versions_the_notice_names() -> None:
    notice = (VENDOR / "README.md").read_text()
    swagger = re.search(r"swagger-ui-dist@(\d+\.\d+\.\d+)", notice)
    redoc = re.search(r"redoc@(\d+\.\d+\.\d+)", notice)
    plotly = re.search(r"plotly\.js-basic-dist-min@(\d+\.\d+\.\d+)", notice)
    assert swagger
    assert redoc
    assert plotly
    assert PLOTLY.read_text().startswith(f"/**\n* plotly.js (basic - minified) v{plotly[1]}\n")
    assert (
        f'ReDoc Version: ","{redoc[1]}"' in (VENDOR / "redoc" / "redoc.standalone.js").read_text()
    )
    assert (
        f'PACKAGE_VERSION:"{swagger[1]}"'
        in (VENDOR / "swagger-ui" / "swagger-ui-bundle.js").read_text()
    )
    for license_file in (
        "swagger-ui/LICENSE",
        "swagger-ui/NOTICE",
        "redoc/LICENSE",
        "plotly/LICENSE",
    ):
        assert (VENDOR / license_file).is_file()


def test_the_vendored_files_are_the_ones_the_notice_hashes() -> None:
    notice = (VENDOR / "README.md").read_text()
    listed = dict(
        (path, digest) for digest, path in re.findall(r"^([0-9a-f]{64})  (\S+)$", notice, re.M)
    )
    assert "plotly/plotly-basic.min.js" in listed
    for path, digest in listed.items():
        assert hashlib.sha256((VENDOR / path).read_bytes()).hexdigest() == digest, path


def test_the_dashboard_needs_no_python_package_to_draw() -> None:
    """plotly.js is vendored: the 64 MB plotly package was only there to serve it."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert not [d for d in project["dependencies"] if d.startswith("plotly")]
    assert "plotly" not in (REPO / "constraints.txt").read_text()
