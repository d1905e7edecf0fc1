"""``FeatureStore``: the facade users hold. It loads the repo lazily and delegates every capability."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aquifer.config import Config, load_config
from aquifer.definitions import AggregationView, FeatureService, FeatureView

if TYPE_CHECKING:
    from aquifer.repo import LoadedRepo
    from aquifer.stores.online.interface import OnlineStore


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
        self.last_training_id: str | None = None
        """The id of the last training frame ``get_training_frame`` returned (None before; see ``record``)."""

    @cached_property
    def repo(self) -> LoadedRepo:
        """The loaded feature repo (definitions and load errors)."""
        from aquifer.repo import load_repo

        return load_repo(self.config.root)

    @property
    def views(self) -> dict[str, FeatureView | AggregationView]:
        """Feature and aggregation views by name."""
        return self.repo.views

    @property
    def services(self) -> dict[str, FeatureService]:
        """Feature services by name."""
        return self.repo.services

    @cached_property
    def analysis(self) -> Any:
        """Whole-graph analysis of the repo (``aquifer.analysis.Analysis``): order, lineage, fingerprints."""
        from aquifer.analysis import analyze

        return analyze(self.repo)

    @cached_property
    def registry(self) -> Any:
        """The registry (``aquifer.registry.Registry``) named by ``aquifer.yaml``."""
        from aquifer.registry import Registry

        return Registry(self.config.registry_url)

    @cached_property
    def catalog_hooks(self) -> Any:
        """The ``catalog.hooks`` of ``aquifer.yaml`` (``aquifer.catalog.Hooks``; empty when none): told of every
        apply and of every run this store starts."""
        from aquifer.catalog import build_hooks

        return build_hooks(self.config.catalog, root=self.config.root)

    def reload(self) -> None:
        """Forget the loaded repo and its analysis: the next use reads the feature repo's files again
        (``aquifer.yaml`` is not re-read)."""
        for name in ("repo", "analysis", "_catalog_describer"):
            self.__dict__.pop(name, None)

    def catalog_listeners(self) -> list[Any]:
        """Run listeners telling the catalog hooks of each view's run (none without hooks)."""
        from aquifer.sdk.catalog_hooks import listeners

        return listeners(self)

    # --- capabilities: each lives in its own module; the facade only forwards -------------------

    @cached_property
    def online_writer(self) -> OnlineStore:
        """One long-lived online-store connection pool for this store's writes (materialization)."""
        from aquifer.stores.online.interface import open_online_store

        return open_online_store(self.config.online_store, writer=True)

    def close(self) -> None:
        """Release the writer's connections and write what the serving log buffers (the registry and serving
        contexts close with the process)."""
        writer = self.__dict__.pop("online_writer", None)
        if writer is not None:
            writer.close()
        from aquifer.serving.context import flush_serving_log

        flush_serving_log(self)

    def plan(self) -> Any:
        """What ``apply`` would change, plus every definition error."""
        from aquifer.sdk.apply import plan

        return plan(self)

    def apply(self) -> Any:
        """Register the repo's definitions; refuses (changing nothing) when any definition error exists."""
        from aquifer.sdk.apply import apply

        return apply(self)

    def run(self, views: list[str] | None = None, *, end: Any = None, listeners: Sequence[object] = (),
            only: bool = False) -> Any:
        """Incremental batch run: compute only missing event-time ranges (plus the lateness lookback).

        Named ``views`` bring their upstream views up to date first, in dependency order; ``only=True`` runs
        them alone. ``listeners`` hear the run's events (``aquifer.runs``); one with ``check`` may veto a range.
        """
        from aquifer.runs.batch import run

        return run(self, views, end=end, listeners=[*listeners, *self.catalog_listeners()], only=only)

    def backfill(self, view: str, start: Any, end: Any, *, listeners: Sequence[object] = (),
                 cascade: bool = False) -> Any:
        """Forget and recompute ``[start, end)`` of one view (idempotent).

        Views downstream of it are backfilled too with ``cascade=True``; otherwise the range is forgotten from
        their ledgers (the next run recomputes it) and listed in the summary's ``invalidated``.
        """
        from aquifer.runs.batch import backfill

        return backfill(self, view, start, end, listeners=[*listeners, *self.catalog_listeners()], cascade=cascade)

    def materialize(self, views: list[str] | None = None, *, end: Any = None, full: bool = False,
                    engine: str | None = None, progress: bool = True, listeners: Sequence[object] = ()) -> Any:
        """Push each entity's latest value (within TTL) from the offline store to the online store.

        Incremental by default (only offline ranges not yet materialized); ``full=True`` redoes everything.
        ``engine``: ``auto`` | ``spark`` | ``duckdb`` (default: ``offline_engine`` in aquifer.yaml).
        Writes go through ``online_writer``, kept between calls.
        """
        from aquifer.runs.materialize import materialize

        return materialize(self, views, end=end, full=full, engine=engine, progress=progress,
                           listeners=[*listeners, *self.catalog_listeners()], online=self.online_writer)

    def statistics(self, view: str, start: Any = None, end: Any = None, *,
                   run_kinds: Sequence[str] = ("batch", "backfill")) -> dict[str, Any]:
        """Per feature, ``FeatureStatistics`` of the rows runs wrote in ``[start, end)`` (None: unbounded).

        Merged from the registry's stored sketches, each UTC day counted once from the newest run covering it
        (``aquifer.quality.statistics.merge_stored``); ``run_kinds=("materialize",)`` describes what was pushed
        online. Empty when nothing was recorded; ``KeyError`` for a view the repo does not define.
        """
        from aquifer.quality.statistics import merge_stored
        from aquifer.times import parse_time

        if view not in self.views:
            raise KeyError(f"no view {view!r} in the repo (views: {', '.join(sorted(self.views)) or 'none'})")
        lo = parse_time(start, "start") if start is not None else None
        hi = parse_time(end, "end") if end is not None else None
        rows = self.registry.statistics_between(self.config.project, view, lo, hi, run_kinds=tuple(run_kinds))
        return merge_stored(rows, lo, hi)

    def profile(self, view: str) -> dict[str, Any]:
        """Build the view's expectation suite from its statistics and store it as a new version when it changed
        (``aquifer profile``): ``{"version", "added", "statistics", "expectations", "suite"}``."""
        from aquifer.runs.quality import profile_view

        return profile_view(self, view)

    def validate(self, view: str, start: Any = None, end: Any = None) -> Any:
        """Run the view's suite over its offline rows in ``[start, end)`` (``aquifer validate``); the
        ``ValidationReport`` (``success``, ``failed``, ``message()``), also recorded in the registry."""
        from aquifer.runs.quality import validate_offline

        return validate_offline(self, view, start, end)

    def get_training_frame(
        self,
        labels: Any,
        features: Any,
        *,
        timestamp_col: str = "event_ts",
        as_spark: bool = False,
        engine: str | None = None,
        full_names: bool = False,
        fill_defaults: bool = False,
    ) -> Any:
        """Point-in-time correct training frame: every label row once, features as of its timestamp.

        Every frame returned is recorded for drift (``aquifer.training.record``): a training-frame id, kept in
        the registry with a sample of the feature values, is on the frame (pandas:
        ``frame.attrs["aquifer_training_id"]``) and in ``self.last_training_id`` (also for Spark frames).
        A frame that cannot be recorded is still returned (a warning is logged, ``last_training_id`` is None).
        """
        from aquifer.training import get_training_frame

        frame = get_training_frame(self, labels, features, timestamp_col=timestamp_col, as_spark=as_spark,
                                   engine=engine, full_names=full_names, fill_defaults=fill_defaults)
        self.last_training_id = self._record_training_frame(frame, features, full_names)
        return frame

    def _record_training_frame(self, frame: Any, features: Any, full_names: bool) -> str | None:
        import logging

        from aquifer.training.record import ATTR, record_training_frame

        try:
            recorded = record_training_frame(self, frame, features, full_names=full_names)
        except Exception as exc:  # the frame is the caller's; its record for drift must not cost it
            logging.getLogger("aquifer.training").warning("training frame not recorded for drift: %s", exc)
            return None
        if not hasattr(frame, "toPandas"):  # pandas (a Spark frame has no attrs: last_training_id only)
            frame.attrs[ATTR] = recorded.id
        return recorded.id

    def iter_training_batches(
        self,
        labels: Any,
        features: Any,
        *,
        batch_rows: int | None = None,
        engine: str | None = None,
        timestamp_col: str = "event_ts",
        full_names: bool = False,
        fill_defaults: bool = False,
    ) -> Iterator[Any]:
        """The training frame as ``pyarrow.RecordBatch``s of at most ``batch_rows`` rows, in label order.

        For frames larger than memory: the same rows, columns and values as ``get_training_frame``,
        streamed instead of collected (``aquifer.training.batches``; ``batch_rows`` defaults to its
        ``BATCH_ROWS``).
        """
        from aquifer.training.batches import BATCH_ROWS, iter_training_batches

        return iter_training_batches(
            self, labels, features, batch_rows=BATCH_ROWS if batch_rows is None else batch_rows, engine=engine,
            timestamp_col=timestamp_col, full_names=full_names, fill_defaults=fill_defaults,
        )

    def get_online_features(self, features: Any, entities: list[dict[str, Any]], *, full_names: bool = False) -> Any:
        """Latest values for many entities in one round trip, with a status per value."""
        from aquifer.serving.retrieval import get_online_features

        return get_online_features(self, features, entities, full_names=full_names)

    # --- what the repo defines (``aquifer.sdk.describe``) ------------------------------------------------

    def describe(self, name: str) -> Any:
        """A view, entity, source, service or ``"view:feature"`` described (``Description``; ``print`` it)."""
        from aquifer.sdk.describe import describe

        return describe(self, name)

    def list_views(self, *, owner: str | None = None, tag: Any = None, text: str | None = None) -> list[str]:
        """View names, filtered by ``owner``, ``tag`` (``"key"``, ``"key=value"``, a dict) and ``text``."""
        from aquifer.sdk.describe import list_views

        return list_views(self, owner=owner, tag=tag, text=text)

    def list_features(self, *, owner: str | None = None, tag: Any = None, text: str | None = None,
                      view: str | None = None) -> list[str]:
        """``"view:feature"`` refs, filtered like ``list_views`` (``text`` matches the feature)."""
        from aquifer.sdk.describe import list_features

        return list_features(self, owner=owner, tag=tag, text=text, view=view)

    def list_entities(self, *, owner: str | None = None, tag: Any = None, text: str | None = None) -> list[str]:
        """Entity names, filtered like ``list_views``."""
        from aquifer.sdk.describe import list_entities

        return list_entities(self, owner=owner, tag=tag, text=text)

    def list_services(self, *, owner: str | None = None, tag: Any = None, text: str | None = None) -> list[str]:
        """Feature service names, filtered like ``list_views``."""
        from aquifer.sdk.describe import list_services

        return list_services(self, owner=owner, tag=tag, text=text)

    # --- copies: a store is a handle; pickles reconnect lazily ----------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        """Only the path and settings travel: the repo, registry and connections are rebuilt on first use."""
        return {"path": self.path, "config": self.config, "last_training_id": self.last_training_id}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __deepcopy__(self, memo: dict[int, Any]) -> FeatureStore:
        """The same store: a deep copy (scikit-learn's ``clone``) shares the handle, as it would a connection."""
        return self

    def __repr__(self) -> str:
        return f"FeatureStore({str(self.config.root)!r}, project={self.config.project!r})"
