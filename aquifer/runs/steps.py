"""Plans of steps: what a run will do, view by view, printed by ``--dry-run`` and executed by the lifecycle.

A batch range is ``compute → check → write → record interval``; a backfill first forgets its range; a
materialization is ``push online → record interval``. A view that cannot be planned carries its error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

BATCH_STEPS = ("compute", "check", "write", "record interval")
PUSH_STEPS = ("push online", "record interval")


@dataclass(frozen=True)
class ViewPlan:
    """One view's part of a run: its ranges (each runs ``steps``), a range to forget first, or an error.

    ``empty``: ranges where no input rows lie (``planning.empty``), recorded as done without computing.
    """

    view: Any
    kind: str
    ranges: tuple[tuple[datetime, datetime], ...] = ()
    steps: tuple[str, ...] = BATCH_STEPS
    fingerprint: str | None = None
    forget: tuple[datetime, datetime] | None = None
    engine: str | None = None
    error: str | None = None
    note: str | None = None
    empty: tuple[tuple[datetime, datetime], ...] = ()

    @property
    def name(self) -> str:
        """The view's name."""
        return self.view.name


@dataclass
class RunPlan:
    """Every view's plan, in the order they run (upstreams first)."""

    kind: str
    views: list[ViewPlan] = field(default_factory=list)

    def describe(self) -> list[str]:
        """Readable lines: each view, then each range with its steps."""
        lines = []
        for vp in self.views:
            head = f"{vp.name} ({vp.kind}" + (f", data {vp.fingerprint}" if vp.fingerprint else "") + (
                f", {vp.engine}" if vp.engine else "") + ")"
            if vp.error:
                lines.append(f"{head}: cannot run: {vp.error}")
                continue
            if not vp.ranges and not vp.empty:
                lines.append(f"{head}: {vp.note or 'up to date'}")
                continue
            lines.append(f"{head}:")
            if vp.forget:
                lines.append(f"  forget {_span(vp.forget)}")
            if vp.note:
                lines.append(f"  {vp.note}")
            lines += [f"  {_span(r)}: {' → '.join(vp.steps)}" for r in vp.ranges]
            lines += [f"  {_span(r)}: no input rows: record interval (not computed)" for r in vp.empty]
        return lines


def _span(r: tuple[datetime, datetime]) -> str:
    return f"{r[0]:%Y-%m-%d %H:%M} → {r[1]:%Y-%m-%d %H:%M}"
