"""Feature quality commands: ``stats`` (per-feature statistics of what runs wrote, merged from the registry)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from aquifer.cli import app
from aquifer.cli.common import CommandFailed, RepoOption, UsageProblem, console, handled

RUN_KINDS = ("batch", "backfill", "materialize")


def _time_range(start: str | None, end: str | None) -> tuple[Any, Any]:
    """``--start``/``--end`` as UTC times (None when left out); a usage problem when unreadable or reversed."""
    from aquifer.times import parse_time

    try:
        lo = parse_time(start, "--start") if start is not None else None
        hi = parse_time(end, "--end") if end is not None else None
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
    if lo is not None and hi is not None and lo >= hi:
        raise UsageProblem(f"--start {start} is not before --end {end}")
    return lo, hi


def _number(value: Any, dtype: str) -> str:
    if value is None:
        return ""
    if dtype == "Timestamp" and isinstance(value, int | float):
        from aquifer.times import from_micros

        return from_micros(int(value)).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.6g}"


def _top(values: list[tuple[Any, int]] | None) -> str:
    if not values:
        return ""
    return ", ".join(f"{_number(v, '')} ({n:,})" for v, n in values[:5])


@app.command("stats")
@handled
def stats_command(
    view: Annotated[str, typer.Argument(help="The feature view (or aggregation view) to describe.")],
    start: Annotated[str | None, typer.Option(help="From this event time (ISO 8601; no offset = UTC).")] = None,
    end: Annotated[str | None, typer.Option(help="Before this event time (ISO 8601; no offset = UTC).")] = None,
    kind: Annotated[list[str] | None, typer.Option(
        help="Runs whose statistics count: batch and backfill (the offline store, default) or materialize "
             "(what was pushed online). Repeat for several.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summaries as JSON (feature -> statistics).")
                       ] = False,
    repo: RepoOption = Path("."),
) -> None:
    """Per-feature statistics of the rows runs wrote in [start, end), merged from the stored sketches (each UTC
    day counted once, from its newest run): count, nulls, distinct (HLL), min, max, mean, stddev, p50/p95/p99
    (KLL), top values."""
    from aquifer.sdk.store import FeatureStore

    kinds = tuple(kind or ("batch", "backfill"))
    unknown = [k for k in kinds if k not in RUN_KINDS]
    if unknown:
        raise UsageProblem(f"--kind must be one of {', '.join(RUN_KINDS)}, got {unknown[0]!r}")
    lo, hi = _time_range(start, end)
    store = FeatureStore(repo)
    definition = store.views.get(view)
    if definition is None:
        raise UsageProblem(f"no view {view!r} in the repo (views: {', '.join(sorted(store.views)) or 'none'})")
    merged = store.statistics(view, lo, hi, run_kinds=kinds)
    span = f"[{_when(lo, 'the beginning')}, {_when(hi, 'now')})"
    if not merged:
        raise CommandFailed(f"no statistics recorded for {view} in {span}")
    order = [f.name for f in definition.features]
    names = [n for n in order if n in merged] + [n for n in merged if n not in order]
    if as_json:
        import json

        typer.echo(json.dumps({n: merged[n].to_dict() for n in names}, indent=2))
        return
    console.print(f"[bold]{view}[/bold] {span}, from {', '.join(kinds)} runs")
    for name in names:
        console.print(_feature_table(merged[name]))


def _feature_table(s: Any) -> Table:
    """One feature's statistics, one per line (fits any terminal)."""
    table = Table("statistic", "value", title=f"{s.feature} ({s.dtype})", title_justify="left")
    q = s.quantiles
    shown = [
        ("count", f"{s.count:,}"), ("nulls", f"{s.nulls:,} ({s.null_fraction:.1%})"),
        ("distinct", "" if s.distinct is None else f"~{s.distinct:,.0f}"),
        ("min", _number(s.min, s.dtype)), ("max", _number(s.max, s.dtype)), ("mean", _number(s.mean, s.dtype)),
        ("stddev", _number(s.stddev, s.dtype)), ("p50", _number(q.get("0.5"), s.dtype)),
        ("p95", _number(q.get("0.95"), s.dtype)), ("p99", _number(q.get("0.99"), s.dtype)),
        ("top values", _top(s.top_values)),
    ]
    for label, value in shown:
        if value:
            table.add_row(label, value)
    return table


