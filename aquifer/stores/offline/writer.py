"""Replace exactly one event-time range of a view's history with a Spark DataFrame.

The range is widened to whole UTC days (partitions are replaced whole), every row outside it is refused,
the rows land in a staging folder, and the days are swapped in one by one (see ``partitions``). Days of
the range with no rows end up empty: their old rows are gone, as a recomputation demands.

Whoever writes can also look at every row written, in the same write: ``observe`` makes an observer per task
(e.g. the statistics' sketches), fed each day's rows as Arrow tables, whose bytes come back with the result;
several observers share one write as ``Observers``, and ``Written.part`` gives each one's result. Three paths:

- **read back** (the usual one): a task per day sorts the day's rows and Spark's Parquet writer writes them, one
  file per day; then a task per file reads it back with pyarrow, drops the rows ``first_of`` repeats (rewriting
  the file only when there are any) and shows the rows to the observer. Reading Parquet into Arrow costs a
  fraction of handing the JVM's rows to Python tasks (docs/batch_performance.md).
- **arrow**: with ``extra`` columns (computed after the sort, shown to the observer and never written, e.g. row
  checks packed into bit masks), the day files are written by pyarrow inside the Spark tasks (``mapInArrow``),
  which see the extra columns beside the written ones; so are the days of a range too long for a task per day.
- **Spark's writer alone**, unobserved: a frame with a column Arrow cannot carry (a ``VARIANT``).
"""

from __future__ import annotations

import itertools
import logging
import os
import pickle
import shutil
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from aquifer.stores.offline.layout import DATE_PARTITION, EVENT_TS, view_path
from aquifer.stores.offline.partitions import (
    STAGING,
    days_between,
    mark_unique_times,
    partition_name,
    recover,
    swap_in,
)

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

log = logging.getLogger("aquifer.offline")

ROW_GROUP_ROWS = 1 << 20
"""Rows per Parquet row group at most (pyarrow's default); a day's rows are buffered up to this many..."""
ROW_GROUP_BYTES = 128 << 20
"""... or up to this many bytes of Arrow data (Spark's ``parquet.block.size``), whichever comes first."""

DAY_TASKS = 4096
"""Up to this many days a write runs a task per day; beyond, days share tasks by hash."""

_DAY = "__day"
_LANDED = "_spark"  # where Spark's writer lands a write before its files are read back
_EPOCH = date(1970, 1, 1)


class Observer(Protocol):
    """Sees every row a write task writes, one day's ``pa.Table`` at a time; its bytes come back to the caller."""

    def update(self, table: Any) -> Any:
        """Look at rows just written (one UTC day, at most ``ROW_GROUP_ROWS`` of them)."""

    def to_bytes(self) -> bytes:
        """What the task hands back."""


@dataclass
class Written:
    """What a ``write_range`` wrote: ``rows``, and each writing task's ``Observer.to_bytes``.

    ``observed`` is None when the rows were not observed: no ``observe``, a frame written by Spark's writer, or an
    observer that failed (``problem`` says why; the rows are written all the same).
    """

    rows: int
    observed: list[bytes] | None = None
    problem: str | None = None

    def part(self, name: str) -> Written:
        """What the observer ``name`` of an ``Observers`` saw: its bytes from every task, or why there are none."""
        if self.observed is None:
            return Written(self.rows, None, self.problem or "the rows were not observed (Spark's writer wrote them)")
        parts = [pickle.loads(b) for b in self.observed]
        seen = [p.get(name, (None, f"no observer {name!r}")) for p in parts]
        problems = [problem for _, problem in seen if problem is not None]
        if problems:
            return Written(self.rows, None, problems[0])
        return Written(self.rows, [observed for observed, _ in seen])


class Observers:
    """Several observers fed the same rows in one write: ``Observers({"statistics": make, ...})`` as ``observe``
    (through ``functools.partial``); one that fails stops alone, the others go on."""

    def __init__(self, factories: Mapping[str, Callable[[], Observer]]):
        self.members: dict[str, Observer | None] = {name: make() for name, make in factories.items()}
        self.problems: dict[str, str | None] = dict.fromkeys(factories)

    def update(self, table: Any) -> None:
        """Feed ``table`` to every observer still going."""
        for name, member in self.members.items():
            if member is None:
                continue
            try:
                member.update(table)
            except Exception as exc:
                self.members[name], self.problems[name] = None, f"{type(exc).__name__}: {exc}"

    def to_bytes(self) -> bytes:
        """``{name: (bytes or None, problem or None)}``, pickled (``Written.part`` reads it)."""
        out: dict[str, tuple[bytes | None, str | None]] = {}
        for name, member in self.members.items():
            try:
                out[name] = (member.to_bytes(), None) if member is not None else (None, self.problems[name])
            except Exception as exc:
                out[name] = (None, f"{type(exc).__name__}: {exc}")
        return pickle.dumps(out)


