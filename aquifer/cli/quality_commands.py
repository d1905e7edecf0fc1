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
    repo: RepoOption = Path("."),
) -> None:
    """Per-feature statistics of the rows runs wrote in [start, end), merged from the stored sketches (each UTC
    day counted once, from its newest run): count, nulls, distinct (HLL), min, max, mean, stddev, p50/p95/p99
    (KLL), top values."""
    from aquifer.quality.statistics import merge_stored
    from aquifer.sdk.store import FeatureStore
    from aquifer.times import parse_time

    kinds = tuple(kind or ("batch", "backfill"))
    unknown = [k for k in kinds if k not in RUN_KINDS]
    if unknown:
        raise UsageProblem(f"--kind must be one of {', '.join(RUN_KINDS)}, got {unknown[0]!r}")
    try:
        lo = parse_time(start, "--start") if start is not None else None
        hi = parse_time(end, "--end") if end is not None else None
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
    if lo is not None and hi is not None and lo >= hi:
        raise UsageProblem(f"--start {start} is not before --end {end}")
    store = FeatureStore(repo)
    definition = store.views.get(view)
    if definition is None:
        raise UsageProblem(f"no view {view!r} in the repo (views: {', '.join(sorted(store.views)) or 'none'})")
    rows = store.registry.statistics_between(store.config.project, view, lo, hi, run_kinds=kinds)
    merged = merge_stored(rows, lo, hi)
    span = f"[{_when(lo, 'the beginning')}, {_when(hi, 'now')})"
    if not merged:
        raise CommandFailed(f"no statistics recorded for {view} in {span}")
    order = [f.name for f in definition.features]
    names = [n for n in order if n in merged] + [n for n in merged if n not in order]
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
