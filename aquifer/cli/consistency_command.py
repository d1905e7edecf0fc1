"""``aquifer consistency VIEW --start T --end T``: the stream's online values against a batch computation over the
events it landed (``aquifer.engines.stream.consistency``); exit 0 when they agree, 1 on mismatches, 2 on misuse."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from aquifer.cli import app
from aquifer.cli.common import CommandFailed, RepoOption, UsageProblem, console, handled


@app.command("consistency")
@handled
def consistency_command(
    view: Annotated[str, typer.Argument(help="An aggregation view whose KafkaSource has a batch_source.")],
    start: Annotated[str, typer.Option(help="Window ends from this time (ISO 8601; no offset = UTC).")],
    end: Annotated[str, typer.Option(help="Window ends before this time (ISO 8601; no offset = UTC).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    limit: Annotated[int, typer.Option(help="Example entities shown per feature and per list.")] = 10,
    repo: RepoOption = Path("."),
) -> None:
    """Compare each entity's online value (written by the stream) with the batch value over the landed events, as
    of the online value's time, for values timed in [start, end); report mismatches per feature."""
    from aquifer.definitions import AggregationView, KafkaSource
    from aquifer.engines.stream.consistency import check_consistency
    from aquifer.sdk.store import FeatureStore
    from aquifer.stores.online.interface import OnlineStoreUnavailable, open_online_store
    from aquifer.times import parse_time

    if limit < 0:
        raise UsageProblem(f"--limit must be 0 or more, got {limit}")
    try:
        start_at, end_at = parse_time(start, "--start"), parse_time(end, "--end")
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
    if start_at >= end_at:
        raise UsageProblem(f"--start {start} is not before --end {end}")
    store = FeatureStore(repo)
    checkable = sorted(name for name, v in store.views.items() if isinstance(v, AggregationView)
                       and isinstance(v.source, KafkaSource) and v.source.batch_source is not None)
    definition = store.views.get(view)
    if definition is None:
        raise UsageProblem(f"no view {view!r} in the repo (views with a stream and landed events: "
                           f"{', '.join(checkable) or 'none'})")
    if view not in checkable:
        why = ("is not an aggregation view" if not isinstance(definition, AggregationView) else
               "does not read a KafkaSource" if not isinstance(definition.source, KafkaSource) else
               f"reads KafkaSource {definition.source.name!r}, which has no batch_source (nowhere events land)")
        raise UsageProblem(f"view {view!r} {why}: nothing to check (checkable: {', '.join(checkable) or 'none'})")
    assert isinstance(definition, AggregationView)
    online = open_online_store(dict(store.config.online_store))
    try:
        report = check_consistency(definition, root=store.config.root, store=online, project=store.config.project,
                                   start=start_at, end=end_at, limit=limit)
    except OnlineStoreUnavailable as exc:
        raise CommandFailed(str(exc)) from None
    finally:
        online.close()
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        for line in report.render():
            console.print(line, highlight=False, markup=False, soft_wrap=True)
    if not report.consistent:
        raise typer.Exit(1)
