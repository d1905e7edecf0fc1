"""The web UI: Jinja2 pages, static CSS/JS and server-side SVG, mounted on the API's app with ``mount(app)``."""

from aquifer.ui.mount import mount

__all__ = ["mount"]