def write_range(
    df: DataFrame, offline_root: str | Path, project: str, view: str, start: datetime, end: datetime,
    *, unique_times: bool = False, order: Sequence[Any] = (), observe: Callable[[], Observer] | None = None,
    extra: Mapping[str, Column] | None = None, first_of: Sequence[str] = (),
) -> Written:
    """Write ``df`` (join keys, ``event_ts``, ``created_ts``, features) as the days ``[start, end)`` touches.

    Rows must satisfy ``start <= event_ts < end`` after widening to whole days; others are filtered out
    (callers filter already; this keeps a partition from ever holding another range's rows). Returns the
    rows written (and, with ``observe``, what each task's observer saw; see the module's docstring). With
    ``unique_times`` the caller guarantees one row per (keys, ``event_ts``) and each day written is marked so.
    ``order`` (names or sort ``Column``s, e.g. the join keys and ``event_ts``) sorts each day's file: its content
    then depends on the rows only, not on how the rows were partitioned on the way (a reader summing them in file
    order gets the same floating-point sums from any run), and row-group statistics of the keys are tight.
    ``extra`` columns are computed after the sort and given to the observer beside the written ones, never written
    (ignored when the rows are not observed). ``first_of`` (columns that determine the day, e.g. the keys and
    ``event_ts``, and lead ``order``): of the rows equal in all of them only the first in ``order`` is written (and
    observed), a dedupe that costs no exchange or sort of its own: the writing tasks drop the rows as they meet
    them in the day's sort.
    """
    from pyspark.sql import functions as F

    view_dir = view_path(offline_root, project, view)
    view_dir.mkdir(parents=True, exist_ok=True)
    recover(view_dir)
    days = days_between(start, end)
    if not days:
        return Written(0)
    write_id = uuid.uuid4().hex
    staged = view_dir / STAGING / write_id
    day = F.unix_date(F.to_date(F.col(EVENT_TS)))  # UTC days since 1970-01-01 (the session is in UTC)
    lo, hi = (days[0] - _EPOCH).days, (days[-1] - _EPOCH).days
    out = df.withColumn(_DAY, day).where((F.col(_DAY) >= F.lit(lo)) & (F.col(_DAY) <= F.lit(hi)))
    carry = _arrow_can_carry(df)
    if not carry:
        out = out.withColumn(_DAY, F.date_format(F.col(EVENT_TS), "yyyy-MM-dd"))
    shown = dict(extra or {}) if carry and observe is not None else {}
    # one file per day keeps partitions small and reads fast; days are independent, so this parallelises
    by_task = carry and len(days) <= DAY_TASKS
    if by_task:
        # a task per day: its sort need not lead with the day, whose equal values would leave Spark's sort no
        # usable prefix (every comparison then runs the full comparator: +3.7 s of 7.2 at 10M rows)
        out = out.repartitionById(len(days), F.col(_DAY) - F.lit(lo))
        out = out.sortWithinPartitions(*order) if order else out
    else:  # the day first in the sort: each task meets its days one after another (Spark's writer needs that too)
        out = out.repartition(_DAY)
        if first_of and not carry:
            out = _first_of(out, first_of, order)
        out = out.sortWithinPartitions(_DAY, *order)
    if shown:
        out = out.withColumns(shown)
    if by_task and not shown:
        written = _write_then_read_back(out.drop(_DAY), staged, observe, list(first_of))
    elif carry:
        written = _write_with_arrow(out, staged, observe, list(shown), list(first_of))
    else:
        written = _write_with_spark(out, staged)
    if unique_times:
        for folder in staged.glob(f"{DATE_PARTITION}=*"):
            mark_unique_times(folder)
    swap_in(view_dir, staged, days, write_id)
    shutil.rmtree(staged, ignore_errors=True)
    return written


