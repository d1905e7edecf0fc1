"""Online commands: ``materialize`` (and ``--clean``), ``get`` and ``serve``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from aquifer.cli import app
from aquifer.cli.common import RepoOption, UsageProblem, console, handled
from aquifer.config import OFFLINE_ENGINES

STATUS_STYLE = {"present": "green", "stale": "yellow", "missing": "dim", "unavailable": "red"}


@app.command("materialize")
@handled
def materialize_command(
    views: Annotated[list[str] | None, typer.Argument(help="Views to materialize (default: all online).")] = None,
    end: Annotated[str | None, typer.Option(help="Up to this event time (ISO 8601; default now; UTC).")] = None,
    full: Annotated[bool, typer.Option("--full", help="Re-push the whole TTL window, ignoring the ledger.")] = False,
    clean: Annotated[str | None, typer.Option("--clean", metavar="VIEW",
                                              help="Remove VIEW's values from the online store instead.")] = None,
    engine: Annotated[str | None, typer.Option(help="auto | spark | duckdb (default: offline_engine).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the steps it would run; push nothing.")] = False,
    repo: RepoOption = Path("."),
) -> None:
    """Push each entity's latest values (within TTL) to the online store, incrementally."""
    from aquifer.runs.materialize import clean_view, materialize, plan_materialize
    from aquifer.sdk.store import FeatureStore

    store = FeatureStore(repo)
    if clean:
        if views:
            raise UsageProblem("--clean VIEW takes no other views")
        removed = clean_view(store, clean)
        console.print(f"removed [bold]{clean}[/bold] from {removed:,} entities")
        return
    if engine is not None and engine not in OFFLINE_ENGINES:
        raise UsageProblem(f"--engine must be one of {', '.join(OFFLINE_ENGINES)}, got {engine!r}")
    if dry_run:
        for line in plan_materialize(store, views or None, end, full=full, engine=engine).describe():
            console.print(line, highlight=False, markup=False)
        return
    reports = materialize(store, views or None, end=end, full=full, engine=engine,
                          listeners=store.catalog_listeners())
    table = Table("view", "range", "entities", "written", "seconds", "engine", title="materialized")
    for r in reports:
        span = r.skipped or f"{r.start:%Y-%m-%d %H:%M} → {r.end:%Y-%m-%d %H:%M}"
        if r.skipped and r.start is not None:
            span = f"{r.start:%Y-%m-%d %H:%M} → {r.end:%Y-%m-%d %H:%M} ({r.skipped})"
        table.add_row(r.view, span, f"{r.entities:,}", f"{r.written:,}", f"{r.seconds:.1f}", r.engine or "")
    console.print(table)


def parse_entities(pairs: list[str]) -> list[dict[str, str]]:
    """``["user_id=1", "user_id=2", "merchant_id=5"]`` → one row per repeat of the first key.

    Each ``--entity`` starting a key already in the current row starts a new row; several keys per
    flag are comma-separated (``--entity bank=x,account_no=7``).
    """
    rows: list[dict[str, str]] = []
    for pair in pairs:
        row: dict[str, str] = {}
        for part in pair.split(","):
            key, sep, value = part.partition("=")
            if not sep or not key.strip():
                raise UsageProblem(f"--entity expects key=value, got {part!r}")
            row[key.strip()] = value.strip()
        if rows and not (set(row) & set(rows[-1])):
            rows[-1].update(row)
        else:
            rows.append(row)
    return rows


@app.command("get")
@handled
def get_command(
    features: Annotated[str, typer.Argument(help="A feature service, or comma-separated view:feature refs.")],
    entity: Annotated[list[str], typer.Option("--entity", "-e", help="key=value; repeat for more entities.")],
    full_names: Annotated[bool, typer.Option("--full-names", help="Name columns view__feature.")] = False,
    repo: RepoOption = Path("."),
) -> None:
    """Look up online features for entities and print them with their statuses."""
    from aquifer.sdk.store import FeatureStore

    store = FeatureStore(repo)
    wanted: str | list[str] = features if ":" not in features else [f.strip() for f in features.split(",")]
    result = store.get_online_features(wanted, parse_entities(entity), full_names=full_names)
    table = Table(*result.entities, *result.values)
    for i in range(len(result)):
        keys = [str(result.entities[k][i]) for k in result.entities]
        cells = []
        for column, values in result.values.items():
            status = result.statuses[column][i]
            style = STATUS_STYLE.get(status, "")
            cells.append(f"[{style}]{values[i]!s}[/{style}]" if status == "present" else
                         f"[{style}]{values[i]!s} ({status})[/{style}]")
        table.add_row(*keys, *cells)
    console.print(table)


@app.command("serve")
@handled
def serve_command(
    host: Annotated[str | None, typer.Option(help="Bind address (default api.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default api.port).")] = None,
    repo: RepoOption = Path("."),
) -> None:
    """Run the REST API and feature server (uvicorn)."""
    import uvicorn

    from aquifer.api import create_app
    from aquifer.sdk.store import FeatureStore
    from aquifer.ui import mount

    store = FeatureStore(repo)
    if store.repo.errors:
        raise UsageProblem("the repo has definition errors; run `aquifer plan` to see them")
    bind_host = host or store.config.api["host"]
    bind_port = port or int(store.config.api["port"])
    console.print(f"serving [bold]{store.config.project}[/bold] on http://{bind_host}:{bind_port} "
                  f"(web UI: http://{bind_host}:{bind_port}/ui/)")
    uvicorn.run(mount(create_app(store)), host=bind_host, port=bind_port, log_level="warning", access_log=False,
                **_fast_loop())


def _fast_loop() -> dict[str, str]:
    """httptools + uvloop when installed (several times less per-request overhead than h11 + asyncio)."""
    import importlib.util

    names = {"http": "httptools", "loop": "uvloop"}
    return {k: v for k, v in names.items() if importlib.util.find_spec(v) is not None}
