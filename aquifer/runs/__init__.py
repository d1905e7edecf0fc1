"""The run lifecycle, engine-neutral: plans of steps, engines behind a small protocol, typed events to listeners.

``aquifer.runs.batch`` runs and backfills views (compute → check → write → record interval) on a
``BatchEngine``; ``aquifer.runs.materialize`` pushes latest values online (push → record interval).
Registry run records, progress bars and alerts are listeners; a listener's ``check`` may veto a
computed range before it is written.
"""

from aquifer.engines.results import RangeResult, RunSummary, ViewResult
from aquifer.runs.events import (
    RangeComputed,
    RangeFailed,
    RangeRecorded,
    RangeStarted,
    RangeWritten,
    RunEvent,
    RunFinished,
    RunStarted,
    ViewFinished,
    ViewPushed,
    ViewStarted,
)
from aquifer.runs.listeners import Listeners, RangeCheck, RunListener, Veto
from aquifer.runs.steps import RunPlan, ViewPlan

__all__ = [
    "Listeners",
    "RangeCheck",
    "RangeComputed",
    "RangeFailed",
    "RangeRecorded",
    "RangeResult",
    "RangeStarted",
    "RangeWritten",
    "RunEvent",
    "RunFinished",
    "RunListener",
    "RunPlan",
    "RunStarted",
    "RunSummary",
    "Veto",
    "ViewFinished",
    "ViewPlan",
    "ViewPushed",
    "ViewResult",
    "ViewStarted",
]
