"""Timing helpers shared by the batch benches (``batch.py``, ``quality.py``): where a backfill's time goes.

- ``TimedEngine`` wraps the Spark batch engine and notes when each range's compute and write start and end;
- ``RecordedAt`` is a run listener noting when the last range was recorded;
- ``InnerTimes`` replaces named functions in their modules by timed wrappers (the run imports them when it calls
  them, ``from module import name`` inside a function, so the wrapper is what it calls).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any


class TimedEngine:
    """A ``BatchEngine`` around Spark's noting when each step of the (last) range starts and ends; everything
    else (``first_event_day``, ``data_extent``, ``carry_end``, ``ctx``, ``explain``, ...) is the wrapped
    engine's."""

    def __init__(self, inner: Any):
        self.inner, self.name = inner, inner.name
        self.marks: dict[str, float] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def compute_range(self, view: Any, start: datetime, end: datetime, checks: Any = ()) -> Any:
        """As the wrapped engine, timed."""
        self.marks["compute_start"] = time.perf_counter()
        try:
            return self.inner.compute_range(view, start, end, checks)
        finally:
            self.marks["compute_end"] = time.perf_counter()

    def write_range(self, computed: Any) -> Any:
        """As the wrapped engine, timed."""
        self.marks["write_start"] = time.perf_counter()
        try:
            return self.inner.write_range(computed)
        finally:
            self.marks["write_end"] = time.perf_counter()


class RecordedAt:
    """A run listener (registered after the recorders) noting when the last range was recorded."""

    def __init__(self) -> None:
        self.at = 0.0

    def on_event(self, event: Any) -> None:
        """Note the time of each ``RangeRecorded``."""
        from aquifer.runs.events import RangeRecorded

        if isinstance(event, RangeRecorded):
            self.at = time.perf_counter()


class InnerTimes:
    """Seconds spent in each of ``steps`` (``{key: (module, function)}``) since the last ``reset``."""

    def __init__(self, steps: Mapping[str, tuple[str, str]]) -> None:
        self.steps = dict(steps)
        self.found: set[str] = set()
        self.seconds: dict[str, float] = {}

    def install(self) -> None:
        """Replace each step's function in its module by a timed wrapper, once (a missing one is skipped)."""
        for key, (module_name, name) in self.steps.items():
            module = importlib.import_module(module_name)
            if hasattr(module, name):
                setattr(module, name, self._timed(key, getattr(module, name)))
                self.found.add(key)

    def _timed(self, key: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[key] = self.seconds.get(key, 0.0) + time.perf_counter() - began

        return timed

    def reset(self) -> None:
        """Start counting from zero."""
        self.seconds = {}

    def report(self) -> dict[str, float | None]:
        """Seconds per step (0 when it did not run, null when it could not be timed)."""
        return {k: round(self.seconds.get(k, 0.0), 2) if k in self.found else None for k in self.steps}


def phases(marks: dict[str, float], began: float, recorded_at: float, inner: InnerTimes) -> dict[str, Any]:
    """Where one range's backfill went: planning, compute, checks, write, recording (from a ``TimedEngine``'s
    ``marks``, the time the backfill ``began`` and ``RecordedAt.at``), and the inner steps."""
    return {
        "plan_s": round(marks["compute_start"] - began, 2),
        "compute_s": round(marks["compute_end"] - marks["compute_start"], 2),
        "check_s": round(marks["write_start"] - marks["compute_end"], 2),
        "write_s": round(marks["write_end"] - marks["write_start"], 2),
        "record_s": round(recorded_at - marks["write_end"], 2),
        "inside": inner.report(),
    }


class ProcessCpu:
    """CPU seconds (user + system) this process and its Spark JVM child have used so far: a run's CPU is the
    difference of two readings. On 2 shared cores wall time swings with the machine; CPU seconds show what a
    step costs whether or not it found idle cores."""

    def __init__(self) -> None:
        import psutil

        self.me = psutil.Process()

    def __call__(self) -> float:
        """Seconds of CPU used by this process and every child (the JVM) until now."""
        total = 0.0
        for proc in (self.me, *self.me.children(recursive=True)):
            try:
                times = proc.cpu_times()
            except Exception:  # a child that just ended
                continue
            total += times.user + times.system
        return total
