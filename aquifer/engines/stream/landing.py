"""Landing: the events a stream worker accepted, written to its ``KafkaSource``'s ``batch_source`` as Parquet.

The stream lands raw accepted events (late and bad ones went to the dead-letter topic), not its window results,
so that a batch run or backfill of the view over its ``batch_source`` computes exactly what the stream computed
and writes it through the offline store's replace-by-range rules. Raw events also let a changed view definition be
recomputed, need no JVM in the worker, and stay one row per event where sliding windows would multiply rows.

**Where.** The ``batch_source``'s ``path`` (relative paths against the repo root, as the batch reader resolves
them) is a folder of Parquet files; the batch readers (``analysis.source_files.data_files``, Spark) read every file
below it and skip names starting with ``.`` or ``_``. A path that is one existing file, a glob, a table or another
format is refused with a ``ValueError`` naming the source: the reader would not pick up files landed beside it.

**Files.** One file per checkpoint and topic partition, ``<topic>-p<partition>-<first:020d>-<last:020d>.parquet``
(first and last offset of the checkpoint's messages in that partition, dead letters included). Delivery is
at-least-once: a checkpoint that was not committed is processed again from its first offset, maybe with other
boundaries. So ``land`` first deletes the partition's files whose first offset is at or after this call's first
offset (committed progress always ends before it), then writes its file to a hidden temporary name and renames
it into place: a reader sees a whole file or none, and a replay leaves no duplicate.

**Columns** (the same in every file, as the readers require: see docs/semantics.md "Source files"): the join keys,
the Kafka source's ``timestamp_field`` (and the batch source's, when it names another column) as
``timestamp[us, tz=UTC]``, the batch source's ``created_timestamp_field`` (the landing time), the declared schema
fields and the aggregation columns (``Float64`` unless declared). Columns that files already in the folder hold
are kept too, so landed files agree with them; a type clash with those files is refused up front.
"""

from __future__ import annotations

import math
import os
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aquifer.analysis.source_files import DataFile, inspect_files, widen
from aquifer.definitions import AggregationView, BatchSource, KafkaSource
from aquifer.definitions.types import Bool, Bytes, FeatureType, Float32, Float64, Int32, Int64, String, Timestamp
from aquifer.engines.stream.events import UNIT_MICROS, BadEvent, event_time
from aquifer.stores.online.keys import EntityKeyError, entity_group, render
from aquifer.times import from_micros

STALE_TEMP_S = 3600.0
"""A temporary file of a partition older than this is a crashed attempt's leftover: the first ``land`` of the
partition in a process removes it (a younger one may belong to a worker still writing it)."""

NUMBER_TYPES = (Int64, Int32, Float64, Float32)


class LandingError(ValueError):
    """Events cannot be landed as asked (an offset range overlapping a landed file, an event without a key...)."""


@dataclass(frozen=True)
class LandedFile:
    """A file ``land`` wrote: its path and the partition and offsets in its name."""

    path: Path
    partition: int
    first_offset: int
    last_offset: int


def file_prefix(topic: str) -> str:
    """The file-name prefix of a topic's landed files; never starts with ``.`` or ``_`` (readers skip those)."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", topic)
    return f"topic{safe}" if safe.startswith((".", "_")) else safe


def landing_location(source: BatchSource, root: str | Path) -> Path:
    """The absolute folder a batch source's path names (relative paths against the repo ``root``)."""
    path = Path(source.path or "")
    return path if path.is_absolute() else Path(root) / path