def _first_of(out: DataFrame, columns: Sequence[str], order: Sequence[Any]) -> DataFrame:
    """Spark's writer's dedupe: the first row in ``order`` of each group of equal ``columns`` (within the day,
    by which ``out`` is partitioned: no exchange of its own)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    window = Window.partitionBy(_DAY, *columns).orderBy(*order)
    return out.withColumn("__first", F.row_number().over(window)).where(F.col("__first") == 1).drop("__first")


def _arrow_can_carry(df: DataFrame) -> bool:
    """Whether pyarrow can write ``df``'s columns as Spark would read them back (not a VARIANT, which Arrow
    carries as a plain struct)."""
    from pyspark.sql.pandas.types import to_arrow_schema

    if "variant" in _type_names(df.schema):
        log.warning("writing with Spark's Parquet writer, unobserved: a VARIANT column")
        return False
    try:
        to_arrow_schema(df.schema, timezone="UTC")
    except Exception as exc:  # e.g. an interval column
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        log.warning("writing with Spark's Parquet writer, unobserved: %s", reason)
        return False
    return True


def _type_names(data_type: Any) -> set[str]:
    """The type names in a Spark type, nested ones included."""
    from pyspark.sql.types import ArrayType, MapType, StructType

    if isinstance(data_type, StructType):
        return set().union(*(_type_names(f.dataType) for f in data_type.fields)) if data_type.fields else set()
    if isinstance(data_type, ArrayType):
        return _type_names(data_type.elementType)
    if isinstance(data_type, MapType):
        return _type_names(data_type.keyType) | _type_names(data_type.valueType)
    return {data_type.typeName()}


def _write_with_spark(out: DataFrame, staged: Path) -> Written:
    """``out``'s ``_DAY`` holds the day as ``yyyy-MM-dd`` here."""
    import pyarrow.parquet as pq

    out.withColumnRenamed(_DAY, DATE_PARTITION).write.mode("overwrite").partitionBy(DATE_PARTITION).parquet(
        str(staged))

    return Written(sum(pq.ParquetFile(f).metadata.num_rows for f in staged.glob("*/*.parquet")))


def _write_then_read_back(out: DataFrame, staged: Path, observe: Callable[[], Observer] | None,
                          first_of: Sequence[str] = ()) -> Written:
    """Spark's writer writes ``out`` (a partition per day, sorted) as one file per day; then a task per file reads it
    back with pyarrow, drops the rows ``first_of`` repeats (rewriting the file only then), shows the rows to the
    observer and names the file's day; the driver moves each kept file into its day's staged folder.

    Spark's writer keeps the rows in the JVM, where handing them to Python tasks as Arrow batches costs more
    than the write (5 s of 15 at 10M rows); reading Parquet back into Arrow costs a fraction of that.
    """
    landed = staged / _LANDED
    # one file per task: a day split over files would hide the repeats that straddle them
    out.write.mode("overwrite").option("maxRecordsPerFile", 0).parquet(str(landed))
    files = sorted(str(f) for f in landed.glob("*.parquet"))
    reports = []
    if files:
        schema = "source string, file string, rows long, observed binary, problem string"
        task = _read_back(files, str(staged), observe, first_of)
        reports = out.sparkSession.range(0, len(files), 1, len(files)).mapInArrow(task, schema).collect()
    for report in reports:
        if report["source"] and report["file"]:
            os.rename(report["source"], report["file"])
    shutil.rmtree(landed, ignore_errors=True)
    return _reported(staged, reports, observe)


