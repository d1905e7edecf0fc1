"""Consistency check: the stream's online values against the batch computation over the landed events.

The stream lands the events it accepted into its ``KafkaSource``'s ``batch_source`` (``landing.EventLanding``), so
the batch rules (``aggregations.reference``: the brute-force model every engine is tested against) over those
files must give what the stream wrote online. For a range ``[start, end)``:

- every entity whose online vector's ``event_ts`` ``E`` (the newest window end the stream emitted for it) lies in
  the range is **compared**: each feature's online value against ``value_as_of(E)`` of the batch window rows of
  its landed events. ``count`` must be equal; other aggregates equal within 1e-9 (relative, or absolute near 0:
  sums regroup floats); a percentile equal, or, when its window holds more than ``KLL_K`` values, a value whose
  true rank among them is within ``KLL_RANK_ERROR`` of ``q`` (the sketch's documented bound). ``event_ts`` itself
  is checked too: some batch window must end exactly at ``E``;
- **online only**: an entity compared that has no landed event at all;
- **missing online**: an entity with a batch window ending in the range, at or before the newest online
  ``event_ts`` of the view (every window up to it has been emitted, on one partition), but no online value in or
  after the range. With several partitions whose watermarks differ, a lagging partition's entities can show
  here while their windows are still being emitted: check a quiet stream, or a range its watermarks passed.

**What is read.** Landed events with ``ts < end`` and, when the view has no session window, ``ts >=
start - 2 * the longest (size + step)`` of its windows: the values at ``E >= start`` need events from ``start -
size - step`` on, and the margin keeps the earliest rows read whole. A feature with no batch row at ``E`` in that
span (its last window closed before it) may be online as the empty value (count 0, others null) or null: that is
the closing row after older events, or no event ever, and the span cannot tell which. A view with a session window
reads from the first landed event: a session chain (and, with ``max_duration``, where it is cut) depends on
events arbitrarily far back.

``compare`` is pure (dicts in, a ``ConsistencyReport`` out); ``read_landed_events``, ``read_online`` and
``online_keys`` do the I/O; ``check_consistency`` runs them in order.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from aquifer.aggregations import (
    HLL_REL_ERROR,
    KLL_K,
    KLL_RANK_ERROR,
    aggregator_for,
    compute_windows,
    duration_micros,
    is_null,
    window_step,
)
from aquifer.analysis.source_files import data_files
from aquifer.definitions import Aggregation, AggregationView, KafkaSource, Lifetime, Session
from aquifer.engines.stream.events import BadEvent, event_time
from aquifer.engines.stream.landing import landing_location
from aquifer.stores.online.codec import ViewCodec
from aquifer.stores.online.interface import OnlineStore, OnlineStoreUnavailable
from aquifer.stores.online.keys import EntityKeyError, entity_group
from aquifer.times import from_micros, to_micros

REL_TOL = 1e-9
ABS_TOL = 1e-9
EVENT_TS = "event_ts"
READ_BATCH = 1000

Events = dict[str, list[tuple[int, dict[str, float | None]]]]
"""Encoded entity key -> ``(event time µs, {aggregation column: value})`` of its landed events."""
Vectors = dict[str, tuple[int, Sequence[Any]]]
"""Encoded entity key -> ``(event_ts µs, feature values in the view's order)`` as stored online."""


def iso(us: int | None) -> str | None:
    """Epoch microseconds as ISO 8601 UTC text with ``Z`` (None stays None)."""
    if us is None:
        return None
    return from_micros(us).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Mismatch:
    """One entity whose online value differs from the batch one (``feature`` ``event_ts``: its window end)."""

    feature: str
    key: str
    event_ts: int
    online: Any
    batch: Any
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"feature": self.feature, "key": self.key, "event_ts": iso(self.event_ts), "online": self.online,
                "batch": self.batch, "detail": self.detail}


@dataclass
class FeatureReport:
    """One feature's comparison: entities compared, mismatches, the largest difference, some examples."""

    feature: str
    tolerance: str
    compared: int = 0
    mismatches: int = 0
    max_abs_diff: float | None = None
    examples: list[Mismatch] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"feature": self.feature, "tolerance": self.tolerance, "compared": self.compared,
                "mismatches": self.mismatches, "max_abs_diff": self.max_abs_diff,
                "examples": [m.to_dict() for m in self.examples]}


