"""Quality in runs: every computed range is validated before it is written, with the view's policy.

``QualityListener.check`` sees each ``RangeComputed``: it validates the rows about to be written (the
engine's cached frame, restricted to what the write keeps: set join keys, ``start <= event_ts < end``) with
the view's suite — the newest stored one (``aquifer profile``) with today's schema and declared expectations
on top, else the declared expectations alone; a view with neither is not checked. Row-level and schema
expectations run inside Spark (``engines/spark/validation``); aggregate ones through GX on a bounded sample.
Then, by ``Quality(policy=...)``:

- ``warn``: the range is written; the result is recorded and alerted. Nothing found changes the write, so the
  tasks that write the rows count the row checks and draw GX's sample as they write (``_in_the_write``,
  ``aquifer.quality.written_checks``): the rows judged are exactly the rows written.
- ``quarantine``: rows failing a row-level expectation are written to the quarantine area
  (``<offline root>/_quarantine/<project>/<view>/event_date=.../``, with ``failed_expectations``, replaced per
  range so a rerun leaves no stale rows), the others to the view; recorded, alerted. Failures that blame no
  row (an aggregate bound, a missing column) are recorded and alerted as with ``warn``.
- ``block``: the range is vetoed: nothing is written, the ledger does not move, the run fails naming the
  failed expectations.

Results go to the registry (``add_validation_result``); alerts go through the run's sinks. ``validate_offline``
and ``profile_view`` are the on-demand halves (``aquifer validate``, ``aquifer profile``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from aquifer.alerts import AlertGate, AlertSink, LogSink, RegistryAlertStates, RegistrySink
from aquifer.definitions import FeatureView
from aquifer.quality.expectations import ColumnExpectation, effective, from_suite_dict, quality_of
from aquifer.quality.validation import ValidationReport
from aquifer.runs.alerting import AlertListener, alert_validation
from aquifer.runs.events import RangeComputed

log = logging.getLogger("aquifer.quality")

QUARANTINE = "_quarantine"
QUALITY = "quality"
"""The name of the validation's observer among a write's observers."""
NO_ROWS = "no rows: aggregate expectations (mean, stddev, quantiles) not checked"


def quarantine_root(offline_root: str | Path) -> Path:
    """Where quarantined rows live: ``<offline root>/_quarantine`` (then ``<project>/<view>/event_date=...``)."""
    return Path(offline_root) / QUARANTINE


def stored_suite(registry: Any, project: str, view: str) -> tuple[list[ColumnExpectation] | None, int | None,
                                                                   list[str]]:
    """``(expectations, version, notes)`` of the view's newest stored suite (``(None, None, [])`` without one)."""
    latest = getattr(registry, "latest_suite", None)
    record = latest(project, view) if latest is not None else None
    if record is None:
        return None, None, []
    expectations, notes = from_suite_dict(record.suite)
    return expectations, record.version, notes


def suite_for(registry: Any, project: str, view: Any) -> tuple[list[ColumnExpectation], int | None, list[str]]:
    """What a run checks for ``view`` (see the module docstring), its stored version and notes."""
    stored, version, notes = stored_suite(registry, project, view.name)
    return effective(view, stored), version, notes


def default_gate(registry: Any, listeners: Iterable[object] = (), sinks: Sequence[AlertSink] | None = None
                 ) -> AlertGate:
    """The run's alert gate: its ``AlertListener``'s when it has one, else one over ``sinks`` (default: the log
    and the registry) remembering states in the registry, so a failure repeated run after run alerts once."""
    for listener in listeners:
        if isinstance(listener, AlertListener) and sinks is None:
            return listener.gate
    states = RegistryAlertStates(registry) if hasattr(registry, "alert_state") else None
    return AlertGate(list(sinks) if sinks is not None else [LogSink(), RegistrySink(registry)], states)


