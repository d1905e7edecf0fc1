"""A layered (Sugiyama-style) layout of a lineage graph, computed in Python for the SVG the lineage page draws.

Steps: drop the edges that close a cycle (lineage is a DAG; this only keeps a bad graph drawable), put each node
in the layer of its longest path from a node with no inputs (inputs left, what uses them right), cut every edge
spanning several layers with dummy points, order each layer by the barycenter of its neighbours in sweeps left
to right and right to left (keeping the order with the fewest crossings seen), then place layers as columns and
nodes top to bottom. Everything is plain data: nodes are hashable keys, sizes are given per node.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

SWEEPS = 12
"""Barycenter passes (each one left to right or right to left); the best ordering seen is kept."""


@dataclass
class Layout:
    """Where each node sits and the points each edge passes through (dummy points included), in pixels.

    ``x``/``y`` are a node's top-left corner; ``routes[(a, b)]`` starts at ``a``'s right edge and ends at ``b``'s
    left edge (middles), crossing each layer in between straight, at the height the ordering gave it.
    """

    layers: list[list[Any]] = field(default_factory=list)
    x: dict[Any, float] = field(default_factory=dict)
    y: dict[Any, float] = field(default_factory=dict)
    width: float = 0.0
    height: float = 0.0
    routes: dict[tuple[Any, Any], list[tuple[float, float]]] = field(default_factory=dict)
    crossings: int = 0


@dataclass(frozen=True)
class _Dummy:
    """A point of a long edge in a layer it crosses."""

    edge: tuple[Any, Any]
    layer: int


def acyclic(nodes: Sequence[Hashable], edges: Iterable[tuple[Hashable, Hashable]]) -> list[tuple[Any, Any]]:
    """``edges`` without self-loops, duplicates and the edges that close a cycle (found by depth-first search)."""
    out_edges: dict[Any, list[Any]] = {n: [] for n in nodes}
    kept: list[tuple[Any, Any]] = []
    for a, b in dict.fromkeys(edges):
        if a != b and a in out_edges and b in out_edges:
            out_edges[a].append(b)
    state: dict[Any, int] = {}  # 1: on the stack, 2: done
    for start in nodes:
        if start in state:
            continue
        stack = [(start, iter(out_edges[start]))]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                continue  # a back edge: dropped
            else:
                kept.append((node, child))
                if child not in state:
                    state[child] = 1
                    stack.append((child, iter(out_edges[child])))
    return kept


def longest_path_layers(nodes: Sequence[Hashable], edges: Sequence[tuple[Hashable, Hashable]]) -> dict[Any, int]:
    """Each node's layer: 0 with no inputs, else one more than its deepest input (``edges`` must be acyclic)."""
    preds: dict[Any, list[Any]] = {n: [] for n in nodes}
    succs: dict[Any, list[Any]] = {n: [] for n in nodes}
    for a, b in edges:
        preds[b].append(a)
        succs[a].append(b)
    waiting = {n: len(preds[n]) for n in nodes}
    ready = [n for n in nodes if not waiting[n]]
    layer = {n: 0 for n in ready}
    while ready:
        node = ready.pop()
        for nxt in succs[node]:
            layer[nxt] = max(layer.get(nxt, 0), layer[node] + 1)
            waiting[nxt] -= 1
            if not waiting[nxt]:
                ready.append(nxt)
    return layer


def count_crossings(layers: Sequence[Sequence[Any]], links: Iterable[tuple[Any, Any]]) -> int:
    """Pairs of links between two adjacent layers that cross (links go from layer i to layer i + 1).

    Per gap: the links sorted by their left end, then right end; each one crosses every earlier link whose right
    end is further down (links sharing an end never cross). Earlier right ends are counted in a Fenwick tree, so
    a gap of E links costs O(E log E), not O(E^2): an entity keying thousands of views stays cheap.
    """
    position = {n: (i, j) for i, layer in enumerate(layers) for j, n in enumerate(layer)}
    by_gap: dict[int, list[tuple[int, int]]] = {}
    for a, b in links:
        (la, pa), (_, pb) = position[a], position[b]
        by_gap.setdefault(la, []).append((pa, pb))
    total = 0
    for gap, pairs in by_gap.items():
        pairs.sort()
        size = len(layers[gap + 1]) + 1
        tree = [0] * (size + 1)
        for seen, (_, b) in enumerate(pairs):
            i, at_or_above = b + 1, 0  # earlier links ending at or above b
            while i > 0:
                at_or_above += tree[i]
                i -= i & -i
            total += seen - at_or_above
            i = b + 1
            while i <= size:
                tree[i] += 1
                i += i & -i
    return total


