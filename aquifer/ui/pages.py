"""The UI's pages: each reads what the discovery routes read (``aquifer.api.catalog``, called in process, so
the page and ``/api/v1`` cannot disagree) and renders a Jinja2 template.

An unknown name is the API's 404 (naming it, with close names) rendered as a page; a registry that does not
answer is a 503 page; bad query parameters are a 422 page naming the parameter.
"""

from __future__ import annotations

import logging
import math
import textwrap
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment

from aquifer.api import catalog as api
from aquifer.api.auth import HEADER, check_key
from aquifer.ui import svg
from aquifer.ui.format import VIEW_KINDS, Links
from aquifer.ui.highlight import highlight

log = logging.getLogger("aquifer.ui")

PAGE_SIZE = 50
MAX_DRAWN = 300
"""Lineage graphs with more nodes are listed, not drawn (a column of thousands of boxes helps no one)."""
HEADERS = {
    # nothing inline may run: a definition's text can never become script, even if a template slipped
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class Pages:
    """Renders the pages of one app; ``env`` is the Jinja2 environment (autoescaping on)."""

    def __init__(self, env: Environment, links: Links):
        self.env = env
        self.links = links
        env.globals["url"] = links  # a global, so imported macros see it too

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        """``template`` with ``context`` (and the links), as an HTML response with the UI's headers."""
        body = self.env.get_template(template).render(**context)
        return HTMLResponse(body, status_code=status, headers=HEADERS)

    def error(self, status: int, title: str, detail: str) -> HTMLResponse:
        """The error page: ``title`` and ``detail`` (escaped like every other text)."""
        return self.render("error.html", status, title=title, detail=detail, code=status)

    def guarded(self, request: Request, build: Callable[[], HTMLResponse]) -> HTMLResponse:
        """``build()``, with the API's errors as pages: 404 and 422 name the thing, a silent registry is a 503.

        Pages show what the discovery routes show, so they are closed the same way: with
        ``api.require_key_for_reads`` a request needs a reader's ``X-API-Key`` (a proxy in front may add it).
        """
        try:
            check_key(request.app.state.api_config, request.headers.get(HEADER), write=False)
            return build()
        except HTTPException as exc:
            title = {401: "API key needed", 403: "Not allowed", 404: "Not found", 422: "Bad request",
                     503: "Registry unavailable"}.get(exc.status_code, "Error")
            return self.error(exc.status_code, title, str(exc.detail))
        except api.REGISTRY_DOWN as exc:
            log.warning("ui: the registry did not answer: %s", exc)
            return self.error(503, "Registry unavailable",
                              f"the registry did not answer ({type(exc).__name__}); see the server log")


def catalog(request: Request) -> api.Catalog:
    """The app's discovery catalog (the one ``/api/v1`` uses; created on first use)."""
    state = request.app.state
    found = getattr(state, "catalog", None)
    if found is None:
        found = state.catalog = api.Catalog(state.store)
    return found


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise HTTPException(422, f"query parameter {name!r} must be a whole number, not {raw[:50]!r}") from None
    if not low <= value <= high:
        raise HTTPException(422, f"query parameter {name!r} must be between {low} and {high}, not {value}")
    return value


def _text(request: Request, name: str, limit: int = 256) -> str | None:
    raw = request.query_params.get(name)
    if raw is None or raw.strip() == "":
        return None
    if len(raw) > limit:
        raise HTTPException(422, f"query parameter {name!r} is longer than {limit} characters")
    return raw.strip()


def _groups(items: list[Any]) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """Views by owner (``None`` last as "no owner") and by ``tag:value``."""
    owners: dict[str, list[Any]] = {}
    tags: dict[str, list[Any]] = {}
    for item in items:
        owners.setdefault(item.owner or "", []).append(item)
        for key, value in item.tags.items():
            tags.setdefault(f"{key}:{value}", []).append(item)
    ordered_owners = dict(sorted(owners.items(), key=lambda kv: (kv[0] == "", kv[0].casefold())))
    return ordered_owners, dict(sorted(tags.items()))


def home(pages: Pages, request: Request) -> HTMLResponse:
    """Search (text, tag, owner) with pages of results; with no search, every view by owner and by tag."""
    q, tag, owner = _text(request, "q", 500), _text(request, "tag"), _text(request, "owner")
    page = _int(request, "page", 1, 1, 100_000)
    cat = catalog(request)
    snap = cat.snapshot()
    counts = {k: len(snap.of_kinds(kinds)) for k, kinds in
              (("entities", ("entity",)), ("sources", api.SOURCE_KINDS), ("services", ("feature_service",)))}
    if q is None and tag is None and owner is None:
        items = [item for item, _ in snap.search_items]
        owners, tags = _groups(items)
        return pages.render("home.html", views=items, owners=owners, tags=tags, counts=counts, searched=False,
                            q="", tag="", owner="", project=cat.project)
    found = api.search_views(cat, q=q, tag=[tag] if tag else None, owner=owner, limit=PAGE_SIZE,
                             offset=(page - 1) * PAGE_SIZE)
    pages_total = max(1, math.ceil(found.total / PAGE_SIZE))
    return pages.render("home.html", results=found, page=page, pages_total=pages_total, searched=True,
                        q=q or "", tag=tag or "", owner=owner or "", counts=counts, project=cat.project)


def view(pages: Pages, request: Request, name: str) -> HTMLResponse:
    """A view: definition, schema, highlighted source, freshness, statistics with histograms, validation,
    drift, runs, versions and its lineage one hop around."""
    cat = catalog(request)
    detail = api.view_detail(request, cat, name)
    code = None
    if detail.transform is not None:
        text = detail.transform.text if detail.transform.kind == "sql" else detail.transform.source
        if text:
            code = highlight(textwrap.dedent(text).strip("\n"), "sql" if detail.transform.kind == "sql" else "python")
    charts = {}
    for feature, stats in detail.statistics.items():
        if stats.histogram is not None and stats.histogram.counts:
            charts[feature] = svg.histogram_svg(feature, stats.dtype, stats.histogram.edges, stats.histogram.counts)
        elif stats.top_values:
            charts[feature] = svg.top_values_svg(feature, stats.top_values, stats.count - stats.nulls)
    graph = api.lineage(cat, detail.name, depth=1, direction="both", columns=False, kind=detail.kind)
    lineage_svg, _ = _draw(pages, graph, columns=False)
    failed = []
    if detail.validation is not None:
        failed = [e for e in detail.validation.results.get("expectations") or [] if not e.get("success", True)]
    return pages.render("view.html", v=detail, code=code, charts=charts, lineage_svg=lineage_svg, failed=failed,
                        max_drawn=MAX_DRAWN, project=cat.project)


def _draw(pages: Pages, graph: Any, columns: bool) -> tuple[Any, int]:
    """The graph's SVG and its crossings; no drawing (None) past ``MAX_DRAWN`` nodes, where a list reads better."""
    if len(graph.nodes) > MAX_DRAWN:
        return None, 0
    nodes = [(n.kind, n.name) for n in graph.nodes]
    edges = [((e.from_kind, e.from_name), (e.to_kind, e.to_name)) for e in graph.edges]
    column_edges = [(c.from_node, c.from_column, c.to_node, c.to_column) for c in graph.column_edges] \
        if columns else None
    return svg.lineage_svg(nodes, edges, (graph.root.kind, graph.root.name), pages.links.node, column_edges)


def lineage(pages: Pages, request: Request, name: str) -> HTMLResponse:
    """The graph around a node, ``depth`` hops ``direction``; column edges with ``columns=1``."""
    depth = _int(request, "depth", 2, 0, 20)
    direction = request.query_params.get("direction") or "both"
    if direction not in ("up", "down", "both"):
        raise HTTPException(422, f"query parameter 'direction' must be up, down or both, not {direction[:50]!r}")
    columns = request.query_params.get("columns", "0")
    if columns not in ("0", "1", "on", "off", "true", "false"):
        raise HTTPException(422, f"query parameter 'columns' must be 1 or 0, not {columns[:50]!r}")
    show_columns = columns in ("1", "on", "true")
    kind = _text(request, "kind", 32)
    if kind is not None and not kind.replace("_", "").isalpha():
        raise HTTPException(422, f"query parameter 'kind' must be a definition kind, not {kind!r}")
    cat = catalog(request)
    graph = api.lineage(cat, name, depth=depth, direction=direction, columns=True, kind=kind)
    drawing, crossings = _draw(pages, graph, show_columns)
    by_distance: dict[int, list[Any]] = {}
    for n in graph.nodes:
        by_distance.setdefault(n.distance, []).append(n)
    return pages.render("lineage.html", g=graph, svg=drawing, crossings=crossings, depth=depth, direction=direction,
                        show_columns=show_columns, kind=kind, by_distance=by_distance, styles=svg.KIND_STYLE,
                        max_drawn=MAX_DRAWN, project=cat.project)


def entity(pages: Pages, request: Request, name: str) -> HTMLResponse:
    """An entity: join keys and the definitions keyed by it."""
    cat = catalog(request)
    return pages.render("entity.html", e=api.entity(cat, name), project=cat.project)


def source(pages: Pages, request: Request, name: str) -> HTMLResponse:
    """A source: location, format, columns and the views reading it."""
    cat = catalog(request)
    return pages.render("source.html", s=api.source(cat, name), project=cat.project)


def service(pages: Pages, request: Request, name: str) -> HTMLResponse:
    """A feature service: the features it serves, by view."""
    cat = catalog(request)
    snap = cat.snapshot()
    known = {n for (k, n) in snap.definitions if k in VIEW_KINDS}
    return pages.render("service.html", s=api.service(cat, name), known=known, project=cat.project)


def listing(pages: Pages, request: Request, what: str) -> HTMLResponse:
    """Every entity, source or service."""
    cat = catalog(request)
    items = {"entities": api.entities, "sources": api.sources, "services": api.services}[what](cat).items
    return pages.render("list.html", what=what, items=items, project=cat.project)


def router(pages: Pages, prefix: str) -> APIRouter:
    """The UI's routes under ``prefix`` (left out of ``/openapi.json``)."""
    r = APIRouter(include_in_schema=False)

    @r.get(prefix, response_class=RedirectResponse)
    def root() -> Response:
        return RedirectResponse(f"{prefix}/", 307)

    @r.get(f"{prefix}/", response_class=HTMLResponse)
    def home_page(request: Request) -> HTMLResponse:
        return pages.guarded(request, lambda: home(pages, request))

    @r.get(f"{prefix}/views/{{name}}", response_class=HTMLResponse)
    def view_page(request: Request, name: str) -> HTMLResponse:
        return pages.guarded(request, lambda: view(pages, request, name))

    @r.get(f"{prefix}/lineage/{{name}}", response_class=HTMLResponse)
    def lineage_page(request: Request, name: str) -> HTMLResponse:
        return pages.guarded(request, lambda: lineage(pages, request, name))

    @r.get(f"{prefix}/entities/{{name}}", response_class=HTMLResponse)
    def entity_page(request: Request, name: str) -> HTMLResponse:
        return pages.guarded(request, lambda: entity(pages, request, name))

    @r.get(f"{prefix}/sources/{{name}}", response_class=HTMLResponse)
    def source_page(request: Request, name: str) -> HTMLResponse:
        return pages.guarded(request, lambda: source(pages, request, name))

    @r.get(f"{prefix}/services/{{name}}", response_class=HTMLResponse)
    def service_page(request: Request, name: str) -> HTMLResponse:
        return pages.guarded(request, lambda: service(pages, request, name))

    for what in ("entities", "sources", "services"):
        r.add_api_route(f"{prefix}/{what}", _list_route(pages, what), methods=["GET"], response_class=HTMLResponse)
    return r


def _list_route(pages: Pages, what: str) -> Callable[[Request], HTMLResponse]:
    def list_page(request: Request) -> HTMLResponse:
        return pages.guarded(request, lambda: listing(pages, request, what))

    return list_page