class QualityListener:
    """Validates each computed range before it is written and applies the view's policy (a ``RangeCheck``)."""

    def __init__(self, store: Any, listeners: Iterable[object] = (), sinks: Sequence[AlertSink] | None = None):
        self.store = store
        self.registry, self.project = store.registry, store.config.project
        self.gate = default_gate(self.registry, listeners, sinks)
        self._suites: dict[str, tuple[list[ColumnExpectation], int | None, list[str]]] = {}
        self.reports: list[ValidationReport] = []

    def _suite(self, view: Any) -> tuple[list[ColumnExpectation], int | None, list[str]]:
        if view.name not in self._suites:
            self._suites[view.name] = suite_for(self.registry, self.project, view)
        return self._suites[view.name]

    def row_checks(self, view: Any) -> list[ColumnExpectation]:
        """``view``'s suite, for the engine to count its row-level expectations while it computes a range (it
        answers the schema ones from the rows' columns and leaves the aggregate ones), when the policy needs
        the verdict before the write (``quarantine``, ``block``). Under ``warn`` the tasks that write the range
        count them instead (``check``): no pass of their own."""
        if quality_of(view).policy == "warn":
            return []
        return list(self._suite(view)[0])

    def check(self, event: RangeComputed) -> str | None:
        """Validate ``event``'s rows; a reason to refuse the range under ``block``, else None."""
        computed = event.computed
        view = getattr(computed, "view", None)
        frame = getattr(computed, "frame", None)
        if view is None or frame is None or not hasattr(frame, "sparkSession"):
            return None  # only Spark frames are checked here
        expectations, version, notes = self._suite(view)
        notes = list(notes)
        if not expectations:
            return None
        quality = quality_of(view)
        if quality.policy == "warn":  # nothing it finds changes the write: validate in it, else beside it
            if not self._in_the_write(computed, expectations, event, version, notes):
                self._beside_the_write(computed, expectations, event, version, notes)
            return None
        return self._apply(computed, expectations, event, version, notes)

    def _in_the_write(self, computed: Any, expectations: list[ColumnExpectation], event: RangeComputed,
                      version: int | None, notes: list[str]) -> bool:
        """Under ``warn``, have the tasks that write the range count its row checks and draw the sample for the
        aggregate expectations (``quality.written_checks``); the results are judged, recorded and alerted once
        the write is done, before the range's cached rows are released. False when the engine cannot."""
        from aquifer.engines.spark.validation import prepare_checks, write_checks
        from aquifer.quality.written_checks import WrittenChecks
        from aquifer.stores.offline.layout import EVENT_TS

        if not hasattr(computed, "observe_write"):
            return False
        dtypes = dict(computed.frame.dtypes)
        prepared = prepare_checks(dtypes, expectations)
        how = write_checks(prepared, dtypes)
        limit = quality_of(computed.view).sample_rows
        sampled = sorted({ce.column for ce in expectations if not ce.row_level and ce.column in dtypes})
        if getattr(computed, "counted", True) or not isinstance(computed.view, FeatureView):
            stats = computed.stats
            candidates = int(stats["total"] or 0) - int(stats["null_keys"] or 0) - int(stats["outside"] or 0)
        else:  # computed in the write's own pass, counted as it writes: the rows read stand in for the rows
            candidates = computed.rows_in  # written; a view that writes far fewer gets its sample drawn apart
            # (an AggregationView's rows are counted first instead: their number is nothing like the events')
        fraction = min(1.0, 1.2 * limit / candidates) if candidates and sampled else 0.0
        computed.observe_write(QUALITY, partial(WrittenChecks, how.bits, how.flags, sampled, fraction,
                                                time_column=EVENT_TS, arrow=how.arrow), how.masks)
        release = computed.release

        def validate_then_release() -> None:
            try:
                written = computed.observed.get(QUALITY)
                if written is not None:  # else the write failed: nothing to judge
                    self._apply(computed, expectations, event, version, notes, (prepared, how.flags, written))
            finally:
                release()

        computed.release = validate_then_release
        return True

    def _beside_the_write(self, computed: Any, expectations: list[ColumnExpectation], event: RangeComputed,
                          version: int | None, notes: list[str]) -> None:
        """Under ``warn``, when the engine cannot validate in its write: validate in a thread while it writes;
        the range's cached rows are released only once the validation (recorded and alerted) is done, and its
        error, if any, fails the range then."""
        from concurrent.futures import ThreadPoolExecutor

        from pyspark.util import inheritable_thread_target

        pool = ThreadPoolExecutor(1, thread_name_prefix="aquifer-validation")
        target = inheritable_thread_target(computed.frame.sparkSession)(self._apply)
        validating = pool.submit(target, computed, expectations, event, version, notes)
        pool.shutdown(wait=False)
        release = computed.release

        def release_after_validation() -> None:
            try:
                validating.result()
            finally:
                release()

        computed.release = release_after_validation

    def _apply(self, computed: Any, expectations: list[ColumnExpectation], event: RangeComputed,
               version: int | None, notes: list[str], written: Any = None) -> str | None:
        """Validate, apply the policy (quarantine or block), record and alert; the veto reason under block.
        ``written``: ``(PreparedChecks, flags, Written)`` when the writing tasks counted the checks."""
        quality = quality_of(computed.view)
        report = self._validate(computed, expectations, event, written)
        report.suite_version, report.notes, report.kind = version, [*notes, *report.notes], event.kind
        # rows are set aside for the row-level expectations that failed (a passing ``mostly`` tolerates its rows)
        blamed = {r.name for r in report.failed if r.unexpected}
        if quality.policy == "quarantine" and (blamed or self._has_quarantine(computed.view.name)):
            self._quarantine(computed, [ce for ce in expectations if ce.name in blamed], report)
        if not report.success:
            report.action = "blocked" if quality.policy == "block" else (
                "quarantined" if report.quarantined else "allowed")
        self._record(report)
        self._alert(report)
        if not report.success and quality.policy == "block":
            return f"quality check failed ({report.message()})"
        return None

    def _validate(self, computed: Any, expectations: list[ColumnExpectation], event: RangeComputed,
                  written: Any = None) -> ValidationReport:
        from aquifer.engines.spark import rows as spark_rows
        from aquifer.engines.spark.validation import check_rows, finish_checks, sample_rows, written_counts
        from aquifer.quality.suites import validate_aggregates
        from aquifer.quality.written_checks import merge_written

        view = computed.view
        quality = quality_of(view)
        scope = spark_rows.in_range(spark_rows.drop_null_keys(computed.frame, list(view.join_keys)),
                                    event.start, event.end)
        checked = getattr(computed, "checked", None)  # counted by the engine while it computed the range
        seen = None
        if written is not None and written[2].observed is not None:  # counted by the tasks that wrote the rows
            prepared, flags, parts = written
            seen = merge_written(parts.observed, flags, quality.sample_rows)
            results, rows = finish_checks(prepared, written_counts(prepared, seen.rows, seen.counts), scope)
        elif checked is not None and checked[0].expectations == tuple(expectations):
            results, rows = finish_checks(checked[0], checked[1], scope)
        else:
            if written is not None:
                log.warning("view %s: row checks counted apart from the write: %s", view.name, written[2].problem)
            results, rows = check_rows(scope, expectations)
        report = ValidationReport(view.name, quality.policy, rows, results, event.start, event.end)
        aggregates = [ce for ce in expectations if not ce.row_level]
        if aggregates and not rows:
            report.notes.append(NO_ROWS)
        elif aggregates:
            columns = sorted({ce.column for ce in aggregates})
            sample = seen.sample if seen is not None else None
            if sample is not None and len(sample) < min(rows, quality.sample_rows):
                log.info("view %s: the write drew %d rows for the sample, short of %d (fewer rows than read): "
                         "drawn apart", view.name, len(sample), min(rows, quality.sample_rows))
                sample = None
            if sample is None:
                sample = sample_rows(scope, columns, rows, quality.sample_rows)
            report.results += validate_aggregates(sample, aggregates)
            report.sampled_rows = len(sample)
        return report

    def _has_quarantine(self, view: str) -> bool:
        from aquifer.stores.offline.layout import view_path

        return view_path(quarantine_root(self.store.config.offline_path), self.project, view).exists()

    def _quarantine(self, computed: Any, expectations: list[ColumnExpectation], report: ValidationReport) -> None:
        """Write the failing rows to the quarantine area and hand the write only the good ones."""
        from pyspark.sql import functions as F

        from aquifer.engines.spark import rows as spark_rows
        from aquifer.engines.spark.validation import split_rows
        from aquifer.stores.offline.layout import EVENT_TS, view_path
        from aquifer.stores.offline.writer import write_range

        view, start, end = computed.view, computed.start, computed.end
        keys = list(view.join_keys)
        scope = ~spark_rows.null_key_flag(keys) & (F.col(EVENT_TS) >= F.lit(start)) & (F.col(EVENT_TS) < F.lit(end))
        original = computed.frame
        good, bad = split_rows(original, expectations, scope)
        root = quarantine_root(self.store.config.offline_path)
        report.quarantined = write_range(bad, root, self.project, view.name, start, end).rows
        report.quarantine_path = str(view_path(root, self.project, view.name))
        if report.quarantined:
            computed.frame = good
            computed.release = original.unpersist  # the cached rows are still the original frame's
            stats = computed.stats
            computed.stats = {"total": int(stats["total"] or 0) - report.quarantined,
                              "null_keys": stats["null_keys"], "outside": stats["outside"]}
            computed.details["quarantined"] = report.quarantined

    def _record(self, report: ValidationReport) -> None:
        self.reports.append(report)
        self.registry.add_validation_result(self.project, report.view, report.success, report.to_dict())

    def _alert(self, report: ValidationReport) -> None:
        alert_report(self.gate, self.project, report)


