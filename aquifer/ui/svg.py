"""Inline SVG drawn on the server: a feature's histogram (or its top values) and a lineage graph.

Every piece of text that comes from a definition or an observation is escaped here (``markupsafe.escape``);
the result is ``Markup`` so the templates insert it as it is. Colours keep text at a WCAG AA contrast on
their background.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup, escape

from aquifer.ui.layout import layered_layout

KIND_STYLE: dict[str, tuple[str, str, str]] = {
    # kind: (label, fill, stroke)
    "feature_view": ("feature view", "#e3efff", "#1f5fbf"),
    "aggregation_view": ("aggregation view", "#e6f6ec", "#1d7a3d"),
    "batch_source": ("batch source", "#fff3dc", "#9a5b00"),
    "kafka_source": ("Kafka source", "#fde8e8", "#a32121"),
    "entity": ("entity", "#f0e9fb", "#6331a8"),
    "feature_service": ("feature service", "#e8f4f6", "#176673"),
}
OTHER_STYLE = ("definition", "#eeeeee", "#555555")


def number(value: Any) -> str:
    """A short, readable number (4 significant digits; integers in full below a billion)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e9):
        return f"{int(value):,}"
    return f"{value:.4g}"


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def edge_label(value: Any, dtype: str) -> str:
    """A histogram edge as text: timestamps (epoch microseconds) as UTC times, numbers short."""
    x = _as_float(value)
    if dtype == "Timestamp" and math.isfinite(x):
        return datetime.fromtimestamp(x / 1e6, UTC).strftime("%Y-%m-%d %H:%M")
    return number(value if not isinstance(value, float) or math.isfinite(value) else str(value))


def histogram_svg(feature: str, dtype: str, edges: Sequence[Any], counts: Sequence[int], *,
                  width: int = 320, height: int = 120) -> Markup:
    """Equal-width bins as bars; each bar's range and count in its tooltip, the extremes on the axis."""
    if not counts or len(edges) != len(counts) + 1:
        return Markup("")
    top = max(max(counts), 1)
    plot_h, base = height - 30, height - 22
    bar_w = (width - 2) / len(counts)
    title = f"Histogram of {feature}: {sum(counts):,} values in {len(counts)} bins"
    parts = [f'<svg class="hist" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
             f'<line x1="0" y1="{base}" x2="{width}" y2="{base}" class="axis"/>']
    for i, count in enumerate(counts):
        h = 0 if count == 0 else max(1.5, plot_h * count / top)
        tip = f"{edge_label(edges[i], dtype)} to {edge_label(edges[i + 1], dtype)}: {count:,}"
        parts.append(f'<rect class="bar" x="{1 + i * bar_w:.1f}" y="{base - h:.1f}" width="{max(bar_w - 1, 1):.1f}" '
                     f'height="{h:.1f}"><title>{escape(tip)}</title></rect>')
    parts.append(f'<text x="0" y="{height - 6}" class="tick">{escape(edge_label(edges[0], dtype))}</text>')
    parts.append(f'<text x="{width}" y="{height - 6}" class="tick" text-anchor="end">'
                 f'{escape(edge_label(edges[-1], dtype))}</text>')
    parts.append(f'<text x="{width}" y="10" class="tick" text-anchor="end">max {top:,}</text></svg>')
    return Markup("".join(parts))


