"""Brute force for the aggregation tests (unit and Spark): each function's value over a window's events from its
definition (two-pass moments, exact sets, sorts), and the windows themselves by looping over candidate starts
and sorted events. Independent of ``aquifer.aggregations`` on purpose (only the sketch's error bound)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from aquifer.aggregations.distinct import HLL_REL_ERROR
from aquifer.definitions import Session, Sliding, Tumbling

Event = tuple[int, object, object]
"""``(ts µs, value, by)``."""


def null(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def ranked(v: Any) -> tuple[int, Any]:
    return (1, v) if isinstance(v, str) else (0, v)


# --- the oracle: one function over one window's events -----------------------------------------------------

def oracle(function: str, events: Sequence[Event]) -> Any:
    """The value of ``function`` over events, from their definitions (two-pass moments, sets, sorts)."""
    xs = [(ts, v, by) for ts, v, by in events if not null(v)]
    if function == "count":
        return len(xs)
    if function == "sum":
        return sum(float(v) for _, v, _ in xs) if xs else None  # type: ignore[arg-type]
    if function in ("var_pop", "var_samp", "stddev_pop", "stddev_samp"):
        values = [float(v) for _, v, _ in xs]  # type: ignore[arg-type]
        n = len(values)
        denominator = n - 1 if function.endswith("samp") else n
        if denominator <= 0:
            return None
        mean = sum(values) / n
        variance = sum((v - mean) ** 2 for v in values) / denominator
        return math.sqrt(variance) if function.startswith("stddev") else variance
    if function == "approx_distinct":
        return len({v for _, v, _ in xs})  # exact: the test allows the sketch's error
    if function in ("first", "last"):
        if not xs:
            return None
        ordered = sorted(xs, key=lambda e: (e[0], ranked(e[1])))
        return ordered[0][1] if function == "first" else ordered[-1][1]
    if function.startswith("last_n"):
        k = int(function[len("last_n("):-1])
        pairs = sorted((ts, float(v)) for ts, v, _ in xs)  # type: ignore[arg-type]
        return [v for _, v in pairs[-k:]] or None
    if function in ("min_by", "max_by"):
        best = None
        for ts, v, by in xs:
            if null(by):
                continue
            if best is None:
                best = (ts, v, by)
                continue
            bts, bv, bby = best
            if function == "max_by":
                if (ranked(by), ts, ranked(v)) > (ranked(bby), bts, ranked(bv)):
                    best = (ts, v, by)
            elif ranked(by) < ranked(bby) or (by == bby and (ts > bts or (ts == bts and ranked(v) < ranked(bv)))):
                best = (ts, v, by)
        return None if best is None else best[1]
    raise AssertionError(function)


def empty(function: str) -> Any:
    return 0 if function in ("count", "approx_distinct") else None


def grid_rows(window: Tumbling | Sliding, function: str, events: Sequence[Event]) -> list[tuple[int, int, Any]]:
    """Every window holding an event (any start ``offset + j * step`` with ``start <= ts < start + size``),
    plus after each run the next, empty, window: brute force over candidate starts."""
    size = window.size // timedelta(microseconds=1)
    step = size if isinstance(window, Tumbling) else window.every // timedelta(microseconds=1)
    offset = window.offset // timedelta(microseconds=1)
    starts: set[int] = set()
    for ts, _, _ in events:
        j = (ts - offset) // step - size // step - 1
        while offset + j * step <= ts:
            s = offset + j * step
            if s <= ts < s + size:
                starts.add(s)
            j += 1
    rows = []
    for s in sorted(starts):
        rows.append((s, s + size, oracle(function, [e for e in events if s <= e[0] < s + size])))
        if s + step not in starts:
            rows.append((s + step, s + step + size, empty(function)))
    return sorted(rows)


def lifetime_as_of(function: str, events: Sequence[Event], t: int) -> Any:
    """The lifetime value at ``t``: every event before ``t``."""
    return oracle(function, [e for e in events if e[0] < t])


def agree(function: str, got: Any, want: Any) -> bool:
    if got is None or want is None:
        return got is None and want is None
    if function == "approx_distinct":
        return isinstance(got, int) and abs(got - want) <= max(1.0, HLL_REL_ERROR * want)
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(
            math.isclose(a, b, rel_tol=1e-12) for a, b in zip(got, want, strict=True))
    if isinstance(want, float):
        return isinstance(got, float) and math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)
    return type(got) is type(want) and got == want


def session_rows(window: Session, function: str, events: Sequence[Event]) -> list[tuple[int, int, Any]]:
    """Sessions without ``max_duration``: sorted events, a new one at a gap of at least ``gap``."""
    assert window.max_duration is None
    gap = window.gap // timedelta(microseconds=1)
    rows, current = [], []
    for event in sorted(events, key=lambda e: e[0]):
        if current and event[0] >= current[-1][0] + gap:
            rows.append((current[0][0], current[-1][0] + gap, oracle(function, current)))
            current = []
        current.append(event)
    if current:
        rows.append((current[0][0], current[-1][0] + gap, oracle(function, current)))
    return rows


def lifetime_rows(function: str, events: Sequence[Event]) -> list[tuple[int, int, Any]]:
    """One row per distinct event time ``t`` at ``t + 1``: every event up to ``t``."""
    return [(0, t + 1, lifetime_as_of(function, events, t + 1)) for t in sorted({e[0] for e in events})]