class EventLanding:
    """Lands one view's accepted events into its Kafka source's ``batch_source`` folder (module docstring).

    Build it with ``EventLanding.for_view(view, root)``; call ``land`` once per checkpoint and topic partition,
    before the checkpoint's offsets are committed (an exception must keep them uncommitted).
    """

    def __init__(self, view: AggregationView, root: str | Path) -> None:
        source = view.source
        if not isinstance(source, KafkaSource):
            raise ValueError(f"view {view.name!r} reads {type(source).__name__} {getattr(source, 'name', '?')!r}, "
                             "not a KafkaSource: it has no events to land")
        if source.batch_source is None:
            raise ValueError(f"KafkaSource {source.name!r} has no batch_source: there is nowhere to land its events")
        self.view = view
        self.source = source
        self.batch = source.batch_source
        self.folder = self._folder(Path(root))
        self.prefix = file_prefix(source.topic)
        self._name = re.compile(rf"^{re.escape(self.prefix)}-p(\d+)-(\d{{20}})-(\d{{20}})\.parquet$")
        self.columns = self._columns()
        self._check_existing_files()
        self._arrow_schema: Any = None
        self._swept: set[int] = set()  # partitions whose crashed attempts' temporaries were removed

    @classmethod
    def for_view(cls, view: AggregationView, root: str | Path) -> EventLanding | None:
        """The landing of ``view``'s events; None when its ``KafkaSource`` has no ``batch_source``.

        ``ValueError`` naming the source when the batch source cannot receive landed files (not Parquet, a
        table, a glob, one existing file, or files there whose columns clash with the events').
        """
        if isinstance(view.source, KafkaSource) and view.source.batch_source is None:
            return None
        return cls(view, root)

    # --- setup ---------------------------------------------------------------------------------------------

    def _folder(self, root: Path) -> Path:
        batch, who = self.batch, f"batch_source {self.batch.name!r} of KafkaSource {self.source.name!r}"
        if batch.path is None:
            raise ValueError(f"{who} is the table {batch.table!r}: events land as Parquet files in a folder; "
                             "give the batch source a path= (a folder)")
        if batch.format != "parquet":
            raise ValueError(f"{who} has format {batch.format!r}: events land as Parquet; use format='parquet' "
                             "and a folder path")
        if "*" in Path(batch.path).name:
            raise ValueError(f"{who} path {batch.path!r} is a glob: events land in a folder; give the folder's path")
        folder = landing_location(batch, root)
        if folder.is_file():
            raise ValueError(
                f"{who} path {batch.path!r} is one Parquet file ({folder}): the batch reader reads that file "
                f"alone, so events landed beside it would never be read. Make it a folder holding the file: "
                f"mv {folder} {folder}.tmp && mkdir {folder} && mv {folder}.tmp {folder}/part-0.parquet"
            )
        if folder.exists() and not folder.is_dir():
            raise ValueError(f"{who} path {folder} exists but is not a folder")
        return folder

    def _columns(self) -> dict[str, FeatureType]:
        """Column name -> type of every landed file (see the module docstring)."""
        source, batch, view = self.source, self.batch, self.view
        declared = {f.name: f.dtype for f in (source.schema or batch.schema)}
        group = entity_group(view)
        columns: dict[str, FeatureType] = {}
        for key, type_name in zip(group.join_keys, group.key_types, strict=True):
            columns[key] = declared.get(key) or _TYPES[type_name]
        times = dict.fromkeys(t for t in (source.timestamp_field, batch.timestamp_field,
                                          batch.created_timestamp_field) if t)
        for name in times:
            dtype = declared.get(name, Timestamp)
            if dtype in NUMBER_TYPES and batch.timestamp_unit is None:
                raise ValueError(
                    f"KafkaSource {source.name!r} declares its time column {name!r} as {dtype.name} but batch_source "
                    f"{batch.name!r} declares no timestamp_unit: landed epoch numbers could not be read back; "
                    "declare timestamp_unit= on the batch source, or the column as Timestamp"
                )
            if dtype not in (Timestamp, String, *NUMBER_TYPES):
                raise ValueError(f"KafkaSource {source.name!r} declares its time column {name!r} as {dtype.name}: "
                                 "a time column holds timestamps, ISO text or epoch numbers")
            columns[name] = dtype
        for name, dtype in declared.items():
            columns.setdefault(name, dtype)
        for aggregation in view.aggregations:
            columns.setdefault(aggregation.column, Float64)
        return columns

    def _check_existing_files(self) -> None:
        """Columns of files already in the folder join the landed columns; a type clash is refused now."""
        if not self.folder.is_dir():
            return
        try:
            files = inspect_files(self.folder, "parquet")
        except Exception as exc:  # a corrupt or foreign file: the batch reader would fail on it too
            raise ValueError(f"batch_source {self.batch.name!r}: cannot read the Parquet files in {self.folder}: "
                             f"{exc}") from None
        if not files.files:
            return
        partitioned: list[DataFile] = [f for f in files.files if f.partitions]
        if partitioned:
            raise ValueError(f"batch_source {self.batch.name!r}: {self.folder} is hive-partitioned "
                             f"({partitioned[0].path}); landed files are flat and would lack its partition columns")
        for name, found in files.columns.items():
            mine = self.columns.get(name)
            if mine is None:
                if found is None:
                    raise ValueError(f"batch_source {self.batch.name!r}: column {name!r} in {files.where(name)} has "
                                     "a type landed files cannot hold")
                self.columns[name] = found
            elif found is None or widen(mine, found) is None:
                raise ValueError(
                    f"batch_source {self.batch.name!r}: column {name!r} is {', '.join(files.found.get(name, {}))} in "
                    f"{files.where(name)}, but the landed events hold {mine.name}: the batch reader refuses files "
                    "that disagree; land into an empty folder or rewrite those files"
                )

    # --- landing -------------------------------------------------------------------------------------------

    def landed_files(self, partition: int | None = None) -> list[LandedFile]:
        """The files landed so far (of one partition, or all), by partition and first offset."""
        if not self.folder.is_dir():
            return []
        out = []
        for path in self.folder.iterdir():
            match = self._name.match(path.name)
            if match and (partition is None or int(match.group(1)) == partition):
                out.append(LandedFile(path, int(match.group(1)), int(match.group(2)), int(match.group(3))))
        return sorted(out, key=lambda f: (f.partition, f.first_offset))

    def file_name(self, partition: int, first_offset: int, last_offset: int) -> str:
        """``<topic>-p<partition>-<first:020d>-<last:020d>.parquet``."""
        return f"{self.prefix}-p{partition}-{first_offset:020d}-{last_offset:020d}.parquet"

    def land(self, partition: int, first_offset: int, last_offset: int,
             events: Sequence[tuple[int, Mapping[str, Any]]]) -> int:
        """Land one checkpoint's accepted events of one partition; returns the rows written.

        ``first_offset``/``last_offset``: the first and last offset of the messages the checkpoint processed in
        ``partition`` (dead letters included). ``events``: ``(event time in epoch µs, decoded JSON payload)`` of
        each accepted event, the payload holding every join key (one taken from the message key put in it).
        Files of the partition from ``first_offset`` on (an uncommitted attempt) are deleted first; with no
        events nothing else is written. ``LandingError`` when a landed file straddles ``first_offset``.
        """
        if partition < 0 or first_offset < 0 or last_offset < first_offset:
            raise LandingError(f"view {self.view.name!r}: bad offsets for partition {partition}: "
                               f"{first_offset}..{last_offset}")
        mine = self.landed_files(partition)
        straddling = [f for f in mine if f.first_offset < first_offset <= f.last_offset]
        if straddling:
            raise LandingError(
                f"view {self.view.name!r}: landed file {straddling[0].path} holds offsets "
                f"{straddling[0].first_offset}..{straddling[0].last_offset} of partition {partition}, and events "
                f"from offset {first_offset} are being landed again: landing them would double the events in "
                "between. Another worker or view lands this topic, or its offsets were reset; move the file away "
                "once its events are accounted for"
            )
        table = self._table(events, partition, first_offset) if events else None  # refuse bad events first
        for stale in mine:
            if stale.first_offset >= first_offset:
                stale.path.unlink(missing_ok=True)
        if partition not in self._swept:
            self._remove_stale_temporaries(partition)
            self._swept.add(partition)
        if table is None:
            return 0
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.folder / self.file_name(partition, first_offset, last_offset)
        temp = self.folder / f".{final.name}.{uuid.uuid4().hex}.tmp"
        try:
            _write_parquet(table, temp)
            os.replace(temp, final)
        finally:
            temp.unlink(missing_ok=True)
        _fsync_dir(self.folder)
        return table.num_rows

    def _remove_stale_temporaries(self, partition: int) -> None:
        if not self.folder.is_dir():
            return
        cutoff = time.time() - STALE_TEMP_S
        for path in self.folder.glob(f".{self.prefix}-p{partition}-*.tmp"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except FileNotFoundError:
                pass

    def _table(self, events: Sequence[tuple[int, Mapping[str, Any]]], partition: int, first_offset: int) -> Any:
        import pyarrow as pa

        landed_at = time.time_ns() // 1000
        ts_columns = {self.source.timestamp_field, self.batch.timestamp_field}
        created = self.batch.created_timestamp_field
        keys = set(entity_group(self.view).join_keys)
        arrays = []
        for name, dtype in self.columns.items():
            if name in ts_columns or name == created:
                times = [landed_at if name == created and name not in ts_columns else ts for ts, _ in events]
                arrays.append(self._times(times, dtype))
                continue
            convert = _converter(dtype)
            values = []
            for i, (_, payload) in enumerate(events):
                value = payload.get(name)
                try:
                    if value is None and name in keys:
                        raise ValueError("the payload has no value for it")
                    values.append(None if value is None else convert(value))
                except (TypeError, ValueError, EntityKeyError, OverflowError) as exc:
                    raise LandingError(
                        f"view {self.view.name!r}: event {i} of partition {partition} (checkpoint from offset "
                        f"{first_offset}): column {name!r} = {value!r} cannot be landed as {dtype.name}: {exc}"
                    ) from None
            arrays.append(pa.array(values, type=_arrow_type(dtype)))
        if self._arrow_schema is None:
            self._arrow_schema = pa.schema([pa.field(n, _arrow_type(t)) for n, t in self.columns.items()])
        table = pa.Table.from_arrays(arrays, schema=self._arrow_schema)
        # sorted by time: row-group statistics then let range reads skip most of a file
        return table.sort_by(self.source.timestamp_field)

    def _times(self, micros: list[int], dtype: FeatureType) -> Any:
        import pyarrow as pa

        if dtype == Timestamp:
            return pa.array(micros, type=pa.timestamp("us", tz="UTC"))
        if dtype == String:
            return pa.array([from_micros(t).isoformat().replace("+00:00", "Z") for t in micros], type=pa.string())
        unit = self.batch.timestamp_unit
        assert unit is not None  # _columns refuses numeric time columns without a unit
        if unit == "ns":
            numbers = [t * 1000 for t in micros]
        elif dtype in (Int64, Int32):
            numbers = [t // UNIT_MICROS[unit] for t in micros]  # floor: reading back never moves an event later
        else:
            numbers = [t / UNIT_MICROS[unit] for t in micros]
        return pa.array(numbers, type=_arrow_type(dtype))


_TYPES: dict[str, FeatureType] = {t.name: t for t in (Int64, Int32, Float64, Float32, String, Bool, Bytes, Timestamp)}


def _arrow_type(dtype: FeatureType) -> Any:
    import pyarrow as pa

    return pa.timestamp("us", tz="UTC") if dtype == Timestamp else pa.type_for_alias(dtype.arrow)


def _to_float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("not a number")
    number = float(value)
    return None if math.isnan(number) else number


def _to_int(value: Any) -> int:
    return int(render(value, "Int64"))


def _to_text(value: Any) -> str:
    if isinstance(value, dict | list):
        import json

        return json.dumps(value, separators=(",", ":"))
    return render(value, "String")


def _to_bool(value: Any) -> bool:
    return render(value, "Bool") == "true"


def _to_bytes(value: Any) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


def _to_micros(value: Any) -> int:
    try:
        return event_time(value, None, "value")
    except BadEvent as exc:
        raise ValueError(str(exc)) from None


def _converter(dtype: FeatureType) -> Callable[[Any], Any]:
    return {"Int64": _to_int, "Int32": _to_int, "Float64": _to_float, "Float32": _to_float, "String": _to_text,
            "Bool": _to_bool, "Bytes": _to_bytes, "Timestamp": _to_micros}[dtype.name]


def _write_parquet(table: Any, path: Path) -> None:
    import pyarrow.parquet as pq

    pq.write_table(table, path, compression="snappy")
    with path.open("rb") as handle:  # durable before the rename makes it visible
        os.fsync(handle.fileno())


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
