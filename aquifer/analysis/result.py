"""What ``analyze`` returns: problems, the dependency graph, known columns, column lineage, fingerprints."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from aquifer.analysis.problems import Problem
from aquifer.analysis.source_schema import Columns
from aquifer.definitions import Definition, Entity, FeatureService


class NodeRef(NamedTuple):
    """A lineage node: ``("feature_view", "user_spend")``, ``("batch_source", "transactions")``, ..."""

    kind: str
    name: str


class ColumnEdge(NamedTuple):
    """``to_node.to_column`` is computed from ``from_node.from_column`` (nodes are source/view names)."""

    from_node: str
    from_column: str
    to_node: str
    to_column: str


@dataclass(frozen=True)
class Fingerprint:
    """Short content hashes: ``data`` changes when computed rows would change, ``meta`` when only metadata does."""

    data: str
    meta: str


@dataclass(frozen=True)
class Lineage:
    """A lineage (sub)graph: nodes, dependency edges ``(from, to)`` and column edges."""

    nodes: tuple[NodeRef, ...]
    edges: tuple[tuple[NodeRef, NodeRef], ...]
    column_edges: tuple[ColumnEdge, ...]


@dataclass
class Analysis:
    """The whole-graph view of a loaded repo (see ``aquifer.analysis.analyze``).

    ``definitions`` holds the data namespace (sources and views share it); ``entities`` and ``services``
    are separate namespaces. ``upstreams``/``downstreams`` are keyed by data-namespace name (a Kafka
    source's upstream is its ``batch_source``, which batch computations read in its place).
    ``columns`` holds the known output columns of each source and view (absent when unknown).
    ``order`` lists views upstream-first, and is empty when the graph has a cycle.
    """

    problems: list[Problem] = field(default_factory=list)
    definitions: dict[str, Definition] = field(default_factory=dict)
    entities: dict[str, Entity] = field(default_factory=dict)
    services: dict[str, FeatureService] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    upstreams: dict[str, tuple[str, ...]] = field(default_factory=dict)
    downstreams: dict[str, tuple[str, ...]] = field(default_factory=dict)
    fingerprints: dict[tuple[str, str], Fingerprint] = field(default_factory=dict)
    columns: dict[str, Columns] = field(default_factory=dict)
    column_edges: list[ColumnEdge] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not any(p.is_error for p in self.problems)

    @property
    def errors(self) -> list[Problem]:
        """Only the problems that are errors."""
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        """Only the problems that are warnings."""
        return [p for p in self.problems if not p.is_error]

    def node(self, name: str) -> NodeRef:
        """The lineage node for a source, view or service name; ``KeyError`` when unknown."""
        if name in self.definitions:
            return NodeRef(self.definitions[name].kind, name)
        if name in self.services:
            return NodeRef("feature_service", name)
        raise KeyError(name)

    def graph(self) -> Lineage:
        """The whole lineage graph: sources, views and services with their edges."""
        nodes = [NodeRef(d.kind, n) for n, d in self.definitions.items()]
        nodes += [NodeRef("feature_service", n) for n in self.services]
        edges = [(self.node(up), self.node(n)) for n, ups in self.upstreams.items() for up in ups
                 if up in self.definitions]
        for name, service in self.services.items():
            for view in dict.fromkeys(p.name for p in service.features):
                if view in self.definitions:
                    edges.append((self.node(view), NodeRef("feature_service", name)))
        return Lineage(tuple(nodes), tuple(edges), tuple(self.column_edges))

    def lineage(self, name: str | NodeRef, depth: int | None = None) -> Lineage:
        """Everything upstream and downstream of ``name`` (within ``depth`` hops each way, if given).

        ``name`` is a source, view or service name (or a ``NodeRef``); ``KeyError`` when unknown.
        """
        whole = self.graph()
        start = name if isinstance(name, NodeRef) else self.node(name)
        if start not in whole.nodes:
            raise KeyError(name)
        ups: dict[NodeRef, list[NodeRef]] = {}
        downs: dict[NodeRef, list[NodeRef]] = {}
        for a, b in whole.edges:
            downs.setdefault(a, []).append(b)
            ups.setdefault(b, []).append(a)
        upstream_side = _reach(start, ups, depth) | {start}
        downstream_side = _reach(start, downs, depth) | {start}
        keep = upstream_side | downstream_side
        # an edge belongs to the subgraph when it lies on an upstream or a downstream path of ``start``
        edges = tuple((a, b) for a, b in whole.edges if (a in upstream_side and b in upstream_side)
                      or (a in downstream_side and b in downstream_side))
        kept = set(edges)
        column_edges = tuple(
            e for e in whole.column_edges if (self.node(e.from_node), self.node(e.to_node)) in kept
        )
        return Lineage(tuple(n for n in whole.nodes if n in keep), edges, column_edges)


def _reach(start: NodeRef, neighbours: dict[NodeRef, list[NodeRef]], depth: int | None) -> set[NodeRef]:
    seen: set[NodeRef] = set()
    frontier, hops = [start], 0
    while frontier and (depth is None or hops < depth):
        hops += 1
        frontier = [n for f in frontier for n in neighbours.get(f, []) if n not in seen and n != start]
        seen.update(frontier)
    return seen
