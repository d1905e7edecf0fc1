"""What a stream worker leaves behind: run records in the registry and Prometheus metrics.

Both are ``StreamListener``s of ``engines.stream.worker.StreamWorker``. ``StreamRecorder`` opens one ``stream`` run
per view when the worker starts, writes its progress (events in, windows out, per-partition committed offsets
and watermarks, dead letters by reason, late events) every ``every_s`` seconds of checkpoints, and finishes it
when the worker stops: ``succeeded`` on a clean stop, ``failed`` with the error otherwise. ``StreamMetrics``
exposes the same counters to a Prometheus scrape.
"""

from __future__ import annotations

import time
from typing import Any

from aquifer.engines.stream.events import KINDS


def run_details(view_report: dict[str, Any]) -> dict[str, Any]:
    """The run record's details of one view (a ``StreamWorker.report()`` entry)."""
    counts = view_report["counts"]
    return {
        "topic": view_report["topic"], "partitions": view_report["partitions"],
        "events": counts.get("events", 0), "accepted": counts.get("accepted", 0),
        "windows_emitted": counts.get("windows_emitted", 0), "values_written": counts.get("values_written", 0),
        "events_landed": counts.get("events_landed", 0), "late": counts.get("dead_letter.late", 0),
        "dead_letters": {kind: counts[f"dead_letter.{kind}"] for kind in KINDS if counts.get(f"dead_letter.{kind}")},
        "landing": view_report["landing"],
    }


class StreamRecorder:
    """Keeps one registry run record per streamed view (``registry``: ``aquifer.registry.Registry``)."""

    def __init__(self, registry: Any, project: str, every_s: float = 30.0) -> None:
        self.registry, self.project, self.every_s = registry, project, every_s
        self.run_ids: dict[str, int] = {}
        self._last = 0.0

    def stream_started(self, worker: Any) -> None:
        """Open a ``running`` stream run per view."""
        for stream in worker.streams:
            self.run_ids[stream.view.name] = self.registry.start_run(self.project, stream.view.name, "stream",
                                                                     None, None)
        self._last = time.monotonic()

    def stream_checkpoint(self, worker: Any) -> None:
        """Every ``every_s`` seconds: the runs' progress."""
        if time.monotonic() - self._last < self.every_s:
            return
        self._last = time.monotonic()
        for view, report in worker.report().items():
            details = run_details(report)
            self.registry.update_run(self.run_ids[view], rows_in=details["events"],
                                     rows_out=details["windows_emitted"], details=details)

    def stream_stopped(self, worker: Any, error: str | None) -> None:
        """Finish the runs: succeeded, or failed with ``error``."""
        for view, report in worker.report().items():
            run_id = self.run_ids.pop(view, None)
            if run_id is None:
                continue
            details = run_details(report)
            self.registry.finish_run(run_id, status="failed" if error else "succeeded", rows_in=details["events"],
                                     rows_out=details["windows_emitted"], error=error, details=details)


class StreamMetrics:
    """A Prometheus collector reading a worker's counters at each scrape (``serve(port)`` starts an endpoint)."""

    def __init__(self, worker: Any) -> None:
        from prometheus_client import CollectorRegistry

        self.worker = worker
        self.registry = CollectorRegistry()
        self.registry.register(self)

    def collect(self) -> Any:
        """``aquifer_stream_*`` families, labelled by view (and reason / partition)."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        events = CounterMetricFamily("aquifer_stream_events", "Messages consumed", labels=["view"])
        accepted = CounterMetricFamily("aquifer_stream_accepted_events", "Events counted by the windows",
                                       labels=["view"])
        dead = CounterMetricFamily("aquifer_stream_dead_letters", "Events dead-lettered, by reason",
                                   labels=["view", "reason"])
        late = CounterMetricFamily("aquifer_stream_late_events", "Events behind the watermark (dead-lettered)",
                                   labels=["view"])
        windows = CounterMetricFamily("aquifer_stream_windows_emitted", "Window values emitted", labels=["view"])
        written = CounterMetricFamily("aquifer_stream_values_written", "Online vectors written newer-wins",
                                      labels=["view"])
        landed = CounterMetricFamily("aquifer_stream_events_landed", "Events landed to the batch source",
                                     labels=["view"])
        unavailable = CounterMetricFamily("aquifer_stream_online_unavailable",
                                          "Checkpoints dropped because the online store was unreachable",
                                          labels=["view"])
        watermark = GaugeMetricFamily("aquifer_stream_watermark_seconds", "Partition watermark (epoch seconds)",
                                      labels=["view", "partition"])
        for stream in self.worker.streams:
            name, counts = stream.view.name, stream.counts
            events.add_metric([name], counts.get("events", 0))
            accepted.add_metric([name], counts.get("accepted", 0))
            for kind in KINDS:
                dead.add_metric([name, kind], counts.get(f"dead_letter.{kind}", 0))
            late.add_metric([name], counts.get("dead_letter.late", 0))
            windows.add_metric([name], counts.get("windows_emitted", 0))
            written.add_metric([name], counts.get("values_written", 0))
            landed.add_metric([name], counts.get("events_landed", 0))
            unavailable.add_metric([name], counts.get("online_unavailable", 0))
            for partition, cache in list(stream.caches.items()):
                if cache.clock.watermark is not None:
                    watermark.add_metric([name, str(partition)], cache.clock.watermark / 1e6)
        yield from (events, accepted, dead, late, windows, written, landed, unavailable, watermark)

    def serve(self, port: int, addr: str = "127.0.0.1") -> Any:
        """Serve ``/metrics`` on ``addr:port`` in a daemon thread; returns the server (``shutdown()`` stops it)."""
        from prometheus_client import start_http_server

        server, _thread = start_http_server(port, addr=addr, registry=self.registry)
        return server

    def stream_started(self, worker: Any) -> None:
        """Nothing: the collector reads the worker at each scrape."""

    def stream_checkpoint(self, worker: Any) -> None:
        """Nothing: the collector reads the worker at each scrape."""

    def stream_stopped(self, worker: Any, error: str | None) -> None:
        """Nothing: the collector reads the worker at each scrape."""
