"""A rich progress bar drawn from run events: views, then each view's ranges (batch or materialize)."""

from __future__ import annotations

from typing import Any

from aquifer.runs.events import RangeRecorded, RangeStarted, RunEvent, RunStarted, ViewFinished, ViewPushed, ViewStarted


class RichProgress:
    """A run listener advancing a ``rich.progress.Progress``: one bar for views, one for the current view."""

    def __init__(self, bar: Any):
        self.bar = bar
        self.views: Any = None
        self.ranges: Any = None

    @classmethod
    def start(cls, console: Any = None, transient: bool = False) -> RichProgress:
        """A started bar on ``console`` (default: rich's); call ``stop`` when the run is over."""
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                       TimeElapsedColumn(), console=console, transient=transient)
        bar.start()
        return cls(bar)

    def stop(self) -> None:
        """Stop drawing."""
        self.bar.stop()

    def on_event(self, event: RunEvent) -> None:
        """Advance the bars."""
        if isinstance(event, RunStarted):
            self.views = self.bar.add_task(event.kind, total=len(event.views))
        elif isinstance(event, ViewStarted):
            self.ranges = self.bar.add_task(f"  {event.view}", total=max(len(event.ranges), 1))
        elif isinstance(event, RangeStarted) and self.ranges is not None:
            self.bar.update(self.ranges, description=f"  {event.view} {event.start:%Y-%m-%d}..{event.end:%Y-%m-%d}")
        elif isinstance(event, RangeRecorded | ViewPushed) and self.ranges is not None:
            self.bar.advance(self.ranges)
        elif isinstance(event, ViewFinished) and self.views is not None:
            if self.ranges is not None:
                self.bar.remove_task(self.ranges)
                self.ranges = None
            self.bar.advance(self.views)