def _order(layers: list[list[Any]], links: list[tuple[Any, Any]]) -> tuple[list[list[Any]], int]:
    """Barycenter sweeps over ``layers`` (adjacent-layer ``links``); the ordering with the fewest crossings."""
    ins: dict[Any, list[Any]] = {}
    outs: dict[Any, list[Any]] = {}
    for a, b in links:
        outs.setdefault(a, []).append(b)
        ins.setdefault(b, []).append(a)
    best = [list(layer) for layer in layers]
    best_crossings = count_crossings(best, links)
    current = [list(layer) for layer in layers]
    for sweep in range(SWEEPS):
        if best_crossings == 0:
            break
        forward = sweep % 2 == 0
        indices = range(1, len(current)) if forward else range(len(current) - 2, -1, -1)
        for i in indices:
            fixed = current[i - 1] if forward else current[i + 1]
            where = {n: j for j, n in enumerate(fixed)}
            neighbours = ins if forward else outs

            def barycenter(item: tuple[int, Any], where: dict[Any, int] = where,
                           neighbours: dict[Any, list[Any]] = neighbours) -> tuple[float, int]:
                j, node = item
                found = [where[n] for n in neighbours.get(node, ()) if n in where]
                return (sum(found) / len(found) if found else float(j), j)  # no neighbour: stay put

            current[i] = [n for _, n in sorted(enumerate(current[i]), key=barycenter)]
        crossings = count_crossings(current, links)
        if crossings < best_crossings:
            best, best_crossings = [list(layer) for layer in current], crossings
    return best, best_crossings


def layered_layout(
    nodes: Sequence[Hashable],
    edges: Iterable[tuple[Hashable, Hashable]],
    sizes: Mapping[Any, tuple[float, float]],
    *,
    layer_gap: float = 90.0,
    node_gap: float = 22.0,
    margin: float = 16.0,
) -> Layout:
    """Lay ``nodes`` out in columns by longest path, ordered to cut crossings; ``sizes[node] = (width, height)``.

    ``nodes`` order is the initial order within each layer (callers pass it sorted for a stable drawing).
    """
    nodes = list(dict.fromkeys(nodes))
    kept = acyclic(nodes, edges)
    layer_of = longest_path_layers(nodes, kept)
    depth = max(layer_of.values(), default=-1) + 1
    layers: list[list[Any]] = [[] for _ in range(depth)]
    for n in nodes:
        layers[layer_of[n]].append(n)
    links: list[tuple[Any, Any]] = []
    chains: dict[tuple[Any, Any], list[Any]] = {}
    for a, b in kept:
        chain = [a] + [_Dummy((a, b), i) for i in range(layer_of[a] + 1, layer_of[b])] + [b]
        for d in chain[1:-1]:
            layers[d.layer].append(d)
        links += list(pairwise(chain))
        chains[(a, b)] = chain
    ordered, crossings = _order(layers, links)

    def size(n: Any) -> tuple[float, float]:
        return (0.0, 0.0) if isinstance(n, _Dummy) else sizes[n]

    col_width = [max((size(n)[0] for n in layer), default=0.0) for layer in ordered]
    col_height = [sum(size(n)[1] for n in layer) + node_gap * max(len(layer) - 1, 0) for layer in ordered]
    tallest = max(col_height, default=0.0)
    out = Layout(layers=[[n for n in layer if not isinstance(n, _Dummy)] for layer in ordered], crossings=crossings)
    left = margin
    bounds: list[tuple[float, float]] = []  # each column's left and right x
    mid_y: dict[Any, float] = {}
    for i, layer in enumerate(ordered):
        top = margin + (tallest - col_height[i]) / 2  # each column centred vertically
        for n in layer:
            w, h = size(n)
            if not isinstance(n, _Dummy):
                out.x[n], out.y[n] = left + (col_width[i] - w) / 2, top
            mid_y[n] = top + h / 2
            top += h + (node_gap if not isinstance(n, _Dummy) else node_gap / 2)
        bounds.append((left, left + col_width[i]))
        left += col_width[i] + layer_gap
    out.width = left - layer_gap + margin if ordered else 2 * margin
    out.height = tallest + 2 * margin
    for edge, chain in chains.items():
        # box edge -> column boundary, across each gap, straight through each crossed column -> box edge: every
        # piece between two columns joins the same two vertical lines, so drawn crossings are the counted ones
        a, b = chain[0], chain[-1]
        points = [(out.x[a] + sizes[a][0], mid_y[a]), (bounds[layer_of[a]][1], mid_y[a])]
        for d in chain[1:-1]:
            points += [(bounds[d.layer][0], mid_y[d]), (bounds[d.layer][1], mid_y[d])]
        points += [(bounds[layer_of[b]][0], mid_y[b]), (out.x[b], mid_y[b])]
        out.routes[edge] = [p for i, p in enumerate(points) if i == 0 or p != points[i - 1]]
    return out
