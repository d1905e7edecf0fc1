"""``aquifer stream [VIEW...]``: run the stream workers of aggregation views with a Kafka source."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from aquifer.cli import app
from aquifer.cli.common import CommandFailed, RepoOption, UsageProblem, console, handled


@app.command("stream")
@handled
def stream_command(
    views: Annotated[list[str] | None, typer.Argument(
        help="Aggregation views to stream (default: every one whose source is a KafkaSource).")] = None,
    group: Annotated[str | None, typer.Option(
        help="Kafka consumer group (default: aquifer.<project>.<views>.<crc of their aggregations>).")] = None,
    dead_letter_topic: Annotated[str | None, typer.Option(
        help="Topic for refused events (default: <source topic>.dead-letter).")] = None,
    max_skew_s: Annotated[float, typer.Option(
        "--max-skew-s", help="Events later than the wall clock plus this many seconds are refused.")] = 600.0,
    state_dir: Annotated[Path | None, typer.Option(
        help="Local state folder (default: .aquifer/stream-state in the repo).")] = None,
    repo: RepoOption = Path("."),
) -> None:
    """Compute aggregation views from Kafka as events arrive and write them online; SIGINT/SIGTERM stops cleanly
    (the current message finishes, output is flushed, offsets and state are committed)."""
    from aquifer.definitions import AggregationView, KafkaSource
    from aquifer.engines.stream.worker import StreamError, StreamSettings, StreamWorker
    from aquifer.sdk.store import FeatureStore

    store = FeatureStore(repo)
    streamable = {name: v for name, v in store.views.items()
                  if isinstance(v, AggregationView) and isinstance(v.source, KafkaSource)}
    names = list(views or sorted(streamable))
    if not names:
        raise UsageProblem("no aggregation view reads a KafkaSource: nothing to stream")
    unknown = [n for n in names if n not in streamable]
    if unknown:
        raise UsageProblem(f"not an aggregation view with a KafkaSource: {', '.join(unknown)} "
                           f"(streamable: {', '.join(sorted(streamable)) or 'none'})")
    settings = StreamSettings.from_config(store.config, consumer_group=group, dead_letter_topic=dead_letter_topic,
                                          max_skew=timedelta(seconds=max_skew_s), state_dir=state_dir)
    worker = StreamWorker([streamable[n] for n in names], settings)
    console.print(f"streaming {', '.join(names)} (group {worker.group}); Ctrl-C stops", highlight=False)
    try:
        worker.run()
    except StreamError as exc:
        raise CommandFailed(str(exc)) from None
    counts = worker.counts
    console.print(f"stopped: {counts['events']:,} events, {counts['accepted']:,} accepted, "
                  f"{counts['dead_letters']:,} dead-lettered, {counts['windows_emitted']:,} windows emitted, "
                  f"{counts['values_written']:,} values written", highlight=False)
