"""Batch commands: ``run`` (incremental), ``backfill`` (recompute a range), ``runs`` (history table)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from aquifer.cli import app
from aquifer.cli.common import CommandFailed, RepoOption, console, handled

if TYPE_CHECKING:
    from aquifer.runs.progress import RichProgress


@contextmanager
def _progress_bar() -> Iterator[RichProgress]:
    """A transient progress bar listening to one run."""
    from aquifer.runs.progress import RichProgress

    progress = RichProgress.start(console=console, transient=True)
    try:
        yield progress
    finally:
        progress.stop()


def _print_plan(plan: Any) -> None:
    for line in plan.describe() or ["nothing to run"]:
        console.print(line, highlight=False, markup=False)


def _report(summary: Any) -> None:
    table = Table(title="batch run")
    for column in ("view", "status", "ranges", "rows in", "rows out", "seconds"):
        table.add_column(column, justify="right" if column.startswith(("rows", "sec")) else "left")
    colours = {"succeeded": "green", "up_to_date": "dim", "failed": "red", "skipped": "yellow"}
    for v in summary:
        ranges = ", ".join(f"{r.start:%Y-%m-%d}..{r.end:%Y-%m-%d}" for r in v.ranges) or "-"
        table.add_row(v.view, f"[{colours.get(v.status, 'white')}]{v.status}[/]", ranges, f"{v.rows_in:,}",
                      f"{v.rows_out:,}", f"{v.duration_s:.1f}")
    console.print(table)
    failed = summary.failed
    if failed:
        raise CommandFailed("; ".join(v.error or f"view {v.view!r} {v.status}" for v in failed))


@app.command("run")
@handled
def run_command(
    views: Annotated[list[str] | None, typer.Argument(help="Views to run (default: all).")] = None,
    end: Annotated[str | None, typer.Option(help="Compute up to this time (ISO 8601; default: now).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the steps it would run; run nothing.")] = False,
    only: Annotated[bool, typer.Option("--only", help="Run the named views alone, not their upstream views.")
                    ] = False,
    repo: RepoOption = Path("."),
) -> None:
    """Incremental batch run: compute only missing time ranges (plus the lateness lookback).

    Named views bring their upstream views up to date first, in dependency order (``--only``: not).
    """
    from aquifer.runs.batch import plan_batch, run
    from aquifer.sdk.store import FeatureStore

    store = FeatureStore(repo)
    if dry_run:
        _print_plan(plan_batch(store, views or None, end=end, only=only))
        return
    with _progress_bar() as progress:
        summary = run(store, views or None, end=end, listeners=[progress, *store.catalog_listeners()], only=only)
    _report(summary)


@app.command("backfill")
@handled
def backfill_command(
    view: Annotated[str, typer.Argument(help="The view to recompute.")],
    start: Annotated[str, typer.Option(help="Range start (ISO 8601; UTC when no offset).")],
    end: Annotated[str, typer.Option(help="Range end, exclusive (ISO 8601).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the steps it would run; run nothing.")] = False,
    cascade: Annotated[bool, typer.Option("--cascade", help="Also recompute every view downstream of it.")
                       ] = False,
    repo: RepoOption = Path("."),
) -> None:
    """Recompute [start, end) of one view, idempotently (widened to whole UTC days).

    Views downstream of it are named as invalidated (the next run recomputes the range), or recomputed
    right away with ``--cascade``.
    """
    from aquifer.runs.batch import backfill, downstream_views, plan_backfill
    from aquifer.sdk.store import FeatureStore

    store = FeatureStore(repo)
    if dry_run:
        plan = plan_backfill(store, view, start, end, cascade=cascade)
        _print_plan(plan)
        downstream = [] if cascade or plan.views[0].forget is None else downstream_views(store, view)
        if downstream:
            console.print(f"would invalidate downstream: {', '.join(v.name for v in downstream)}", highlight=False,
                          markup=False)
        return
    with _progress_bar() as progress:
        summary = backfill(store, view, start, end, listeners=[progress, *store.catalog_listeners()],
                           cascade=cascade)
    for name, _, _, why in summary.widened:
        console.print(f"{name}: backfill {why}", highlight=False, markup=False)
    for name, s, e in summary.invalidated:
        console.print(f"invalidated downstream: {name} {s:%Y-%m-%d %H:%M} → {e:%Y-%m-%d %H:%M} (the next run "
                      "recomputes it; --cascade recomputes now)", highlight=False, markup=False)
    _report(summary)


@app.command("runs")
@handled
def runs_command(
    view: Annotated[str | None, typer.Option(help="Only this view's runs.")] = None,
    limit: Annotated[int, typer.Option(help="How many runs to show (newest first).")] = 20,
    repo: RepoOption = Path("."),
) -> None:
    """Recent batch runs: view, range, rows, duration, status, error."""
    from aquifer.sdk.store import FeatureStore

    store = FeatureStore(repo)
    table = Table(title=f"runs of {store.config.project}")
    for column in ("id", "view", "kind", "range", "status", "rows in", "rows out", "seconds", "error"):
        table.add_column(column)
    for r in store.registry.runs(store.config.project, view=view, limit=limit):
        span = f"{r.start:%Y-%m-%d %H:%M}..{r.end:%Y-%m-%d %H:%M}" if r.start and r.end else "-"
        table.add_row(str(r.id), r.view, r.kind, span, r.status, _n(r.rows_in), _n(r.rows_out),
                      "-" if r.duration_s is None else f"{r.duration_s:.1f}", r.error or "")
    console.print(table)


def _n(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"