def _read_back(files: Sequence[str], staged: str, observe: Callable[[], Observer] | None,
               first_of: Sequence[str] = ()) -> Callable[[Iterator[Any]], Iterator[Any]]:
    """The task function of ``_write_then_read_back``: file numbers in (one per task), one report row out."""

    def read(numbers: Iterator[Any]) -> Iterator[Any]:
        import numpy as np
        import pyarrow as pa
        import pyarrow.parquet as pq
        from pyspark import TaskContext

        context = TaskContext.get()
        tag = f"{context.partitionId():05d}-{context.attemptNumber()}" if context else "00000-0"
        for batch in numbers:
            for number in batch.column(0).to_pylist():
                source = files[number]
                observer = observe() if observe is not None else None
                problem: str | None = None
                parquet = pq.ParquetFile(source)
                if parquet.metadata.num_rows == 0:
                    yield _read_back_report(None, None, 0, observer, problem)
                    continue
                first = parquet.read_row_group(0, columns=[EVENT_TS]).column(0)[0]
                day = (first.cast(pa.timestamp("us", tz=first.type.tz)).value // 86_400_000_000) \
                    if first.is_valid else 0
                target = _file(staged, day, tag)
                dropped = _repeated(parquet, first_of, ROW_GROUP_ROWS) if first_of else np.empty(0, np.int64)
                rows = parquet.metadata.num_rows - len(dropped)
                if observer is None and not len(dropped):
                    yield _read_back_report(source, str(target), rows, observer, problem)
                    continue
                writer = pq.ParquetWriter(target, parquet.schema_arrow, compression="snappy") if len(dropped) \
                    else None
                offset = 0
                for part in parquet.iter_batches(batch_size=ROW_GROUP_ROWS):
                    table = pa.Table.from_batches([part])
                    if len(dropped):
                        mask = np.ones(part.num_rows, bool)
                        mask[dropped[(dropped >= offset) & (dropped < offset + part.num_rows)] - offset] = False
                        table = table.filter(pa.array(mask))
                        writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
                    offset += part.num_rows
                    if observer is not None:
                        try:
                            observer.update(table)
                        except Exception as exc:  # an observer never fails the write
                            observer, problem = None, f"{type(exc).__name__}: {exc}"
                if writer is not None:
                    writer.close()
                yield _read_back_report(None if writer is not None else source, str(target), rows, observer,
                                        problem)

    return read


def _repeated(parquet: Any, columns: Sequence[str], batch_rows: int) -> Any:
    """Positions of the rows of a sorted file equal in ``columns`` to the row before them (``_firsts``), read
    ``batch_rows`` at a time."""
    import numpy as np

    out, offset, last = [], 0, None
    for part in parquet.iter_batches(batch_size=batch_rows, columns=list(columns)):
        if part.num_rows:
            out.append(np.flatnonzero(~_firsts(part, columns, last).to_numpy(zero_copy_only=False)) + offset)
            last, offset = part.slice(part.num_rows - 1, 1), offset + part.num_rows
    return np.concatenate(out) if out else np.empty(0, np.int64)


def _read_back_report(source: str | None, file: str | None, rows: int, observer: Observer | None,
                      problem: str | None) -> Any:
    import pyarrow as pa

    observed, problem = _finish(observer, problem)
    return pa.RecordBatch.from_pydict(
        {"source": [source], "file": [file], "rows": [rows], "observed": [observed], "problem": [problem]},
        schema=pa.schema([("source", pa.string()), ("file", pa.string()), ("rows", pa.int64()),
                          ("observed", pa.binary()), ("problem", pa.string())]))


def _write_with_arrow(out: DataFrame, staged: Path, observe: Callable[[], Observer] | None, shown: Sequence[str] = (),
                      first_of: Sequence[str] = ()) -> Written:
    """Each task writes its days' files into ``staged`` and reports them; files no report names (a failed or
    retried attempt's) are deleted before the swap, so each row is in the staged days exactly once."""
    staged.mkdir(parents=True, exist_ok=True)
    report = "file string, rows long, observed binary, problem string"
    reports = out.mapInArrow(_day_writer(str(staged), observe, shown, first_of), report).collect()
    return _reported(staged, reports, observe)


def _reported(staged: Path, reports: Sequence[Any], observe: Callable[[], Observer] | None) -> Written:
    """What the tasks' ``reports`` (rows with ``file``, ``rows``, ``observed``, ``problem``) say was written; files in
    ``staged``'s days that no report names (a failed or retried attempt's) are deleted, so each row is staged once."""
    kept = {Path(r["file"]) for r in reports if r["file"]}
    for found in staged.glob("*/*.parquet"):
        if found not in kept:
            found.unlink()
    rows = sum(int(r["rows"]) for r in reports if r["file"])
    problems = [r["problem"] for r in reports if r["problem"]]
    if observe is None or problems:
        return Written(rows, None, problems[0] if problems else None)
    observed = [bytes(r["observed"]) for r in reports if r["observed"] is not None]
    return Written(rows, observed or [observe().to_bytes()])  # nothing written: what an observer of nothing says


def _day_writer(staged: str, observe: Callable[[], Observer] | None, shown: Sequence[str] = (),
                first_of: Sequence[str] = ()) -> Callable[[Iterator[Any]], Iterator[Any]]:
    """The task function of ``_write_with_arrow``: batches of one day, or sorted by day, in; one report row per
    file out; the ``shown`` columns go to the observer only; of the rows equal in ``first_of`` only the first is
    kept."""

    def write(batches: Iterator[Any]) -> Iterator[Any]:
        import numpy as np
        import pyarrow as pa
        import pyarrow.parquet as pq
        from pyspark import TaskContext

        context = TaskContext.get()
        tag = f"{context.partitionId():05d}-{context.attemptNumber()}" if context else "00000-0"
        observer = observe() if observe is not None else None
        problem: str | None = None
        files: list[str] = []
        counts: list[int] = []
        held: list[Any] = []
        held_rows = held_bytes = 0
        current: int | None = None
        writer: Any = None
        last: Any = None  # the previous batch's last row, for ``first_of``

        def flush() -> None:
            nonlocal held, held_rows, held_bytes, writer, observer, problem
            if not held:
                return
            table = pa.Table.from_batches(held).drop_columns([_DAY]).combine_chunks()
            held, held_rows, held_bytes = [], 0, 0
            rows = table.drop_columns(list(shown)) if shown else table
            if writer is None:
                where = _file(staged, current, tag)
                writer = pq.ParquetWriter(where, rows.schema, compression="snappy")
                files.append(str(where))
                counts.append(0)
            writer.write_table(rows, row_group_size=ROW_GROUP_ROWS)
            counts[-1] += rows.num_rows
            if observer is not None:
                try:
                    observer.update(table)
                except Exception as exc:  # an observer never fails the write
                    observer, problem = None, f"{type(exc).__name__}: {exc}"

        def close() -> None:
            nonlocal writer
            flush()
            if writer is not None:
                writer.close()
                writer = None

        for batch in batches:
            if first_of and batch.num_rows:
                kept = _firsts(batch, first_of, last)
                last = batch.slice(batch.num_rows - 1, 1)
                batch = batch.filter(kept)
                if not batch.num_rows:
                    continue
            days = batch.column(_DAY).to_numpy(zero_copy_only=False)
            cuts = [0, *(np.flatnonzero(days[1:] != days[:-1]) + 1).tolist(), len(days)]
            for lo, hi in itertools.pairwise(cuts):
                if hi == lo:
                    continue
                day = int(days[lo])
                if day != current:
                    close()
                    current = day
                part = batch.slice(lo, hi - lo)
                held.append(part)
                held_rows += part.num_rows
                held_bytes += part.nbytes
                if held_rows >= ROW_GROUP_ROWS or held_bytes >= ROW_GROUP_BYTES:
                    flush()
        close()
        observed, problem = _finish(observer, problem)
        if not files:  # nothing written, but the observer's (empty) view still comes back
            files, counts = [None], [0]
        rest = [None] * (len(files) - 1)
        yield pa.RecordBatch.from_pydict({"file": files, "rows": counts, "observed": [observed, *rest],
                                          "problem": [problem, *rest]}, schema=_report_schema())

    return write


def _finish(observer: Observer | None, problem: str | None) -> tuple[bytes | None, str | None]:
    """A task's observer's bytes (None without one) and its problem (``problem``, or why ``to_bytes`` failed)."""
    if observer is None:
        return None, problem
    try:
        return observer.to_bytes(), problem
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}"


