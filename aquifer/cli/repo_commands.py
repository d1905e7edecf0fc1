"""Repo commands: ``init``, ``plan``, ``apply``, ``list``, ``lineage``."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.tree import Tree

from aquifer.cli import app
from aquifer.cli.common import CommandFailed, RepoOption, UsageProblem, console, handled

TEMPLATE = Path(__file__).resolve().parents[1] / "templates" / "quickstart"
_TEMPLATE_SKIP = shutil.ignore_patterns("data", ".aquifer", "__pycache__", "*.pyc")


@app.command("init")
@handled
def init_command(
    directory: Annotated[Path, typer.Argument(help="Folder for the new feature repo (created).")],
    project: Annotated[str | None, typer.Option(help="Project name (default: the folder's name).")] = None,
    no_data: Annotated[bool, typer.Option("--no-data", help="Do not generate the example data.")] = False,
) -> None:
    """Create a new feature repo from the quickstart template (with example data)."""
    if directory.exists() and any(directory.iterdir()):
        raise UsageProblem(f"{directory} exists and is not empty; choose a new folder")
    shutil.copytree(TEMPLATE, directory, ignore=_TEMPLATE_SKIP, dirs_exist_ok=True)
    name = project or _project_name(directory)
    config = directory / "aquifer.yaml"
    config.write_text(config.read_text().replace("project: quickstart", f"project: {name}"))
    console.print(f"[green]created[/green] feature repo [bold]{name}[/bold] in {directory}")
    if not no_data:
        counts = generate_example_data(directory)
        console.print("generated example data: " + ", ".join(f"{v:,} {k}" for k, v in counts.items()))
    console.print(f"next: [bold]aquifer plan -r {directory}[/bold]")


def _project_name(directory: Path) -> str:
    """A valid project name from a folder name: ``.my-repo`` → ``my_repo``."""
    cleaned = "".join(c if c.isalnum() else "_" for c in directory.resolve().name).strip("_")
    return cleaned if cleaned and not cleaned[0].isdigit() else f"repo_{cleaned}"


def generate_example_data(directory: Path) -> dict[str, int]:
    """Run the template's data generator into ``directory/data``."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_aquifer_generate_data", directory / "generate_data.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate(directory / "data")


@app.command("plan")
@handled
def plan_command(repo: RepoOption = Path(".")) -> None:
    """Show what ``apply`` would change, and every definition error at once (exit 1 on errors)."""
    from aquifer.sdk.apply import plan
    from aquifer.sdk.store import FeatureStore

    store = FeatureStore(repo)
    result = plan(store)
    _print_diff(result.diff, root=store.config.root)
    _print_warnings(result.warnings, store.config.root)
    if result.problems:
        _print_problems(result.problems, store.config.root)
        raise typer.Exit(1)


@app.command("apply")
@handled
def apply_command(repo: RepoOption = Path(".")) -> None:
    """Register the repo's definitions (prints the diff). Refuses, writing nothing, on any error."""
    from aquifer.sdk.apply import apply, plan
    from aquifer.sdk.store import FeatureStore

    store = FeatureStore(repo)
    checked = plan(store)
    _print_warnings(checked.warnings, store.config.root)
    if checked.problems:
        _print_problems(checked.problems, store.config.root)
        raise CommandFailed("nothing was applied: fix the errors above first")
    result = apply(store)
    _print_diff(result.diff, root=store.config.root)
    console.print(f"[green]applied[/green] project [bold]{store.config.project}[/bold] (version {result.version})")
    for change in result.diff.removed:
        if change.kind in ("feature_view", "aggregation_view"):
            console.print(f"  {change.name} was removed: [bold]aquifer materialize --clean {change.name}[/bold] "
                          "drops its online values (SCAN in batches, never blocking Redis)")


@app.command("list")
@handled
def list_command(repo: RepoOption = Path(".")) -> None:
    """List the repo's entities, sources, views and services."""
    from aquifer.definitions import AggregationView, BatchSource, Entity, FeatureService, FeatureView, KafkaSource
    from aquifer.sdk.store import FeatureStore

    store = FeatureStore(repo)
    definitions = store.repo.definitions
    sections = [
        ("Entities", Entity, lambda d: ", ".join(d.join_keys)),
        ("Sources", BatchSource | KafkaSource, lambda d: getattr(d, "path", None) or getattr(d, "table", None)
         or f"topic {d.topic}"),
        ("Feature views", FeatureView | AggregationView, lambda d: ", ".join(d.feature_names)),
        ("Feature services", FeatureService, lambda d: ", ".join(d.feature_refs)),
    ]
    for title, kind, describe in sections:
        table = Table(title=title, title_justify="left", show_lines=False)
        for column in ("name", "details", "owner", "description"):
            table.add_column(column, overflow="fold")
        for d in definitions:
            if isinstance(d, kind):
                table.add_row(d.name, str(describe(d) or ""), d.owner, d.description)
        console.print(table)
    if store.repo.errors:
        _print_problems(store.repo.errors, store.config.root)
        raise typer.Exit(1)


@app.command("lineage")
@handled
def lineage_command(
    name: Annotated[str, typer.Argument(help="A source, view or service.")],
    repo: RepoOption = Path("."),
    depth: Annotated[int | None, typer.Option(help="Hops to follow each way (default: all).")] = None,
) -> None:
    """Show what NAME is computed from and what depends on it, down to columns where known."""
    from aquifer.sdk.store import FeatureStore

    store = FeatureStore(repo)
    analysis = store.analysis
    graph = analysis.lineage(name, depth=depth)
    up = Tree(f"[bold]{name}[/bold] is computed from")
    down = Tree(f"[bold]{name}[/bold] feeds")
    _grow(up, name, analysis.upstreams, depth)
    _grow(down, name, analysis.downstreams, depth)
    console.print(up)
    console.print(down)
    columns = [e for e in graph.column_edges if name in (e.from_node, e.to_node)]
    if columns:
        table = Table(title=f"Column lineage of {name}", title_justify="left")
        for column in ("from", "to"):
            table.add_column(column)
        for e in columns:
            table.add_row(f"{e.from_node}.{e.from_column}", f"{e.to_node}.{e.to_column}")
        console.print(table)


def _grow(tree: Tree, name: str, links: dict[str, tuple[str, ...]], depth: int | None, seen: frozenset = frozenset()):
    if depth == 0:
        return
    for other in links.get(name, ()):
        if other in seen:
            continue
        branch = tree.add(other)
        _grow(branch, other, links, None if depth is None else depth - 1, seen | {name})


def _print_diff(diff, root: Path) -> None:
    rows = [("+", "green", "added", diff.added), ("~", "yellow", "changed (data: recompute)", diff.changed_data),
            ("~", "cyan", "changed (metadata only)", diff.changed_meta), ("-", "red", "removed", diff.removed)]
    if not any(items for *_, items in rows):
        console.print("no changes: the registry matches the repo")
        return
    for mark, colour, label, items in rows:
        for change in items:
            console.print(f"[{colour}]{mark} {label:<26}[/{colour}] {change.kind:<17} {change.name}")


def _print_problems(problems, root: Path) -> None:
    console.print(f"[red]{len(problems)} definition error{'s' if len(problems) != 1 else ''}:[/red]")
    for problem in problems:
        text = str(problem).replace(str(root) + "/", "")
        console.print(f"  [red]✗[/red] {text}", soft_wrap=True)


def _print_warnings(warnings, root: Path) -> None:
    for warning in warnings:
        text = str(warning).replace(str(root) + "/", "")
        console.print(f"  [yellow]![/yellow] {text}", soft_wrap=True)
