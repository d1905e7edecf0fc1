"""Training command: ``train-frame`` writes a point-in-time correct training frame for a labels file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aquifer.cli import app
from aquifer.cli.common import CommandFailed, RepoOption, UsageProblem, console, handled


@app.command("train-frame")
@handled
def train_frame_command(
    labels: Annotated[Path, typer.Argument(
        help="Labels file (Parquet, CSV or JSON lines, by extension): join keys, a timestamp, any other columns.")],
    out: Annotated[Path, typer.Argument(help="Where to write the training frame (Parquet).")],
    features: Annotated[str, typer.Option(
        "--features", "-f", help="A feature service name, or comma-separated 'view:feature' references.")],
    engine: Annotated[str | None, typer.Option(help="auto | spark | duckdb (default: offline_engine).")] = None,
    timestamp_col: Annotated[str, typer.Option("--timestamp-col", help="The labels' timestamp column.")] = "event_ts",
    timestamp_unit: Annotated[str | None, typer.Option(
        "--timestamp-unit", help="s | ms | us | ns: the timestamp column holds epoch numbers.")] = None,
    full_names: Annotated[bool, typer.Option("--full-names", help="Name columns view__feature.")] = False,
    fill_defaults: Annotated[bool, typer.Option("--fill-defaults", help="Use declared defaults for nulls.")] = False,
    repo: RepoOption = Path("."),
) -> None:
    """Join features to labels as of each label's timestamp (every label row once, in order)."""
    from aquifer.sdk.store import FeatureStore
    from aquifer.training.label_files import read_label_file

    if not labels.exists():
        raise UsageProblem(f"labels file {labels} does not exist")
    refs = [r.strip() for r in features.split(",") if r.strip()]
    if not refs:
        raise UsageProblem("--features needs a feature service name or view:feature references")
    store = FeatureStore(repo)
    if store.repo.errors:
        raise CommandFailed("the feature repo has definition errors:\n" + "\n".join(map(str, store.repo.errors)))
    request = refs[0] if len(refs) == 1 and ":" not in refs[0] else refs
    frame = store.get_training_frame(
        read_label_file(labels, timestamp_col, timestamp_unit), request, timestamp_col=timestamp_col, engine=engine,
        full_names=full_names, fill_defaults=fill_defaults,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(out, index=False)
    console.print(f"[green]wrote[/green] {len(frame):,} rows x {len(frame.columns)} columns to {out}")
    if store.last_training_id is not None:  # recorded for drift: `aquifer drift VIEW --training ID`
        console.print(f"training frame id {store.last_training_id}", highlight=False)
