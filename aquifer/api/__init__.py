"""The HTTP API (FastAPI): ``create_app(store)``; routes live in one module per concern."""

from aquifer.api.app import create_app

__all__ = ["create_app"]