def _firsts(batch: Any, columns: Sequence[str], last: Any) -> Any:
    """A boolean mask of the rows of ``batch`` (sorted so that equal ``columns`` are adjacent) that differ in some
    of ``columns`` from the row before them (``last``, a one-row batch, before the first); nulls equal nulls."""
    import pyarrow as pa
    import pyarrow.compute as pc

    differ: Any = None
    for name in columns:
        column = batch.column(name)
        before = pa.concat_arrays([last.column(name) if last is not None else pa.nulls(1, column.type),
                                   column.slice(0, len(column) - 1)])
        ne = pc.not_equal(column, before)
        one_null = pc.xor(column.is_null(), before.is_null())
        step = pc.if_else(ne.is_null(), one_null, ne)
        differ = step if differ is None else pc.or_(differ, step)
    if last is None:  # the task's first row is always first
        differ = pa.concat_arrays([pa.array([True]), differ.slice(1)])
    return differ


def _file(staged: str, day: int | None, tag: str) -> Path:
    """A new file in the staged folder of ``day`` (days since 1970-01-01)."""
    folder = Path(staged) / partition_name(_EPOCH + timedelta(days=int(day or 0)))
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"part-{tag}-{uuid.uuid4().hex}.parquet"


def _report_schema() -> Any:
    import pyarrow as pa

    return pa.schema([("file", pa.string()), ("rows", pa.int64()), ("observed", pa.binary()),
                      ("problem", pa.string())])
