"""``FeatureStore``: the facade users hold. It loads the repo lazily and delegates every capability."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aquifer.config import Config, load_config
from aquifer.definitions import AggregationView, FeatureService, FeatureView

if TYPE_CHECKING:
    from aquifer.repo import LoadedRepo


class RepoError(ValueError):
    """The feature repo has definition errors; the message lists every one of them."""


class FeatureStore:
    """Entry point of the SDK: ``FeatureStore("path/to/repo")``.

    Nothing heavy happens at construction: the repo is imported on first use, Spark starts only when
    a Spark capability is used, Redis is connected only for online reads and writes.
    """

    def __init__(self, repo_path: str | Path = ".", config: Config | None = None):
        self.path = Path(repo_path)
        self.config = config or load_config(self.path)

    @cached_property
    def repo(self) -> LoadedRepo:
        """The loaded feature repo (definitions and load errors)."""
        from aquifer.repo import load_repo

        return load_repo(self.config.root)

    @property
    def views(self) -> dict[str, FeatureView | AggregationView]:
        """Feature and aggregation views by name."""
        return {d.name: d for d in self.repo.definitions if isinstance(d, FeatureView | AggregationView)}

    @property
    def services(self) -> dict[str, FeatureService]:
        """Feature services by name."""
        return {d.name: d for d in self.repo.definitions if isinstance(d, FeatureService)}

    def __repr__(self) -> str:
        return f"FeatureStore({str(self.config.root)!r}, project={self.config.project!r})"

    def _delegate(self, module: str, function: str, *args: Any, **kwargs: Any) -> Any:
        import importlib

        return getattr(importlib.import_module(module), function)(self, *args, **kwargs)