@dataclass
class ConsistencyReport:
    """The result of ``compare``; ``consistent`` when nothing differs and no entity is on one side only."""

    view: str
    start: int
    end: int
    read_from: int | None
    events_read: int
    features: list[FeatureReport]
    keys_in_range: int = 0
    newer_than_range: int = 0
    horizon: int | None = None
    online_only: list[str] = field(default_factory=list)
    online_only_count: int = 0
    missing_online: list[str] = field(default_factory=list)
    missing_online_count: int = 0
    online_scanned: bool = True

    @property
    def mismatch_count(self) -> int:
        """Differing values (every feature, ``event_ts`` included) plus entities on one side only."""
        return sum(f.mismatches for f in self.features) + self.online_only_count + self.missing_online_count

    @property
    def consistent(self) -> bool:
        """True when the stream and the batch agree on every compared value and entity."""
        return self.mismatch_count == 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (times as ISO 8601 UTC)."""
        return {
            "view": self.view, "start": iso(self.start), "end": iso(self.end), "consistent": self.consistent,
            "mismatches": self.mismatch_count, "events_read": self.events_read, "read_from": iso(self.read_from),
            "keys_in_range": self.keys_in_range, "newer_than_range": self.newer_than_range,
            "newest_online": iso(self.horizon), "online_scanned": self.online_scanned,
            "features": [f.to_dict() for f in self.features],
            "online_only": {"count": self.online_only_count, "keys": self.online_only},
            "missing_online": {"count": self.missing_online_count, "keys": self.missing_online},
        }

    def render(self) -> list[str]:
        """The report as text lines (what ``aquifer consistency`` prints)."""
        lines = [f"view {self.view}: online (stream) vs batch over the landed events, window ends in "
                 f"[{iso(self.start)}, {iso(self.end)})"]
        since = f"from {iso(self.read_from)}" if self.read_from is not None else "from the first one (sessions)"
        lines.append(f"landed events read: {self.events_read:,} {since}, before {iso(self.end)}")
        searched = "" if self.online_scanned else " (online store not scanned: only keys with landed events)"
        lines.append(f"entities: {self.keys_in_range:,} online in range{searched}, {self.newer_than_range:,} newer "
                     f"than the range (not compared); newest online event_ts {iso(self.horizon) or '-'}")
        width = max(len("feature"), *(len(f.feature) for f in self.features))
        lines.append(f"{'feature':<{width}}  {'compared':>8}  {'mismatches':>10}  {'max |diff|':>10}  tolerance")
        for f in self.features:
            diff = "-" if f.max_abs_diff is None else f"{f.max_abs_diff:.6g}"
            lines.append(f"{f.feature:<{width}}  {f.compared:>8,}  {f.mismatches:>10,}  {diff:>10}  {f.tolerance}")
        examples = [m for f in self.features for m in f.examples]
        for m in examples:
            detail = f" ({m.detail})" if m.detail else ""
            lines.append(f"  {m.feature}: key {m.key} at {iso(m.event_ts)}: online {m.online!r}, "
                         f"batch {m.batch!r}{detail}")
        if self.online_only_count:
            lines.append(f"online only (no landed event): {self.online_only_count:,}: "
                         f"{_shown(self.online_only, self.online_only_count)}")
        if self.missing_online_count:
            lines.append(f"missing online (a batch window ended in range by {iso(self.horizon)}): "
                         f"{self.missing_online_count:,}: {_shown(self.missing_online, self.missing_online_count)}")
        count = self.mismatch_count
        if self.horizon is None:
            lines.append("no online value of the view was found: nothing to compare (has the stream emitted a window "
                         "yet, under this project?)")
        verdict = "consistent" if self.consistent else f"{count:,} mismatch{'' if count == 1 else 'es'}"
        lines.append(verdict)
        return lines


def _shown(keys: Sequence[str], count: int) -> str:
    text = ", ".join(keys)
    return text + (f", ... ({count - len(keys):,} more)" if count > len(keys) else "")


# --- what to read ------------------------------------------------------------------------------------------


def read_from(view: AggregationView, start_us: int) -> int | None:
    """The earliest event time the check reads for window ends from ``start_us`` (None: every event)."""
    if any(isinstance(a.window, Session | Lifetime) for a in view.aggregations):
        return None
    span = max(duration_micros(a.window.size) + window_step(a.window) for a in view.aggregations)  # type: ignore[arg-type]
    return start_us - 2 * span


def _tolerance(aggregation: Aggregation) -> str:
    if aggregation.function == "count":
        return "exact"
    if aggregation.quantile is not None:
        return f"exact to {KLL_K} values, then rank ±{KLL_RANK_ERROR:.2%}"
    return f"{REL_TOL:g} relative"


# --- the comparison (pure) ---------------------------------------------------------------------------------


def compare(view: AggregationView, online: Vectors, events: Events, start_us: int, end_us: int, *,
            read_from_us: int | None, limit: int = 10, online_scanned: bool = True) -> ConsistencyReport:
    """Compare ``online`` vectors with the batch rules over ``events`` for window ends in ``[start_us, end_us)``.

    ``events`` are the landed events read from ``read_from_us`` (None: all) to ``end_us``; ``online`` holds the
    vectors of every entity found (in range or not). ``limit`` bounds the examples kept per feature and list.
    """
    aggregations = view.aggregations
    features = [FeatureReport(EVENT_TS, "a batch window ends at it")]
    features += [FeatureReport(a.feature_name, _tolerance(a)) for a in aggregations]
    report = ConsistencyReport(view.name, start_us, end_us, read_from_us, sum(len(v) for v in events.values()),
                               features, online_scanned=online_scanned)
    report.horizon = max((ts for ts, _ in online.values()), default=None)
    bounded = read_from_us is not None
    cache: dict[str, list[list[tuple[int, int, Any]]]] = {}

    def rows_of(key: str) -> list[list[tuple[int, int, Any]]]:
        if key not in cache:
            mine = sorted(events.get(key, ()), key=lambda e: e[0])
            cache[key] = [[(r.start, r.end, r.value) for r in
                           compute_windows([(ts, values.get(a.column), values.get(a.by or "")) for ts, values in mine],
                                           a)]
                          for a in aggregations]
        return cache[key]

    for key in sorted(online, key=_natural):
        at, values = online[key]
        if at >= end_us:
            report.newer_than_range += 1
            continue
        if at < start_us:
            continue
        report.keys_in_range += 1
        if not events.get(key):
            report.online_only_count += 1
            if len(report.online_only) < limit:
                report.online_only.append(key)
            continue
        rows = rows_of(key)
        ends = [end for per in rows for _, end, _ in per if end <= at]
        stamp = features[0]
        stamp.compared += 1
        if at not in ends:
            newest = max(ends, default=None)
            _record(stamp, Mismatch(EVENT_TS, key, at, iso(at), iso(newest),
                                    "no batch window ends there; newest batch window end before it shown"), limit)
        for i, aggregation in enumerate(aggregations):
            _compare_feature(features[i + 1], aggregation, key, at, values[i], rows[i], events[key], bounded, limit)

    if report.horizon is not None:
        until = min(end_us, report.horizon + 1)
        for key in sorted(events, key=_natural):
            held = online.get(key)
            if held is not None and held[0] >= start_us:
                continue  # compared, or newer than the range
            if any(start_us <= end < until for per in rows_of(key) for _, end, _ in per):
                report.missing_online_count += 1
                if len(report.missing_online) < limit:
                    report.missing_online.append(key)
    return report


def _natural(key: str) -> tuple[int, Any]:
    """Numeric keys in numeric order, then the others as text."""
    return (0, int(key)) if key.lstrip("-").isdigit() else (1, key)


def _record(report: FeatureReport, mismatch: Mismatch, limit: int) -> None:
    report.mismatches += 1
    if len(report.examples) < limit:
        report.examples.append(mismatch)


def _latest(rows: Sequence[tuple[int, int, Any]], at: int) -> tuple[int, int, Any] | None:
    """The row with the greatest ``end <= at`` (``value_as_of``'s choice), or None."""
    best = None
    for row in rows:
        if row[1] <= at and (best is None or (row[1], row[0]) > (best[1], best[0])):
            best = row
    return best


def _compare_feature(report: FeatureReport, aggregation: Aggregation, key: str, at: int, online: Any,
                     rows: Sequence[tuple[int, int, Any]], events: Sequence[tuple[int, Mapping[str, Any]]],
                     bounded: bool, limit: int) -> None:
    report.compared += 1
    row = _latest(rows, at)
    batch = None if row is None else row[2]
    online = None if is_null(online) else online
    if row is None and bounded:
        empty = aggregator_for(aggregation.function).finalize(aggregator_for(aggregation.function).init())
        if online is None or online == empty:
            return  # its last window closed before the events read: see the module docstring
    if isinstance(online, int | float) and isinstance(batch, int | float):
        diff = abs(float(online) - float(batch))
        report.max_abs_diff = diff if report.max_abs_diff is None else max(report.max_abs_diff, diff)
    ok, detail = _agree(aggregation, online, batch, row, events)
    if not ok:
        _record(report, Mismatch(report.feature, key, at, online, batch, detail), limit)


def _agree(aggregation: Aggregation, online: Any, batch: Any, row: tuple[int, int, Any] | None,
           events: Sequence[tuple[int, Mapping[str, Any]]]) -> tuple[bool, str]:
    if online is None or batch is None:
        return online is None and batch is None, ""
    if aggregation.function == "count":
        return int(online) == int(batch), ""
    if aggregation.function == "approx_distinct":  # merged and updated sketches differ within the bound
        return abs(int(online) - int(batch)) <= max(1.0, HLL_REL_ERROR * int(batch)), f"HLL bound ±{HLL_REL_ERROR:.2%}"
    if isinstance(batch, list):
        return isinstance(online, list) and len(online) == len(batch) and all(
            math.isclose(float(a), float(b), rel_tol=REL_TOL, abs_tol=ABS_TOL)
            for a, b in zip(online, batch, strict=True)), ""
    if not isinstance(batch, int | float) or isinstance(batch, bool):
        return online == batch, ""
    if math.isclose(float(online), float(batch), rel_tol=REL_TOL, abs_tol=ABS_TOL):
        return True, ""
    q = aggregation.quantile
    if q is None or row is None:
        return False, ""
    start, end = row[0], row[1]
    values = [float(v[aggregation.column]) for ts, v in events  # type: ignore[arg-type]
              if start <= ts < end and not is_null(v.get(aggregation.column))]
    n = len(values)
    if n <= KLL_K:
        return False, f"{n} value{'' if n == 1 else 's'}: the sketch is exact"
    below = sum(1 for v in values if v < online) / n
    upto = sum(1 for v in values if v <= online) / n
    ok = below - KLL_RANK_ERROR <= q <= upto + KLL_RANK_ERROR
    return ok, f"{n} values; online value's rank {below:.4f}..{upto:.4f}, q {q}, bound ±{KLL_RANK_ERROR:.4f}"


# --- I/O -----------------------------------------------------------------------------------------------------


def kafka_view(view: AggregationView) -> KafkaSource:
    """The view's ``KafkaSource``; ``ValueError`` naming the view when it has none or no ``batch_source``."""
    source = view.source
    if not isinstance(source, KafkaSource):
        raise ValueError(f"view {view.name!r} reads {type(source).__name__} {getattr(source, 'name', '?')!r}, "
                         "not a KafkaSource: there is no stream to check")
    batch = source.batch_source
    if batch is None:
        raise ValueError(f"view {view.name!r}: KafkaSource {source.name!r} has no batch_source, so no landed events "
                         "to check against")
    if batch.path is None or batch.format != "parquet":
        raise ValueError(f"view {view.name!r}: batch_source {batch.name!r} is not Parquet files "
                         f"({batch.table or batch.format}): the check reads landed Parquet")
    return source


def read_landed_events(view: AggregationView, root: str | Path, since_us: int | None, end_us: int) -> Events:
    """The landed events of ``view`` with ``since_us <= ts < end_us`` per encoded entity key.

    Reads the batch source's Parquet files as the batch reader does (a file, a folder, a glob; time columns as
    timestamps, ISO text, or epoch numbers in its ``timestamp_unit``); rows with a null key or time are skipped,
    as the batch run skips them. ``ValueError`` naming the file when one lacks a needed column.
    """
    import pyarrow.parquet as pq

    source = kafka_view(view)
    batch = source.batch_source
    assert batch is not None
    location = landing_location(batch, root)
    if not location.exists() and "*" not in location.name:
        raise ValueError(f"view {view.name!r}: batch_source {batch.name!r} path {location} does not exist "
                         "(no event landed yet?)")
    group = entity_group(view)
    ts_field = source.timestamp_field
    columns = list(dict.fromkeys(a.column for a in view.aggregations))
    out: Events = {}
    for path in data_files(location):
        names = set(pq.read_schema(path).names)
        needed = [*group.join_keys, ts_field]
        missing = [c for c in needed if c not in names]
        if missing:
            raise ValueError(f"view {view.name!r}: file {path} has no column {missing[0]!r}")
        present = [c for c in columns if c in names]
        table = pq.read_table(path, columns=list(dict.fromkeys([*needed, *present])))
        times = _micros(table.column(ts_field), batch.timestamp_unit, path, ts_field)
        keys = [table.column(k).to_pylist() for k in group.join_keys]
        values = {c: _numbers(table.column(c).to_pylist()) for c in present}
        for i, ts in enumerate(times):
            if ts is None or ts >= end_us or (since_us is not None and ts < since_us):
                continue
            parts = [k[i] for k in keys]
            if any(p is None for p in parts):
                continue
            try:
                key = group.encode(parts)
            except EntityKeyError:
                continue
            out.setdefault(key, []).append((ts, {c: (values[c][i] if c in values else None) for c in columns}))
    return out


def _micros(column: Any, unit: str | None, path: Path, name: str) -> list[int | None]:
    """A time column as epoch microseconds (nanoseconds floored, as the batch reader does)."""
    import pyarrow as pa

    kind = column.type
    if pa.types.is_timestamp(kind):
        factor = {"s": 1_000_000, "ms": 1_000, "us": 1}.get(kind.unit)
        raw = column.cast(pa.int64()).to_pylist()
        if factor is None:
            return [None if v is None else v // 1000 for v in raw]
        return [None if v is None else v * factor for v in raw]
    if pa.types.is_date(kind):
        return [None if d is None else to_micros(datetime(d.year, d.month, d.day)) for d in column.to_pylist()]
    out: list[int | None] = []
    for value in column.to_pylist():
        if value is None:
            out.append(None)
            continue
        try:
            out.append(event_time(value, unit, name))
        except BadEvent as exc:
            raise ValueError(f"file {path}, column {name!r}: {exc}") from None
    return out


def _numbers(values: list[Any]) -> list[float | None]:
    out: list[float | None] = []
    for v in values:
        try:
            number = None if v is None else float(v)
        except (TypeError, ValueError):
            number = None  # the batch run's cast to double gives null too
        out.append(None if number is None or math.isnan(number) else number)
    return out


def read_online(view: AggregationView, store: OnlineStore, project: str, keys: Iterable[str]) -> Vectors:
    """The online vectors of ``keys`` (encoded entity keys); keys without a value of ``view`` are left out."""
    prefix = entity_group(view).prefix(project)
    codec = ViewCodec.for_view(view)
    wanted = list(dict.fromkeys(keys))
    out: Vectors = {}
    for i in range(0, len(wanted), READ_BATCH):
        chunk = wanted[i:i + READ_BATCH]
        blobs = store.read([(prefix + key, [view.name]) for key in chunk])
        for key, (blob,) in zip(chunk, blobs, strict=True):
            decoded = codec.decode(blob) if blob is not None else None
            if decoded is not None:
                out[key] = (decoded[0], decoded[2])
    return out


def online_keys(view: AggregationView, store: OnlineStore, project: str) -> list[str] | None:
    """Every encoded key of the view's entity group in the online store (a SCAN); None when the store offers no
    scan (the ``OnlineStore`` protocol has none: this uses the Redis client the Redis store holds)."""
    client = getattr(store, "client", None)
    if client is None or not hasattr(client, "scan_iter"):
        return None
    prefix = entity_group(view).prefix(project)
    pattern = "".join("\\" + ch if ch in "*?[]\\" else ch for ch in prefix) + "*"
    try:
        return [raw.decode()[len(prefix):] if isinstance(raw, bytes) else raw[len(prefix):]
                for raw in client.scan_iter(match=pattern, count=READ_BATCH)]
    except Exception as exc:  # redis-py's connection errors; engines do not import redis itself
        raise OnlineStoreUnavailable(f"online store unreachable while listing keys: {exc}") from exc


def check_consistency(view: AggregationView, *, root: str | Path, store: OnlineStore, project: str,
                      start: datetime, end: datetime, limit: int = 10) -> ConsistencyReport:
    """Read the landed events and the online vectors of ``view`` and ``compare`` them for ``[start, end)``."""
    kafka_view(view)
    start_us, end_us = to_micros(start), to_micros(end)
    if start_us >= end_us:
        raise ValueError(f"start {iso(start_us)} is not before end {iso(end_us)}")
    since = read_from(view, start_us)
    events = read_landed_events(view, root, since, end_us)
    scanned = online_keys(view, store, project)
    online = read_online(view, store, project, [*events, *(scanned or ())])
    return compare(view, online, events, start_us, end_us, read_from_us=since, limit=limit,
                   online_scanned=scanned is not None)
