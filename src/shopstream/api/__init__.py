"""The HTTP API: ``create_app`` builds it; routes live in one module per concern."""

from shopstream.api.app import create_app

__all__ = ["create_app"]
