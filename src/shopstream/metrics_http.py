"""The worker's ``/metrics``: prometheus-client's WSGI app on a port of its own.

A worker serves no HTTP otherwise, so it listens on ``WORKER_METRICS_HOST:PORT`` in a
thread. With ``worker --processes N`` the supervising process serves it, the sum of its
workers. Like the API's, it needs a key when reads are protected (``API_READ_KEYS`` or
``API_KEYS_PROTECT_READS``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from wsgiref.simple_server import WSGIRequestHandler, make_server
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

from shopstream.config import Settings
from shopstream.errors import ConfigurationError
from shopstream.keys import Role, bearer_key, key_role

_UNAUTHORISED = b"a valid API key is needed: send the header 'Authorization: Bearer <key>'\n"


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """A scrape every few seconds is not news."""


def _guarded(settings: Settings, serve: WSGIApplication) -> WSGIApplication:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if settings.api.reads_protected:
            key = bearer_key(environ.get("HTTP_AUTHORIZATION"))
            if key_role(settings, key) is Role.NONE:
                start_response(
                    "401 Unauthorized",
                    [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")],
                )
                return [_UNAUTHORISED]
        return serve(environ, start_response)

    return app


class MetricsServer:
    """``registry`` served on the worker's metrics port until ``close``; nothing on port 0."""

    def __init__(self, settings: Settings, registry: CollectorRegistry) -> None:
        host, port = settings.worker.metrics_host, settings.worker.metrics_port
        self._server: ThreadingWSGIServer | None = None
        if port == 0:
            return
        app = _guarded(settings, make_wsgi_app(registry))
        try:
            self._server = make_server(host, port, app, ThreadingWSGIServer, _Quiet)
        except OSError as exc:
            raise ConfigurationError(
                f"WORKER_METRICS_PORT: cannot listen on {host}:{port} ({exc.strerror}); "
                "choose another port, or 0 for none"
            ) from None
        threading.Thread(target=self._server.serve_forever, name="metrics", daemon=True).start()

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