def top_values_svg(feature: str, values: Sequence[tuple[Any, int]], count: int, *, width: int = 320) -> Markup:
    """The most frequent values as horizontal bars, labelled with the value and its share of ``count`` rows."""
    if not values:
        return Markup("")
    row, label_w = 20, 110
    top = max(max(c for _, c in values), 1)
    height = row * len(values) + 4
    title = f"Most frequent values of {feature}"
    parts = [f'<svg class="hist" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for i, (value, c) in enumerate(values):
        y = 2 + i * row
        text = "null" if value is None else str(value)
        short = text if len(text) <= 14 else text[:13] + "…"
        share = f"{c / count:.1%}" if count else ""
        w = (width - label_w - 60) * c / top
        parts.append(f'<text x="{label_w - 6}" y="{y + 14}" class="tick" text-anchor="end">{escape(short)}'
                     f'<title>{escape(text)}</title></text>'
                     f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{max(w, 1):.1f}" height="{row - 6}">'
                     f'<title>{escape(text)}: {c:,}</title></rect>'
                     f'<text x="{label_w + w + 4:.1f}" y="{y + 14}" class="tick">{c:,} {share}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


# ---- lineage ---------------------------------------------------------------------------------------------------

NODE_HEADER = 42
COLUMN_ROW = 18
CHAR_W = 7.4  # px per character of the 13px UI font, for box widths


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _curve(points: Sequence[tuple[float, float]]) -> str:
    """An SVG path through ``points`` with horizontal tangents (S-curves between columns)."""
    (x0, y0), rest = points[0], points[1:]
    out = [f"M{x0:.1f},{y0:.1f}"]
    for x1, y1 in rest:
        dx = (x1 - x0) / 2
        out.append(f"C{x0 + dx:.1f},{y0:.1f} {x1 - dx:.1f},{y1:.1f} {x1:.1f},{y1:.1f}")
        x0, y0 = x1, y1
    return " ".join(out)


def lineage_svg(
    nodes: Sequence[tuple[str, str]],
    edges: Sequence[tuple[tuple[str, str], tuple[str, str]]],
    root: tuple[str, str],
    href: Callable[[str, str], str],
    column_edges: Sequence[tuple[str, str, str, str]] | None = None,
) -> tuple[Markup, int]:
    """The graph of ``(kind, name)`` nodes, laid out in columns (inputs left), each node a link (``href``).

    With ``column_edges`` (``from_node, from_column, to_node, to_column`` by node name) each node lists the columns
    those edges touch and the edges join the columns. Returns the SVG and the layout's edge crossings.
    """
    columns: dict[str, list[str]] = {}
    if column_edges is not None:
        for a, ac, b, bc in column_edges:
            for node, col in ((a, ac), (b, bc)):
                found = columns.setdefault(node, [])
                if col not in found:
                    found.append(col)
    sizes = {}
    for kind, name in nodes:
        cols = columns.get(name, []) if column_edges is not None else []
        longest = max([len(name), len(KIND_STYLE.get(kind, OTHER_STYLE)[0])] + [len(c) + 2 for c in cols])
        width = max(150.0, min(280.0, CHAR_W * min(longest, 34) + 26))
        sizes[(kind, name)] = (width, NODE_HEADER + (COLUMN_ROW * len(cols) + 6 if cols else 0))
    layout = layered_layout(list(nodes), list(edges), sizes)
    w, h = math.ceil(layout.width), math.ceil(layout.height)
    label = f"Lineage around {root[1]} ({KIND_STYLE.get(root[0], OTHER_STYLE)[0]}): {len(nodes)} definitions"
    parts = [f'<svg class="lineage" id="lineage-graph" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
             f'role="group" aria-label="{escape(label)}">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>',
             '<g class="edges">']
    for (a, b), points in sorted(layout.routes.items()):
        parts.append(f'<path class="edge" d="{_curve(points)}" marker-end="url(#arrow)">'
                     f'<title>{escape(a[1])} → {escape(b[1])}</title></path>')
    parts.append("</g>")
    if column_edges is not None:
        by_name = {name: (kind, name) for kind, name in nodes}
        parts.append('<g class="column-edges">')
        for a, ac, b, bc in column_edges:
            ka, kb = by_name.get(a), by_name.get(b)
            if ka is None or kb is None or ka == kb:
                continue
            ya = layout.y[ka] + NODE_HEADER + COLUMN_ROW * columns[a].index(ac) + COLUMN_ROW / 2 + 2
            yb = layout.y[kb] + NODE_HEADER + COLUMN_ROW * columns[b].index(bc) + COLUMN_ROW / 2 + 2
            start, end = (layout.x[ka] + sizes[ka][0], ya), (layout.x[kb], yb)
            if start[0] > end[0]:  # drawn right to left (an edge the layout reversed): loop around
                continue
            parts.append(f'<path class="column-edge" d="{_curve([start, end])}">'
                         f'<title>{escape(f"{a}.{ac} → {b}.{bc}")}</title></path>')
        parts.append("</g>")
    parts.append('<g class="nodes">')
    for key in nodes:
        kind, name = key
        kind_label, fill, stroke = KIND_STYLE.get(kind, OTHER_STYLE)
        x, y = layout.x[key], layout.y[key]
        nw, nh = sizes[key]
        limit = int((nw - 22) / CHAR_W)
        is_root = " root" if key == root else ""
        parts.append(f'<a href="{escape(href(kind, name))}" class="node{is_root}" '
                     f'aria-label="{escape(f"{kind_label} {name}")}" data-kind="{escape(kind)}" '
                     f'data-name="{escape(name)}">'
                     f'<title>{escape(f"{kind_label} {name}")}</title>'
                     f'<rect x="{x:.1f}" y="{y:.1f}" width="{nw:.1f}" height="{nh:.1f}" rx="6" fill="{fill}" '
                     f'stroke="{stroke}"/>'
                     f'<text x="{x + 11:.1f}" y="{y + 18:.1f}" class="node-name">{escape(_short(name, limit))}</text>'
                     f'<text x="{x + 11:.1f}" y="{y + 34:.1f}" class="node-kind" fill="{stroke}">'
                     f'{escape(kind_label)}</text>')
        for i, col in enumerate(columns.get(name, []) if column_edges is not None else []):
            cy = y + NODE_HEADER + COLUMN_ROW * i + COLUMN_ROW / 2 + 6
            parts.append(f'<text x="{x + 11:.1f}" y="{cy:.1f}" class="node-column">'
                         f'{escape(_short(col, limit))}</text>')
        parts.append("</a>")
    parts.append("</g></svg>")
    return Markup("".join(parts)), layout.crossings
