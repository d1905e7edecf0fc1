"""What ``plan``/``apply`` take and give: a snapshot of the whole feature repo and its diff to the registry.

The snapshot is input (plain dataclasses and tuples); what comes back (``Change``, ``Diff``, ``ApplyResult``)
is part of the registry's wire format, ``aquifer.registry.schemas.v1``, re-exported here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aquifer.registry.schemas.v1 import ApplyResult, Change, Diff

__all__ = ["ApplyResult", "Change", "ColumnEdge", "Diff", "Edge", "Entry", "Snapshot"]

Edge = tuple[str, str, str, str]  # (from_kind, from_name, to_kind, to_name)
ColumnEdge = tuple[str, str, str, str]  # (from_node, from_column, to_node, to_column)


@dataclass(frozen=True)
class Entry:
    """One definition as loaded: its fingerprints and its JSON spec (``aquifer.definitions.spec.to_spec``)."""

    kind: str
    name: str
    data_fp: str
    meta_fp: str
    spec: dict[str, Any]
    location: str | None = None


@dataclass(frozen=True)
class Snapshot:
    """Every definition of a project plus its dependency graph (definition and column level)."""

    entries: list[Entry]
    edges: list[Edge] = field(default_factory=list)
    column_edges: list[ColumnEdge] = field(default_factory=list)

    def __post_init__(self) -> None:
        counts = Counter((e.kind, e.name) for e in self.entries)
        dupes = sorted(key for key, n in counts.items() if n > 1)
        if dupes:
            listed = ", ".join(f"{k} {n!r}" for k, n in dupes)
            raise ValueError(f"snapshot defines these more than once: {listed}")
