"""``mount(app)``: the UI's pages and static files on the API's FastAPI app (the api never imports the ui).

Static files are read once, at mount, from ``aquifer/ui/static`` into memory and served by exact name: a
request names one of those files or gets the 404 page, so no path (``..``, encoded or not) reaches the disk.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from aquifer.ui.format import FILTERS, Links
from aquifer.ui.highlight import warm
from aquifer.ui.pages import Pages, router

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


@dataclass(frozen=True)
class StaticFile:
    """A static file held in memory: its bytes, media type and a short content hash (the ``?v=`` of its URL)."""

    body: bytes
    media_type: str
    version: str


def static_files(folder: Path = STATIC) -> dict[str, StaticFile]:
    """The files directly in ``folder`` by name (no subfolders, no hidden files)."""
    out = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and not path.name.startswith("."):
            body = path.read_bytes()
            media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if media.startswith("text/") or media.endswith("javascript"):
                media += "; charset=utf-8"
            out[path.name] = StaticFile(body, media, hashlib.sha256(body).hexdigest()[:12])
    return out


class VersionedLinks(Links):
    """Links whose static URLs carry the file's content hash, so browsers may cache them for long."""

    def __init__(self, prefix: str, files: dict[str, StaticFile]):
        super().__init__(prefix)
        self.files = files

    def static(self, name: str) -> str:
        """``/ui/static/ui.css?v=<hash>``."""
        return f"{self.prefix}/static/{name}?v={self.files[name].version}"


def environment() -> Environment:
    """The templates' Jinja2 environment: autoescaping of every template, undefined names are errors."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, auto_reload=False)
    env.filters.update(FILTERS)
    return env


def mount(app: FastAPI, prefix: str = "/ui") -> FastAPI:
    """Add the UI under ``prefix`` (pages, ``{prefix}/static/<file>``, a 404 page for anything else below it)
    to ``app`` (made by ``aquifer.api.create_app``), and send ``/`` there when nothing else answers it."""
    prefix = "/" + prefix.strip("/")
    files = static_files()
    env = environment()
    pages = Pages(env, VersionedLinks(prefix, files))
    warm()
    for name in env.list_templates():  # compiled now, not on the first request
        env.get_template(name)
    app.include_router(router(pages, prefix))
    tail = APIRouter(include_in_schema=False)

    @tail.get(f"{prefix}/static/{{name}}")
    def static(name: str) -> Response:
        found = files.get(name)
        if found is None:
            return pages.error(404, "Not found", f"no static file {name!r}")
        return Response(found.body, media_type=found.media_type,
                        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"})

    @tail.get(f"{prefix}/{{rest:path}}")
    def unknown(request: Request, rest: str) -> HTMLResponse:
        return pages.error(404, "Not found", f"no page {request.url.path!r}")

    app.include_router(tail)
    if not any(getattr(route, "path", None) == "/" for route in app.routes):
        @app.get("/", include_in_schema=False)
        def to_ui() -> RedirectResponse:
            return RedirectResponse(f"{prefix}/", 307)

    app.state.ui_prefix = prefix
    return app
