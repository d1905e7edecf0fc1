"""The serving log: a sample of what online lookups answered, written to the offline store as Parquet.

What drift compares with training (``aquifer drift``). ``serving.log_sample_rate`` in ``aquifer.yaml`` (0 =
off, the default) is the chance that each requested entity's row is logged (independent Bernoulli draws,
so the log is a uniform sample of served rows). Layout, one folder per view and UTC day of serving::

    <offline root>/_serving_log/<project>/<view>/date=YYYY-MM-DD/<uuid>.parquet

Each row: the view's join keys, each served feature (by its feature name, declared type), its status
(``<feature>__status``: present / stale / missing / unavailable), the value's event time ``event_ts`` and
``served_at`` (both timestamps in microseconds, UTC). Lookups only append rows to an in-memory buffer;
a background thread writes them when ``serving.log_flush_rows`` rows are waiting or every
``serving.log_flush_s`` seconds, and ``close`` (server shutdown, process exit) writes the rest. Files are
written under a dot-name and renamed into place, so a reader never sees half a file. A write that fails is
logged and its rows dropped: the log is a sample and must never slow or break serving.
"""

from __future__ import annotations

import atexit
import logging
import random
import threading
import uuid
import weakref
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aquifer.serving.plan import RetrievalPlan
from aquifer.serving.result import OnlineResult

log = logging.getLogger("aquifer.serving.log")

LOG_FOLDER = "_serving_log"
SERVED_AT = "served_at"
EVENT_TS = "event_ts"
STATUS_SUFFIX = "__status"
DAY_US = 86_400_000_000


def log_root(offline_root: str | Path, project: str) -> Path:
    """``<offline root>/_serving_log/<project>``."""
    return Path(offline_root) / LOG_FOLDER / project


def view_log_path(offline_root: str | Path, project: str, view: str) -> Path:
    """The folder of one view's serving log."""
    return log_root(offline_root, project) / view


class _Buffer:
    """Rows waiting for one view: column lists plus the declared Arrow types of its features."""

    def __init__(self, keys: Sequence[str], features: Sequence[str], types: dict[str, str]):
        self.keys, self.features, self.types = tuple(keys), tuple(features), types
        self.columns: dict[str, list[Any]] = {c: [] for c in self.names()}

    def names(self) -> list[str]:
        return [*self.keys, *self.features, *(f + STATUS_SUFFIX for f in self.features), EVENT_TS, SERVED_AT]

    def __len__(self) -> int:
        return len(self.columns[SERVED_AT])