def alert_report(gate: AlertGate, project: str, report: ValidationReport) -> None:
    """Route a validation through the gate: the first failure alerts (``error`` when blocked, else ``warning``),
    repeats stay quiet, the first pass after failures sends the recovery."""
    details = {"policy": report.policy, "action": report.action, "failed": [r.name for r in report.failed],
               "start": report.start.isoformat() if report.start else None,
               "end": report.end.isoformat() if report.end else None, "quarantined": report.quarantined}
    alert_validation(gate, project, report.view, report.success, report.message(), details,
                     severity="error" if report.policy == "block" else "warning")


def _parse(value: Any, name: str) -> datetime | None:
    from aquifer.planning import parse_time

    if value is None:
        return None
    try:
        return parse_time(value)
    except Exception as exc:
        raise ValueError(f"--{name}: {exc}") from None


def validate_offline(store: Any, view_name: str, start: Any = None, end: Any = None, *, record: bool = True
                     ) -> ValidationReport:
    """Run the view's suite over its offline rows in ``[start, end)`` (DuckDB over the Parquet files).

    ``KeyError`` for an unknown view; ``ValueError`` for a bad time. Without a stored suite or declared
    expectations the report holds no results and a note saying so.
    """
    from aquifer.engines.duckdb.validation import check_files, sample_files
    from aquifer.quality.suites import validate_aggregates
    from aquifer.stores.offline.reader import view_files

    views = store.views
    if view_name not in views:
        raise KeyError(f"unknown view {view_name!r} (known: {', '.join(sorted(views)) or 'none'})")
    s, e = _parse(start, "start"), _parse(end, "end")
    if s is not None and e is not None and e <= s:
        raise ValueError(f"--end {e.isoformat()} is not after --start {s.isoformat()}")
    view = views[view_name]
    quality = quality_of(view)
    expectations, version, notes = suite_for(store.registry, store.config.project, view)
    report = ValidationReport(view_name, quality.policy, 0, [], s, e, kind="on_demand", suite_version=version,
                              notes=list(notes))
    if not expectations:
        report.notes.append("no suite and no declared expectations: nothing to check ('aquifer profile' builds one)")
        return report
    files = view_files(store.config.offline_path, store.config.project, view_name, s, e)
    if not files:
        report.notes.append("no rows in the offline store for this range")
        return report
    report.results, report.rows = check_files(files, expectations, s, e)
    aggregates = [ce for ce in expectations if not ce.row_level]
    if aggregates and not report.rows:
        report.notes.append(NO_ROWS)
    elif aggregates:
        sample = sample_files(files, sorted({ce.column for ce in aggregates}), s, e, quality.sample_rows)
        report.results += validate_aggregates(sample, aggregates)
        report.sampled_rows = len(sample)
    if record:
        store.registry.add_validation_result(store.config.project, view_name, report.success, report.to_dict())
    return report


