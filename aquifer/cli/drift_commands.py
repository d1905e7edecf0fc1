"""``aquifer drift VIEW [--training ID] [--since T]``: the view's serving log against a training frame, per feature.

Prints PSI and KS (numeric) or PSI and chi-square (categorical) per feature, stores the results in the
registry and alerts on changes of breach state (``aquifer.serving.drift``). Exit 0 when no feature drifted,
1 when one did, 2 on misuse (unknown view, no training frame, no serving log).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from aquifer.cli import app
from aquifer.cli.common import RepoOption, UsageProblem, console, handled


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    return f"{value:.2e}" if value != 0 and abs(value) < 10 ** -digits else f"{value:.{digits}f}"


@app.command("drift")
@handled
def drift_command(
    view: Annotated[str, typer.Argument(help="The feature view whose served values to compare.")],
    training: Annotated[str | None, typer.Option("--training", help="Training frame id (default: the newest "
                                                  "frame holding the view's features).")] = None,
    since: Annotated[str | None, typer.Option(help="Only values served from this time (ISO 8601; no offset = "
                                               "UTC); default: the whole serving log.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    repo: RepoOption = Path("."),
) -> None:
    """Compare what VIEW served (the serving log) with what a model was trained on; exit 1 when a feature drifted."""
    from aquifer.sdk.store import FeatureStore
    from aquifer.serving.drift import DriftProblem, check_drift, store_gate
    from aquifer.times import parse_time

    try:
        since_at = None if since is None else parse_time(since, "--since")
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
    store = FeatureStore(repo)
    try:
        report = check_drift(store, view, training_id=training, since=since_at, gate=store_gate(store))
    except DriftProblem as exc:
        raise UsageProblem(str(exc)) from None
    if as_json:
        print(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        table = Table("feature", "kind", "train n", "serve n", "psi", "ks D", "ks p", "chi2", "chi2 p", "drift",
                      title=f"drift of {view} vs training frame {report.training_id}")
        for r in report.results:
            table.add_row(r.feature, r.kind, str(r.training_count), str(r.serving_count), _fmt(r.psi),
                          _fmt(r.ks_statistic), _fmt(r.ks_pvalue), _fmt(r.chi2, 2), _fmt(r.chi2_pvalue),
                          "[red]BREACH[/red]" if r.breached else "ok")
        console.print(table)
        for r in report.results:
            for line in (*r.reasons, *r.notes):
                console.print(f"  {r.feature}: {line}", highlight=False, markup=False)
            if r.unseen:
                shown = ", ".join(f"{k} ({v})" for k, v in list(r.unseen.items())[:5])
                console.print(f"  {r.feature}: unseen categories: {shown}", highlight=False, markup=False)
        for feature, why in report.skipped.items():
            console.print(f"  {feature}: skipped, {why}", highlight=False, markup=False)
    if report.breached:
        raise typer.Exit(1)
