"""``plan`` and ``apply``: turn the loaded, analysed repo into a registry snapshot and diff or write it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aquifer.definitions import FeatureService
from aquifer.definitions.spec import to_spec

if TYPE_CHECKING:
    from aquifer.registry.schemas.v1 import ApplyResult, Diff
    from aquifer.registry.snapshot import Snapshot
    from aquifer.sdk.store import FeatureStore


class DefinitionErrors(ValueError):
    """``apply`` was refused because the repo has definition errors (all of them are listed)."""

    def __init__(self, problems: list[Any]):
        self.problems = problems
        listed = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{len(problems)} definition error(s); nothing was applied:\n{listed}")


@dataclass(frozen=True)
class PlanResult:
    """What ``apply`` would change (``diff``) and every definition error found (``problems``)."""

    diff: Diff
    problems: list[Any]
    warnings: list[Any] = ()  # type: ignore[assignment]

    @property
    def ok(self) -> bool:
        """True when there are no definition errors."""
        return not self.problems


def relative_location(location: str | None, root: Path) -> str | None:
    """``/abs/repo/features/x.py:12`` → ``features/x.py:12`` (the registry stores repo-relative places)."""
    if not location:
        return location
    prefix = str(root) + "/"
    return location[len(prefix):] if location.startswith(prefix) else location


def snapshot(store: FeatureStore) -> Snapshot:
    """Every definition with its fingerprints, spec and place, plus the dependency and column graphs."""
    from aquifer.registry.snapshot import Entry, Snapshot

    analysis = store.analysis
    root = store.config.root
    entries, edges = [], []
    kinds = {d.name: d.kind for d in store.repo.definitions if not isinstance(d, FeatureService)}
    for d in store.repo.definitions:
        fp = analysis.fingerprints[(d.kind, d.name)]
        spec = to_spec(d)
        spec["location"] = relative_location(spec["location"], root)
        entries.append(Entry(d.kind, d.name, fp.data, fp.meta, spec, spec["location"]))
        if isinstance(d, FeatureService):
            edges.extend((kinds.get(p.name, "feature_view"), p.name, d.kind, d.name) for p in d.features)
        for entity in getattr(d, "entities", ()):
            edges.append(("entity", entity.name, d.kind, d.name))
    for view, upstreams in analysis.upstreams.items():
        for upstream in upstreams:
            if upstream in kinds and view in kinds:
                edges.append((kinds[upstream], upstream, kinds[view], view))
    column_edges = sorted({(e.from_node, e.from_column, e.to_node, e.to_column) for e in analysis.column_edges})
    return Snapshot(entries=entries, edges=sorted(set(edges)), column_edges=column_edges)


def plan(store: FeatureStore) -> PlanResult:
    """Diff the repo against the registry and collect every definition error; writes nothing."""
    problems, warnings = list(store.analysis.errors), list(store.analysis.warnings)
    if problems:
        from aquifer.registry.schemas.v1 import Diff

        try:
            diff = store.registry.plan(store.config.project, snapshot(store))
        except Exception:  # a broken repo may not even fingerprint; the problems say why
            diff = Diff(project=store.config.project, base_version=store.registry.project_version(store.config.project))
        return PlanResult(diff, problems, warnings)
    return PlanResult(store.registry.plan(store.config.project, snapshot(store)), [], warnings)


def apply(store: FeatureStore) -> ApplyResult:
    """Write the repo's definitions to the registry in one transaction; refuses on any definition error."""
    problems = list(store.analysis.errors)
    if problems:
        raise DefinitionErrors(problems)
    result = store.registry.apply(store.config.project, snapshot(store), applied_by=applier())
    from aquifer.sdk.catalog_hooks import notify_apply

    notify_apply(store, result)  # hooks contain their failures: the apply stands whatever they answer
    return result


def applier() -> str:
    """``user@host`` of this process (login name as ``getpass.getuser`` finds it): who the registry records."""
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name at all (a container user without a passwd entry)
        user = "unknown"
    return f"{user}@{socket.gethostname()}"