PROFILE_SAMPLE_ROWS = 1_000_000


def profile_view(store: Any, view_name: str) -> dict[str, Any]:
    """Statistics → suite → a new suite version when it changed; what happened, as a dict.

    Statistics come from the registry (what batch runs and backfills measured, merged over every day they
    wrote); a view without stored statistics is profiled
    from a sample of at most ``PROFILE_SAMPLE_ROWS`` offline rows.
    """
    from aquifer.quality.expectations import profile_suite, statistics_from_stored
    from aquifer.quality.suites import build_suite, suite_json, suite_name

    views = store.views
    if view_name not in views:
        raise KeyError(f"unknown view {view_name!r} (known: {', '.join(sorted(views)) or 'none'})")
    view = views[view_name]
    project = store.config.project
    between = getattr(store.registry, "statistics_between", None)
    if between is not None:  # every day written, each counted once (its newest run)
        from aquifer.quality.statistics import merge_stored

        stats = merge_stored(between(project, view_name, None, None))
    else:
        stats = statistics_from_stored(store.registry.statistics(project, view_name))
    source = "registry statistics"
    if not stats:
        stats, rows = _sampled_statistics(store, view)
        source = f"a sample of {rows:,} offline rows" if rows else "no rows (schema only)"
    expectations = profile_suite(view, stats)
    quality = quality_of(view)
    suite = build_suite(suite_name(project, view_name), expectations,
                        {"view": view_name, "policy": quality.policy, "margin": quality.margin,
                         "statistics": source})
    record, added = store.registry.save_suite(project, view_name, suite_json(suite))
    return {"view": view_name, "version": record.version, "added": added, "statistics": source,
            "expectations": expectations, "suite": record.suite}


def _sampled_statistics(store: Any, view: Any) -> tuple[dict[str, Any], int]:
    from aquifer.engines.duckdb.validation import sample_files
    from aquifer.quality.profiling import frame_statistics
    from aquifer.stores.offline.reader import view_files

    files = view_files(store.config.offline_path, store.config.project, view.name)
    if not files:
        return {}, 0
    frame = sample_files(files, [f.name for f in view.features], None, None, PROFILE_SAMPLE_ROWS)
    return frame_statistics(frame, view.features), len(frame)