class ServingLog:
    """Samples online answers into per-view buffers and writes them as Parquet in a background thread.

    ``rate`` is the per-entity sampling probability; ``seed`` makes the draws repeatable (tests).
    """

    def __init__(
        self, offline_root: str | Path, project: str, rate: float, *, flush_rows: int = 10_000,
        flush_s: float = 30.0, seed: int | None = None,
    ):
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"log_sample_rate must be between 0 and 1, got {rate}")
        self.root = Path(offline_root)
        self.project = project
        self.rate = float(rate)
        self.flush_rows = int(flush_rows)
        self.flush_s = float(flush_s)
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._buffers: dict[tuple[str, tuple[str, ...]], _Buffer] = {}
        self._pending = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.files_written = 0
        self.rows_written = 0
        self.rows_dropped = 0
        self._closed = False

    @classmethod
    def from_config(cls, config: Any) -> ServingLog | None:
        """The log ``config.serving`` asks for, or None when ``log_sample_rate`` is 0."""
        settings = getattr(config, "serving", None) or {}
        rate = float(settings.get("log_sample_rate", 0.0))
        if rate <= 0:
            return None
        return cls(config.offline_path, config.project, rate, flush_rows=int(settings.get("log_flush_rows", 10_000)),
                   flush_s=float(settings.get("log_flush_s", 30.0)))

    # ---- the request path: pick rows, append, return ------------------------------------------------------

    def record(self, plan: RetrievalPlan, result: OnlineResult) -> int:
        """Append a sample of ``result``'s entities (all when ``rate`` is 1); returns how many were kept."""
        n = len(result)
        if n == 0 or self.rate <= 0 or self._closed:
            return 0
        if self.rate >= 1.0:
            rows = range(n)
        else:
            draw = self._random.random
            rows = [i for i in range(n) if draw() < self.rate]
            if not rows:
                return 0
        served = result.served_at_us
        with self._lock:
            for group in plan.groups:
                for read in group.views:
                    self._append(read, group.group.join_keys, result, rows, served)
            self._pending += len(rows)
            full = self._pending >= self.flush_rows
        self._ensure_thread()
        if full:
            self._wake.set()
        return len(rows)

    def _append(self, read: Any, join_keys: Sequence[str], result: OnlineResult, rows: Sequence[int],
                served: int) -> None:
        view = read.view
        features = tuple(read.codec.names[i] for i in read.indices)
        key = (view.name, features)
        buffer = self._buffers.get(key)
        if buffer is None:
            declared = {f.name: f.dtype.arrow for f in view.features}
            buffer = self._buffers[key] = _Buffer(join_keys, features, {f: declared.get(f, "") for f in features})
        cols = buffer.columns
        for k in join_keys:
            source = result.entities[k]
            cols[k].extend(source[i] for i in rows)
        for feature, column in zip(features, read.columns, strict=True):
            values, statuses = result.values[column], result.statuses[column]
            cols[feature].extend(values[i] for i in rows)
            cols[feature + STATUS_SUFFIX].extend(statuses[i] for i in rows)
        times = result.event_times_us.get(view.name) or [None] * len(result)
        cols[EVENT_TS].extend(times[i] for i in rows)
        cols[SERVED_AT].extend([served] * len(rows))

    # ---- the background writer --------------------------------------------------------------------------

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._loop, name="aquifer-serving-log", daemon=True)
            self._thread.start()
        _OPEN.add(self)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_s)
            self._wake.clear()
            if self._stop.is_set():
                break
            self.flush()

    def flush(self) -> int:
        """Write every buffered row now; returns the number of rows written."""
        with self._lock:
            buffers, self._buffers, self._pending = self._buffers, {}, 0
        written = 0
        for (view, _), buffer in buffers.items():
            try:
                written += self._write(view, buffer)
            except Exception as exc:  # the log is a sample: never let it break serving
                self.rows_dropped += len(buffer)
                log.error("serving log: could not write %d rows of view %r: %s", len(buffer), view, exc)
        self.rows_written += written
        return written

    def _write(self, view: str, buffer: _Buffer) -> int:
        import pyarrow as pa
        import pyarrow.parquet as pq

        served = buffer.columns[SERVED_AT]
        days: dict[int, list[int]] = {}
        for i, us in enumerate(served):
            days.setdefault(us // DAY_US, []).append(i)
        table = pa.table({name: _array(name, values, buffer) for name, values in buffer.columns.items()})
        folder = view_log_path(self.root, self.project, view)
        for day, index in days.items():
            part = table if len(index) == len(served) else table.take(pa.array(index, type=pa.int64()))
            date = datetime.fromtimestamp(day * 86_400, UTC).strftime("%Y-%m-%d")
            target = folder / f"date={date}"
            target.mkdir(parents=True, exist_ok=True)
            name = f"{uuid.uuid4().hex}.parquet"
            temporary = target / f".{name}.tmp"
            pq.write_table(part, temporary)
            temporary.rename(target / name)
            self.files_written += 1
        return len(served)

    def close(self) -> None:
        """Stop the writer thread and write what is buffered (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.flush()
        _OPEN.discard(self)


def _array(name: str, values: list[Any], buffer: _Buffer) -> Any:
    import pyarrow as pa

    if name in (EVENT_TS, SERVED_AT):
        return pa.array(values, type=pa.int64()).cast(pa.timestamp("us", tz="UTC"))
    declared = buffer.types.get(name)
    if declared:
        try:
            if declared.startswith("timestamp"):
                return pa.array(values, type=pa.timestamp("us", tz="UTC"))
            return pa.array(values, type=pa.type_for_alias(declared))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
            pass  # a served default of another type: keep the values as they are
    return pa.array(values)


_OPEN: weakref.WeakSet[ServingLog] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    """Write what every open log still buffers when the process exits."""
    for serving_log in list(_OPEN):
        serving_log.close()


def read_serving_log(
    offline_root: str | Path, project: str, view: str, *, since: datetime | None = None,
    until: datetime | None = None, statuses: Sequence[str] | None = ("present",),
) -> dict[str, list[Any]]:
    """Logged values of ``view`` per feature (``{feature: values}``), served in ``[since, until)``.

    With ``statuses`` (default: only ``present``), values served with another status — defaults for missing
    or expired values — come back as None, as training's nulls for the same rows. ``{}`` when nothing is logged.
    """
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    folder = view_log_path(offline_root, project, view)
    if not folder.is_dir():
        return {}
    files = sorted(p for p in folder.glob("date=*/*.parquet") if not p.name.startswith("."))
    if since is not None:
        first = since.astimezone(UTC).strftime("%Y-%m-%d")
        files = [p for p in files if p.parent.name.removeprefix("date=") >= first]
    if until is not None:
        last = until.astimezone(UTC).strftime("%Y-%m-%d")
        files = [p for p in files if p.parent.name.removeprefix("date=") <= last]
    out: dict[str, list[Any]] = {}
    for path in files:
        table = pq.read_table(path)
        if since is not None:
            table = table.filter(pc.greater_equal(table[SERVED_AT], _scalar(since)))
        if until is not None:
            table = table.filter(pc.less(table[SERVED_AT], _scalar(until)))
        for name in table.column_names:
            if not name.endswith(STATUS_SUFFIX):
                continue
            feature = name.removesuffix(STATUS_SUFFIX)
            values = table[feature].to_pylist()
            if statuses is not None:
                allowed = set(statuses)
                values = [v if s in allowed else None for v, s in zip(values, table[name].to_pylist(), strict=True)]
            out.setdefault(feature, []).extend(values)
    return out


def _scalar(when: datetime) -> Any:
    import pyarrow as pa

    return pa.scalar(when.astimezone(UTC), type=pa.timestamp("us", tz="UTC"))