def _when(at: datetime | None, otherwise: str) -> str:
    return at.isoformat() if at is not None else otherwise


@app.command("profile")
@handled
def profile_command(
    view: Annotated[str, typer.Argument(help="The feature view (or aggregation view) to profile.")],
    repo: RepoOption = Path("."),
) -> None:
    """Build the view's expectation suite from its statistics (schema, not-null, ranges widened by the view's
    margin, allowed sets, mean/stddev/quartile bounds; declared expectations on top) and store it as a new
    suite version when it changed. Batch runs validate with the newest version."""
    from aquifer.runs.quality import profile_view
    from aquifer.sdk.store import FeatureStore

    store = FeatureStore(repo)
    if view not in store.views:
        raise UsageProblem(f"no view {view!r} in the repo (views: {', '.join(sorted(store.views)) or 'none'})")
    done = profile_view(store, view)
    expectations = done["expectations"]
    table = Table("expectation", "source", "parameters", title=f"suite of {view} (from {done['statistics']})",
                  title_justify="left")
    for ce in expectations:
        params = ", ".join(f"{k}={v!r}" for k, v in ce.expectation.params().items() if v is not None)
        table.add_row(ce.name, ce.source, params)
    console.print(table)
    counts = {s: sum(ce.source == s for ce in expectations) for s in ("schema", "profiled", "declared")}
    what = ", ".join(f"{n} {s}" for s, n in counts.items())
    if done["added"]:
        console.print(f"suite version {done['version']} stored: {len(expectations)} expectations ({what})")
    else:
        console.print(f"suite unchanged: still version {done['version']} ({len(expectations)} expectations)")


@app.command("validate")
@handled
def validate_command(
    view: Annotated[str, typer.Argument(help="The feature view (or aggregation view) to validate.")],
    start: Annotated[str | None, typer.Option(help="From this event time (ISO 8601; no offset = UTC).")] = None,
    end: Annotated[str | None, typer.Option(help="Before this event time (ISO 8601; no offset = UTC).")] = None,
    repo: RepoOption = Path("."),
) -> None:
    """Run the view's suite over its rows in the offline store, in [start, end): exit 0 when every expectation
    passes, 1 naming each failed one with a few sample values, 2 for an unknown view or a bad time."""
    from aquifer.runs.quality import alert_report, default_gate, validate_offline
    from aquifer.sdk.store import FeatureStore

    store = FeatureStore(repo)
    if view not in store.views:
        raise UsageProblem(f"no view {view!r} in the repo (views: {', '.join(sorted(store.views)) or 'none'})")
    lo, hi = _time_range(start, end)
    report = validate_offline(store, view, lo, hi)
    span = f"[{_when(report.start, 'the beginning')}, {_when(report.end, 'now')})"
    version = f"suite version {report.suite_version}" if report.suite_version else "declared expectations"
    console.print(f"[bold]{view}[/bold] {span}: {report.rows:,} rows, {len(report.results)} expectations "
                  f"({version})", highlight=False)
    for note in report.notes:
        console.print(f"note: {note}", highlight=False, markup=False)
    if report.results:
        table = Table("expectation", "result", "failing", "observed / samples", title_justify="left")
        for r in report.results:
            failing = "" if r.unexpected is None else f"{r.unexpected:,} of {r.checked:,}"
            shown = r.note or (", ".join(repr(v) for v in r.to_dict()["samples"]) if r.samples
                               else "" if r.observed is None else repr(r.to_dict()["observed"]))
            table.add_row(r.name, "[green]pass[/]" if r.success else "[red]FAIL[/]", failing, shown)
        console.print(table)
        alert_report(default_gate(store.registry), store.config.project, report)
    if not report.success:
        raise CommandFailed("\n".join([f"{len(report.failed)} expectation(s) failed:",
                                       *(f"  {r.describe()}" for r in report.failed)]))
