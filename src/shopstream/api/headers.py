"""Security headers on every response: pages that trust only their own origin.

A pure ASGI middleware (not Starlette's ``BaseHTTPMiddleware``, which runs each request
in a task of its own): it only appends constant headers to the response's start.

- ``Content-Security-Policy``: scripts, styles, fonts and requests from this origin only,
  no inline script, no plugins, no framing, no forms posted elsewhere. Images may be
  ``data:`` and ``blob:`` URLs too: Plotly draws a chart's PNG through them.
- ``X-Content-Type-Options: nosniff``: a JSON answer is never run as a script.
- ``Referrer-Policy: no-referrer``: a link followed from a page leaks no URL or filter.

Two inline stylesheets are allowed by their hash, none other: the empty ``<style>`` that
plotly.js fills rule by rule through the CSSOM (which CSP does not police), and the
map stylesheet plotly.js adds as it loads (``test_pages`` recomputes it from the
vendored bundle). ``/redoc`` alone allows inline styles (Redoc styles itself with generated
``<style>`` elements) and a ``blob:`` worker (its search index, built by its own script);
the page holds no data. Its footer's logo, from cdn.redoc.ly, is blocked.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

EMPTY_STYLE_HASH = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
PLOTLY_MAP_STYLE_HASH = "sha256-ji27qzEtxXZW+7dun6UwjHXJ18e6WAin1VvNtkzIE/o="


def _policy(style_src: str, extra: str = "") -> bytes:
    return (
        "default-src 'none'; script-src 'self'; "
        f"style-src {style_src}; img-src 'self' data: blob:; font-src 'self'; "
        f"connect-src 'self'; {extra}base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ).encode()


_COMMON = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
HEADERS: list[tuple[bytes, bytes]] = [
    (
        b"content-security-policy",
        _policy(
            f"'self' '{EMPTY_STYLE_HASH}' '{PLOTLY_MAP_STYLE_HASH}'",
            "style-src-attr 'unsafe-inline'; ",
        ),
    ),
    *_COMMON,
]
_REDOC_HEADERS = [
    (b"content-security-policy", _policy("'self' 'unsafe-inline'", "worker-src blob:; ")),
    *_COMMON,
]


class SecurityHeaders:
    """Adds ``HEADERS`` to every HTTP response of ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        headers = _REDOC_HEADERS if scope["path"] == "/redoc" else HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)
