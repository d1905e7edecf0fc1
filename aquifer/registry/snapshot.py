"""What ``plan``/``apply`` take and give: a snapshot of the whole feature repo and its diff to the registry."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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


@dataclass(frozen=True)
class Change:
    """One definition in a diff. ``old_version`` is None when added; ``new_version`` is None when removed."""

    kind: str
    name: str
    old_version: int | None
    new_version: int | None


@dataclass(frozen=True)
class Diff:
    """What ``apply`` would do (or did) to a project, computed against registry version ``base_version``."""

    project: str
    base_version: int
    added: list[Change] = field(default_factory=list)
    removed: list[Change] = field(default_factory=list)
    changed_data: list[Change] = field(default_factory=list)
    changed_meta: list[Change] = field(default_factory=list)
    unchanged: list[Change] = field(default_factory=list)
    edges_changed: bool = False
    column_edges_changed: bool = False

    @property
    def has_changes(self) -> bool:
        """True when applying would write anything."""
        return bool(
            self.added or self.removed or self.changed_data or self.changed_meta
            or self.edges_changed or self.column_edges_changed
        )


@dataclass(frozen=True)
class ApplyResult:
    """The outcome of ``apply``: the project's new version (unchanged when nothing changed) and the diff."""

    project: str
    version: int
    diff: Diff
    applied_at: datetime
