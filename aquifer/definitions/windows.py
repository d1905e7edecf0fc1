"""Event-time windows (half-open ``[start, end)``): definitions only; engines assign events to them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from aquifer.definitions.base import DefinitionError, caller_location
from aquifer.definitions.durations import DurationError, format_duration, parse_duration


def _duration(value: object, what: str, location: str | None) -> timedelta:
    try:
        return parse_duration(value)  # type: ignore[arg-type]
    except DurationError as exc:
        raise DefinitionError(f"{what}: {exc}", location) from None


def _label(value: timedelta) -> str:
    # a negative size is reported by window_problems; until then its feature name must stay an identifier
    return format_duration(value).replace("-", "minus_")


def _offset_label(offset: timedelta) -> str:
    return f"_offset_{_label(offset)}" if offset else ""


def _grid_repr(window: Tumbling | Sliding) -> str:
    """The dataclass repr without a zero offset: windows without one read as before offsets existed (stream
    consumer groups and state layout checks hash these reprs)."""
    fields = [f"size={window.size!r}"]
    if isinstance(window, Sliding):
        fields.append(f"every={window.every!r}")
    if window.offset:
        fields.append(f"offset={window.offset!r}")
    return f"{type(window).__name__}({', '.join(fields)})"


@dataclass(frozen=True, repr=False)
class Tumbling:
    """Back-to-back windows of ``size``, aligned to the Unix epoch shifted by ``offset``.

    ``Tumbling("1h", offset="15m")`` gives ``[00:15, 01:15)``, ``[01:15, 02:15)``…; ``0 <= offset < size``.
    """

    size: timedelta
    offset: timedelta = timedelta(0)
    location: str | None = field(default=None, compare=False, repr=False, kw_only=True)

    def __post_init__(self) -> None:
        object.__setattr__(self, "location", self.location or caller_location())
        object.__setattr__(self, "size", _duration(self.size, "Tumbling size", self.location))
        object.__setattr__(self, "offset", _duration(self.offset, "Tumbling offset", self.location))

    @property
    def label(self) -> str:
        """Used in feature names: ``Tumbling("5m")`` → ``5m``; ``Tumbling("1h", offset="15m")`` →
        ``1h_offset_15m``."""
        return _label(self.size) + _offset_label(self.offset)

    def __repr__(self) -> str:
        return _grid_repr(self)


@dataclass(frozen=True, repr=False)
class Sliding:
    """Windows of ``size`` starting every ``every`` (aligned to the epoch shifted by ``offset``, with
    ``0 <= offset < every``); an event lands in several."""

    size: timedelta
    every: timedelta
    offset: timedelta = timedelta(0)
    location: str | None = field(default=None, compare=False, repr=False, kw_only=True)

    def __post_init__(self) -> None:
        object.__setattr__(self, "location", self.location or caller_location())
        object.__setattr__(self, "size", _duration(self.size, "Sliding size", self.location))
        object.__setattr__(self, "every", _duration(self.every, "Sliding every", self.location))
        object.__setattr__(self, "offset", _duration(self.offset, "Sliding offset", self.location))

    @property
    def label(self) -> str:
        """``Sliding("1h", every="5m")`` → ``1h_every_5m`` (``…_offset_1m`` with an offset)."""
        return f"{_label(self.size)}_every_{_label(self.every)}" + _offset_label(self.offset)

    def __repr__(self) -> str:
        return _grid_repr(self)


@dataclass(frozen=True)
class Session:
    """Per-entity sessions that close after ``gap`` without events (and at most ``max_duration`` long)."""

    gap: timedelta
    max_duration: timedelta | None = None
    location: str | None = field(default=None, compare=False, repr=False, kw_only=True)

    def __post_init__(self) -> None:
        object.__setattr__(self, "location", self.location or caller_location())
        object.__setattr__(self, "gap", _duration(self.gap, "Session gap", self.location))
        if self.max_duration is not None:
            object.__setattr__(
                self, "max_duration", _duration(self.max_duration, "Session max_duration", self.location)
            )

    @property
    def label(self) -> str:
        """``Session(gap="30m")`` → ``session_30m``."""
        return f"session_{_label(self.gap)}"


@dataclass(frozen=True)
class Lifetime:
    """All of an entity's history: the value at ``t`` aggregates every event before ``t``. Never closes.

    Batch writes one row per distinct event time ``ts`` of the entity, at ``ts`` + 1 µs (the first time the
    event is visible: rows are visible from their time on, and an event is never visible at its own time).
    The stream emits a row per key at each watermark advance that passed new events of that key.
    """

    location: str | None = field(default=None, compare=False, repr=False, kw_only=True)

    def __post_init__(self) -> None:
        object.__setattr__(self, "location", self.location or caller_location())

    @property
    def label(self) -> str:
        """``Lifetime()`` → ``lifetime``."""
        return "lifetime"


Window = Tumbling | Sliding | Session | Lifetime


def window_problems(window: Window) -> list[str]:
    """Everything wrong with a window's parameters (empty when it is valid)."""
    problems = []
    if isinstance(window, Tumbling) and window.size <= timedelta(0):
        problems.append(f"tumbling window size must be positive, got {window.size}")
    if isinstance(window, Tumbling | Sliding):
        kind, step, what = ("tumbling", window.size, "size") if isinstance(window, Tumbling) else \
            ("sliding", window.every, "step (every)")
        if window.offset < timedelta(0):
            problems.append(f"{kind} window offset must not be negative, got {format_duration(window.offset)}")
        elif step > timedelta(0) and window.offset >= step:
            problems.append(
                f"{kind} window offset {format_duration(window.offset)} must be smaller than its {what} "
                f"{format_duration(step)} (windows repeat every {format_duration(step)}: use an offset below it)"
            )
    if isinstance(window, Sliding):
        if window.size <= timedelta(0):
            problems.append(f"sliding window size must be positive, got {window.size}")
        if window.every <= timedelta(0):
            problems.append(f"sliding window step must be positive, got {window.every}")
        elif window.every > window.size:
            problems.append(
                f"sliding window step {format_duration(window.every)} is larger than its size "
                f"{format_duration(window.size)} (events between windows would be dropped)"
            )
        elif window.size.total_seconds() % window.every.total_seconds():
            problems.append(
                f"sliding window size {format_duration(window.size)} must be a multiple of its step "
                f"{format_duration(window.every)}"
            )
    if isinstance(window, Session):
        if window.gap <= timedelta(0):
            problems.append(f"session gap must be positive, got {window.gap}")
        if window.max_duration is not None and window.max_duration <= timedelta(0):
            problems.append(f"session max_duration must be positive, got {window.max_duration}")
    return problems
