"""The lineage page's layered layout (``aquifer.ui.layout``), checked against independent computations: layers by
enumerating every path, crossings by intersecting the drawn segments geometrically, and graphs whose best
drawing is known to have no crossing."""

from __future__ import annotations

import itertools
import random

import pytest

from aquifer.ui.layout import acyclic, count_crossings, layered_layout, longest_path_layers


def random_dag(seed: int, n: int = 12, p: float = 0.25) -> tuple[list[str], list[tuple[str, str]]]:
    """Nodes n00.. in a random topological order; an edge i -> j (i before j) with probability ``p``."""
    rng = random.Random(seed)
    names = [f"n{i:02d}" for i in range(n)]
    rng.shuffle(names)
    edges = [(names[i], names[j]) for i in range(n) for j in range(i + 1, n) if rng.random() < p]
    return sorted(names), edges


def longest_paths_by_enumeration(nodes: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Each node's longest path (in edges) from any node, by walking every path from every node (small graphs)."""
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in edges:
        succ[a].append(b)
    best = dict.fromkeys(nodes, 0)

    def walk(node: str, length: int) -> None:
        best[node] = max(best[node], length)
        for nxt in succ[node]:
            walk(nxt, length + 1)

    for n in nodes:
        walk(n, 0)
    return best


def segments_cross(p1, p2, q1, q2) -> bool:
    """Whether segments p1-p2 and q1-q2 properly intersect (orientation test; shared endpoints do not count)."""
    if {p1, p2} & {q1, q2}:
        return False

    def orient(a, b, c) -> float:
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    d1, d2 = orient(q1, q2, p1), orient(q1, q2, p2)
    d3, d4 = orient(p1, p2, q1), orient(p1, p2, q2)
    return d1 * d2 < 0 and d3 * d4 < 0


def drawn_crossings(layout) -> int:
    """Crossings between the drawn polylines, segment by segment."""
    segments = []
    for edge, points in layout.routes.items():
        segments += [(edge, a, b) for a, b in itertools.pairwise(points)]
    return sum(1 for (e1, a1, b1), (e2, a2, b2) in itertools.combinations(segments, 2)
               if e1 != e2 and segments_cross(a1, b1, a2, b2))


@pytest.mark.parametrize("seed", range(25))
def test_layers_are_longest_paths_and_edges_point_right(seed):
    nodes, edges = random_dag(seed)
    assert longest_path_layers(nodes, edges) == longest_paths_by_enumeration(nodes, edges)
    sizes = {n: (100.0, 40.0) for n in nodes}
    layout = layered_layout(nodes, edges, sizes)
    for a, b in edges:
        route = layout.routes[(a, b)]
        assert route[0] == (layout.x[a] + 100.0, layout.y[a] + 20.0) and route[-1] == (layout.x[b], layout.y[b] + 20.0)
        assert all(p[0] < q[0] for p, q in itertools.pairwise(route)), "every edge runs left to right"
    # no two boxes overlap, and every box is inside the drawing
    boxes = [(layout.x[n], layout.y[n], layout.x[n] + 100, layout.y[n] + 40) for n in nodes]
    for (ax, ay, aX, aY), (bx, by, bX, bY) in itertools.combinations(boxes, 2):
        assert aX <= bx or bX <= ax or aY <= by or bY <= ay
    assert all(x0 >= 0 and y0 >= 0 and x1 <= layout.width and y1 <= layout.height for x0, y0, x1, y1 in boxes)


@pytest.mark.parametrize("seed", range(25))
def test_reported_crossings_are_the_drawn_ones_and_no_worse_than_the_input_order(seed):
    nodes, edges = random_dag(seed, n=10, p=0.3)
    layout = layered_layout(nodes, edges, {n: (80.0, 30.0) for n in nodes})
    assert layout.crossings == drawn_crossings(layout)
    # the input order (names sorted within each layer, long edges' points in edge order) as the baseline
    layers = longest_path_layers(nodes, edges)
    stacked: dict[int, list] = {}
    for n in nodes:
        stacked.setdefault(layers[n], []).append(n)
    links = []
    for a, b in edges:
        chain = [a] + [(a, b, i) for i in range(layers[a] + 1, layers[b])] + [b]
        for point in chain[1:-1]:
            stacked.setdefault(point[2], []).append(point)
        links += list(itertools.pairwise(chain))
    baseline = count_crossings([stacked[i] for i in sorted(stacked)], links)
    assert layout.crossings <= baseline


@pytest.mark.parametrize("seed", range(10))
def test_a_shuffled_tree_is_drawn_without_crossings(seed):
    """A tree (each node one input) can always be drawn without crossings; barycenter ordering finds one."""
    rng = random.Random(seed)
    nodes = [f"t{i:02d}" for i in range(16)]
    edges = [(nodes[rng.randrange(i)], nodes[i]) for i in range(1, 16)]
    order = nodes[:]
    rng.shuffle(order)
    layout = layered_layout(order, edges, {n: (60.0, 20.0) for n in nodes})
    assert layout.crossings == 0 == drawn_crossings(layout)


def test_cycles_self_loops_and_duplicates_still_draw():
    nodes = ["a", "b", "c"]
    edges = [("a", "b"), ("b", "c"), ("c", "a"), ("a", "a"), ("a", "b")]
    kept = acyclic(nodes, edges)
    assert len(kept) == 2 and set(kept) < {("a", "b"), ("b", "c"), ("c", "a")}
    layout = layered_layout(nodes, edges, dict.fromkeys(nodes, (50.0, 20.0)))
    assert sorted(layout.x) == nodes and len(layout.routes) == 2
    assert layered_layout([], [], {}).routes == {}
