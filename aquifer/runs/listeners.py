"""Run listeners: who hears a run's events, and who may veto a computed range before it is written.

A listener is any object with ``on_event(event)``; one that also has ``check(event: RangeComputed)``
returning a reason (a string) vetoes that range: the run fails it, nothing is written and the ledger
does not move. Listeners hear events in the order they were given; an exception from one is a bug and
stops the run (a veto is the way to refuse a range).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from aquifer.runs.events import RangeComputed, RunEvent


@runtime_checkable
class RunListener(Protocol):
    """Hears every event of a run."""

    def on_event(self, event: RunEvent) -> None:
        """Called once per event, in order."""


@runtime_checkable
class RangeCheck(Protocol):
    """May refuse a computed range before it is written."""

    def check(self, event: RangeComputed) -> str | None:
        """A reason to refuse the range, or None to let it be written."""


@dataclass(frozen=True)
class Veto:
    """A refused range: who refused it and why."""

    listener: str
    reason: str

    def __str__(self) -> str:
        return f"refused by {self.listener}: {self.reason}"


class Listeners:
    """The listeners of one run, called in order."""

    def __init__(self, listeners: Iterable[object] = ()):
        self.listeners = list(listeners)

    def emit(self, event: RunEvent) -> None:
        """Deliver ``event`` to every listener that has ``on_event``."""
        for listener in self.listeners:
            if isinstance(listener, RunListener):
                listener.on_event(event)

    def row_checks(self, view: Any) -> list[Any]:
        """The expectations listeners will validate on ``view``'s computed ranges (those with a
        ``row_checks(view)``), handed to the engine so it can count the row-level ones while it computes."""
        return [ce for listener in self.listeners if hasattr(listener, "row_checks")
                for ce in listener.row_checks(view)]

    def check(self, event: RangeComputed) -> Veto | None:
        """The first veto of a computed range, or None when every checking listener lets it through."""
        for listener in self.listeners:
            if isinstance(listener, RangeCheck):
                reason = listener.check(event)
                if reason:
                    return Veto(type(listener).__name__, reason)
        return None
