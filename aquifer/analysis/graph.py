"""The dependency graph: strongly connected components (cycles), topological order, reverse edges."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def downstreams_of(upstreams: Mapping[str, Iterable[str]]) -> dict[str, tuple[str, ...]]:
    """Reverse edges: for every node, the nodes that read it (only nodes present in ``upstreams``)."""
    out: dict[str, list[str]] = {name: [] for name in upstreams}
    for name, ups in upstreams.items():
        for up in ups:
            if up in out and name not in out[up]:
                out[up].append(name)
    return {name: tuple(v) for name, v in out.items()}


def cycles(upstreams: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Every cycle, one per strongly connected component, as a path ``[a, b, c, a]`` (a reads c, ...).

    Paths follow data flow: each node is an upstream of the next. Nodes are listed from the first one
    (in ``upstreams`` order) that sits on the cycle.
    """
    graph = {n: [u for u in ups if u in upstreams] for n, ups in upstreams.items()}
    found = []
    for component in _components(graph):
        members = set(component)
        if len(component) == 1 and component[0] not in graph[component[0]]:
            continue
        start = min(component, key=list(graph).index)
        found.append(_cycle_path(start, graph, members))
    found.sort(key=lambda path: list(graph).index(path[0]))
    return found


def _cycle_path(start: str, graph: Mapping[str, list[str]], members: set[str]) -> list[str]:
    """A simple cycle through ``start`` inside one component, in data-flow order."""
    # walk "downstream" = reverse of upstream edges, so that the printed path reads a → b → c → a
    down: dict[str, list[str]] = {n: [] for n in members}
    for node in members:
        for up in graph[node]:
            if up in members:
                down[up].append(node)
    stack, seen = [(start, [start])], {start}
    while stack:
        node, path = stack.pop()
        for nxt in sorted(down[node], key=list(graph).index, reverse=True):
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return [start, start]


def _components(graph: Mapping[str, list[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components (iterative, so deep graphs do not hit the recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                out.append(component)
    return out


def topological_order(upstreams: Mapping[str, Iterable[str]]) -> list[str] | None:
    """Nodes with every upstream before them (ties keep ``upstreams`` order); None when there is a cycle."""
    graph = {n: [u for u in dict.fromkeys(ups) if u in upstreams and u != n] for n, ups in upstreams.items()}
    if any(n in upstreams[n] for n in upstreams):
        return None
    position = {n: i for i, n in enumerate(graph)}
    waiting = {n: len(ups) for n, ups in graph.items()}
    readers = downstreams_of(graph)
    ready = sorted((n for n, count in waiting.items() if count == 0), key=position.__getitem__)
    order: list[str] = []
    while ready:
        node = ready.pop(0)
        order.append(node)
        for reader in readers[node]:
            waiting[reader] -= 1
            if waiting[reader] == 0:
                ready.append(reader)
                ready.sort(key=position.__getitem__)
    return order if len(order) == len(graph) else None
