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
    land: Annotated[bool | None, typer.Option(
        "--land/--no-land", help="Land accepted events into the views' batch_source (default: when it can take "
                                 "them; --land makes it required).")] = None,
    metrics_port: Annotated[int | None, typer.Option(
        help="Serve Prometheus metrics (events, dead letters by reason, late events, windows, watermarks) on "
             "127.0.0.1:PORT/metrics.")] = None,
    exactly_once: Annotated[bool, typer.Option(
        help="Kafka transactions (a broker whose transactions isolate); the default at-least-once is safe too: "
             "every write is idempotent.")] = False,
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
    from aquifer.engines.stream.events import KINDS
    from aquifer.runs.stream import StreamMetrics, StreamRecorder
    from aquifer.sdk import catalog_hooks

    settings = StreamSettings.from_config(store.config, consumer_group=group, dead_letter_topic=dead_letter_topic,
                                          max_skew=timedelta(seconds=max_skew_s), state_dir=state_dir, land=land,
                                          processing_guarantee="exactly-once" if exactly_once else None)
    try:
        worker = StreamWorker([streamable[n] for n in names], settings,
                              listeners=[StreamRecorder(store.registry, store.config.project),
                                         *catalog_hooks.stream_listeners(store)])
    except StreamError as exc:
        raise CommandFailed(str(exc)) from None
    for note in worker.notes:
        console.print(f"note: {note}", highlight=False)
    server = None
    if metrics_port is not None:
        server = StreamMetrics(worker).serve(metrics_port)
        console.print(f"metrics on http://127.0.0.1:{metrics_port}/metrics", highlight=False)
    console.print(f"streaming {', '.join(names)} (group {worker.group}); Ctrl-C stops", highlight=False)
    try:
        worker.run()
    except StreamError as exc:
        raise CommandFailed(str(exc)) from None
    finally:
        if server is not None:
            server.shutdown()
    counts = worker.counts
    reasons = ", ".join(f"{kind} {counts[f'dead_letter.{kind}']:,}" for kind in KINDS
                        if counts[f"dead_letter.{kind}"])
    console.print(f"stopped: {counts['events']:,} events, {counts['accepted']:,} accepted, "
                  f"{counts['dead_letters']:,} dead-lettered{f' ({reasons})' if reasons else ''}, "
                  f"{counts['windows_emitted']:,} windows emitted, {counts['values_written']:,} values written, "
                  f"{counts['events_landed']:,} events landed", highlight=False)
