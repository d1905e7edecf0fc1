"""Where in event time a source's rows lie, read from Parquet footer statistics (never the rows), and so
where a view can have rows at all.

A source's **extent** is the union of its row groups' ``[min, max]`` event times (each file's footer
holds them per row group), as half-open intervals at microsecond precision. It is ``None`` (unknown:
the caller must assume rows anywhere) when any file is not Parquet, a row group has no statistics for the
time column, or the column holds text (ISO times sort as text, not as times).

A view's extent follows what it reads by event time: a ``FeatureView``'s is the union of its upstreams'
(widened forward by an upstream's read window, ``read_windows``), an ``AggregationView``'s is its source's
widened forward by how far back a range reads history (a window ending up to that much after the last
event still holds it). Snapshots and as-of dimensions (read whole, or up to a range's end) never make rows
on their own and add nothing. ``docs/semantics.md``, "Empty ranges".
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aquifer.analysis.source_files import data_files
from aquifer.definitions import (
    AggregationView,
    BatchSource,
    FeatureView,
    KafkaSource,
    Lifetime,
    Session,
    Sliding,
    Tumbling,
)
from aquifer.times import EPOCH, as_utc

Extent = list[tuple[datetime, datetime]]
"""Sorted, coalesced half-open ``[start, end)`` intervals; None elsewhere means "unknown"."""

MICRO = timedelta(microseconds=1)
_UNIT_MICROS = {"s": 1_000_000, "ms": 1_000, "us": 1}


def coalesce(intervals: list[tuple[datetime, datetime]]) -> Extent:
    """Sort and merge overlapping or touching intervals."""
    out: Extent = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _as_time(value: Any, unit: str | None) -> datetime | None:
    """A footer statistic as a UTC datetime floored to microseconds (None when it is not a time)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        if unit is None:
            return None
        if unit == "ns":
            return EPOCH + timedelta(microseconds=value // 1000)
        return EPOCH + timedelta(microseconds=value * _UNIT_MICROS[unit])
    if hasattr(value, "to_pydatetime"):  # pandas' Timestamp (nanoseconds): truncated to microseconds
        value = value.to_pydatetime(warn=False)
    if isinstance(value, datetime):
        return as_utc(value)
    return None  # floats, text, dates: not compared as times here


def parquet_extent(location: Path, column: str, unit: str | None = None) -> Extent | None:
    """The union of every row group's ``[min, max]`` of ``column`` under ``location`` (None: unknown)."""
    import pyarrow.parquet as pq

    found: list[tuple[datetime, datetime]] = []
    for path in data_files(location):
        try:
            meta = pq.read_metadata(path)
        except (OSError, ValueError):
            return None  # the run names the unreadable file; here it only means "unknown"
        index = next((i for i in range(meta.num_columns) if meta.schema.column(i).path == column), None)
        if index is None:
            return None
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            if group.num_rows == 0:
                continue
            stats = group.column(index).statistics
            if stats is None or not stats.has_min_max:
                if stats is not None and stats.null_count == group.num_rows:
                    continue  # only null times: rows no range holds
                return None
            low, high = _as_time(stats.min, unit), _as_time(stats.max, unit)
            if low is None or high is None:
                return None
            found.append((low, high + MICRO))
    return coalesce(found)


def source_extent(source: BatchSource | KafkaSource, root: Path) -> Extent | None:
    """A source's extent from its files' footers (a Kafka source: its landed ``batch_source``'s files)."""
    batch = source.batch_source if isinstance(source, KafkaSource) else source
    if batch is None or batch.format != "parquet" or batch.path is None:
        return None
    field = source.timestamp_field
    if field is None:
        return None
    location = Path(batch.path)
    location = location if location.is_absolute() else root / location
    if not location.exists():
        return None
    return parquet_extent(location, field, batch.timestamp_unit)


def reach(view: AggregationView, session_lookback: timedelta) -> timedelta | None:
    """How long after an event a window holding it (or its closing row) can end; None for a window kind
    without a bound here (then where the view has rows is unknown)."""
    back = timedelta(0)
    for a in view.aggregations:
        w = a.window
        if isinstance(w, Session):
            back = max(back, session_lookback, (w.max_duration or timedelta(0)) + w.gap)
        elif isinstance(w, Tumbling):
            back = max(back, 2 * w.size)
        elif isinstance(w, Sliding):
            back = max(back, w.size + w.every)
        elif isinstance(w, Lifetime):  # one row per event time, at ts + 1 µs
            back = max(back, timedelta(microseconds=1))
        else:
            return None
    return back


def view_extent(name: str, definitions: Mapping[str, Any], root: Path, *, session_lookback: timedelta,
                memo: dict[str, Extent | None] | None = None) -> Extent | None:
    """Where ``name`` (a source or view) can have rows; None when any event-read input's extent is unknown."""
    from aquifer.analysis.dimensions import EVENT, view_join_plan

    memo = {} if memo is None else memo
    if name in memo:
        return memo[name]
    memo[name] = None  # a cycle reads as unknown
    d = definitions.get(name)
    out: Extent | None = None
    if isinstance(d, BatchSource | KafkaSource):
        out = None if isinstance(d, BatchSource) and d.is_snapshot else source_extent(d, root)
    elif isinstance(d, AggregationView) and d.source is not None:
        inner = view_extent(d.source.name, definitions, root, session_lookback=session_lookback, memo=memo)
        ahead = reach(d, session_lookback)
        out = None if inner is None or ahead is None else coalesce([(s, e + ahead) for s, e in inner])
    elif isinstance(d, FeatureView):
        joins = view_join_plan(d, definitions)
        parts: list[tuple[datetime, datetime]] = []
        event_read = [up for up in d.declared_upstreams if joins.read_mode(up, definitions.get(up)) == EVENT]
        known = bool(event_read)  # a view reading nothing by event time: where its rows lie is unknown
        for up in event_read if known else []:
            inner = view_extent(up, definitions, root, session_lookback=session_lookback, memo=memo)
            if inner is None:
                known = False
                break
            ahead = getattr(joins, "lookbacks", {}).get(up) or timedelta(0)
            parts += [(s, e + ahead) for s, e in inner]
        out = coalesce(parts) if known else None
    memo[name] = out
    return out
