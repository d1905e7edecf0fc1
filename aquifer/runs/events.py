"""Typed run events: what a batch run, backfill or materialization tells its listeners, in order.

A batch view goes ``ViewStarted`` → per range ``RangeStarted`` → ``RangeComputed`` (listeners may veto
it: nothing is written) → ``RangeWritten`` (the offline store holds it) → ``RangeRecorded`` (the ledger
counts it as done), or ``RangeFailed`` → ``ViewFinished``. A run opens with ``RunStarted`` and closes with
``RunFinished``. Materialization sends ``ViewPushed`` (or ``RangeFailed``) per view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aquifer.engines.results import RangeResult, RunSummary, ViewResult

BATCH, BACKFILL, MATERIALIZE = "batch", "backfill", "materialize"


@dataclass(frozen=True)
class RunStarted:
    """A run of ``kind`` over ``views`` (in the order they will run) begins."""

    kind: str
    views: tuple[str, ...]


@dataclass(frozen=True)
class ViewStarted:
    """One view begins: the ranges it will compute (or push)."""

    view: str
    kind: str
    ranges: tuple[tuple[datetime, datetime], ...]


@dataclass(frozen=True)
class RangeStarted:
    """One range of one view begins."""

    view: str
    kind: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class RangeComputed:
    """A range is computed and not yet written: ``computed`` is the engine's handle (``frame``, ``rows_in``).

    Listeners' ``check`` sees this event; a veto stops the range before anything is written.
    """

    view: str
    kind: str
    start: datetime
    end: datetime
    computed: Any


@dataclass(frozen=True)
class RangeWritten:
    """A range is in the offline store; the ledger does not count it yet."""

    view: str
    kind: str
    result: RangeResult


@dataclass(frozen=True)
class RangeRecorded:
    """A range is written and recorded in the ledger under ``fingerprint``: it counts as done."""

    view: str
    kind: str
    result: RangeResult
    fingerprint: str | None = None


@dataclass(frozen=True)
class RangeFailed:
    """A range (or, with no range, the view's planning) failed; nothing of it was recorded as done."""

    view: str
    kind: str
    start: datetime | None
    end: datetime | None
    error: str
    vetoed_by: str | None = None


@dataclass(frozen=True)
class ViewPushed:
    """Materialization pushed one view's latest rows of ``[start, end)`` and recorded the range."""

    view: str
    start: datetime
    end: datetime
    entities: int
    written: int
    newest_us: int
    engine: str
    seconds: float
    statistics: dict[str, Any] | None = None
    """Per feature, the statistics of the rows pushed (registry ``stats`` form), or None."""


@dataclass(frozen=True)
class ViewFinished:
    """One view is done (any status)."""

    kind: str
    result: ViewResult


@dataclass(frozen=True)
class RunFinished:
    """The run is over."""

    kind: str
    summary: RunSummary | None = None


RunEvent = (RunStarted | ViewStarted | RangeStarted | RangeComputed | RangeWritten | RangeRecorded | RangeFailed
            | ViewPushed | ViewFinished | RunFinished)
