"""Point-in-time join in DuckDB: the labels ``ASOF LEFT JOIN`` each view's Parquet, in one query.

Rules (the same as the Spark engine's):

- the match is the greatest ``(event_ts, created_ts)`` with ``(event_ts, created_ts) <= (ts, +inf)``,
  i.e. the greatest ``event_ts <= ts`` and, on ties, the greatest ``created_ts``. Both pairs are packed
  into one HUGEINT, ``epoch_us(event_ts) * 2^64 + (epoch_us(created_ts) + 2^63)`` (a missing created_ts
  counts as the lowest value; the label side uses ``2^64 - 1`` as its second half), whose order is the
  pairs' lexicographic order, so ties are settled inside the join by one integer comparison instead of a
  struct comparison or a separate dedupe pass. When every day read is marked as holding one row per
  (keys, ``event_ts``) (the batch pipeline's writes are; ``partitions.unique_times``) there are no ties,
  and the key is plain ``epoch_us(event_ts)``: a BIGINT sorts and compares about a third faster;
- a source's availability delay shifts each feature row to when it became usable: it matches a label at
  ``ts`` only when ``event_ts + delay <= ts`` (the TTL still counts from ``event_ts``);
- ``LEFT`` keeps every label row; a match older than ``ts - ttl`` is turned into nulls afterwards;
- feature rows are pruned to the day partitions and rows with ``min(ts) - ttl <= event_ts <= max(ts)``;
  the files are listed once, swap-aware (``partitions.snapshot_files``), so no day is missed mid-swap.

Times are compared as TIMESTAMPTZ with the session zone pinned to UTC, so naive Parquet timestamps read
as UTC. Labels arrive as an Arrow table (row id, UTC timestamp, keys) that DuckDB scans in place.

``duckdb_pit_join`` collects the result as one Arrow table; ``duckdb_pit_batches`` runs the same query
ordered by row id and streams it through DuckDB's Arrow record-batch reader (the sort spills to disk
past DuckDB's memory limit), so a result larger than memory can be read a batch at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from aquifer.engines.duckdb.sql import cursor, duck_type, parquet_scan, quote, timestamp
from aquifer.planning.pit import LABEL_TS, ROW_ID, PitFeature, PitPlan, PitView
from aquifer.stores.offline.layout import CREATED_TS, EVENT_TS
from aquifer.stores.offline.partitions import read_days, snapshot_files, unique_times

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

RETRIES = 3
SHIFT = 2**64  # HUGEINT match key: epoch_us(event_ts) * SHIFT + (epoch_us(created_ts) + SHIFT / 2)
T = TypeVar("T")


def duckdb_pit_join(labels: pa.Table, plan: PitPlan, connection: duckdb.DuckDBPyConnection | None = None) -> pa.Table:
    """``ROW_ID`` plus every requested feature column for each label row (in no particular order).

    A swap finishing while the query runs removes files it listed: the files are listed again and the
    query rerun (``RETRIES`` times).
    """
    with _labels_registered(labels, connection) as con:
        return _retrying(lambda: con.sql(build_query(plan, labels.column_names)).to_arrow_table())


def duckdb_pit_batches(labels: pa.Table, plan: PitPlan, batch_rows: int,
                       connection: duckdb.DuckDBPyConnection | None = None) -> Iterator[pa.RecordBatch]:
    """``duckdb_pit_join``'s rows in ``ROW_ID`` order, as record batches of at most ``batch_rows`` rows.

    The query is rerun on a finishing swap as in ``duckdb_pit_join`` until its first batch is read; the
    sort reads every file before that, so no later batch can meet a vanished file.
    """
    with _labels_registered(labels, connection) as con:

        def first_batch() -> tuple[pa.RecordBatchReader, pa.RecordBatch | None]:
            reader = con.sql(build_query(plan, labels.column_names, ordered=True)).to_arrow_reader(batch_rows)
            try:
                return reader, reader.read_next_batch()
            except StopIteration:
                return reader, None

        reader, first = _retrying(first_batch)
        with reader:
            if first is not None:
                yield first
                yield from reader


@contextmanager
def _labels_registered(labels: pa.Table, connection: duckdb.DuckDBPyConnection | None
                       ) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor (UTC session zone) on which ``labels`` is the relation ``__aq_labels``."""
    con = connection.cursor() if connection is not None else cursor()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.register("__aq_labels", labels)
        yield con
    finally:
        con.unregister("__aq_labels")
        con.close()


def _retrying(run: Callable[[], T]) -> T:
    """``run()``, called again (up to ``RETRIES`` times in all) while it fails on a file a swap removed."""
    import duckdb

    attempts = 0
    while True:
        try:
            return run()
        except duckdb.IOException as exc:
            attempts += 1
            if attempts >= RETRIES or not any(text in str(exc) for text in ("No files found", "No such file")):
                raise


def build_query(plan: PitPlan, label_columns: list[str], ordered: bool = False) -> str:
    """The whole join as one SQL statement over the registered ``__aq_labels`` relation.

    ``ordered`` sorts the result by ``ROW_ID`` (the labels' order); otherwise it comes in no particular order.
    """
    ctes, joins, selects = [], [], [f"lab.{ROW_ID}"]
    with_ties = False
    for i, view in enumerate(plan.views):
        alias = f"v{i}"
        bounds = plan.time_bounds(view)
        days = None if bounds is None else read_days(*bounds)
        files = snapshot_files(view.path, days) if view.has_data and bounds is not None else []
        if not files:
            selects += [_output(f"CAST(NULL AS {_duck_type(f)})", f, plan) for f in view.features]
            continue
        ties = not unique_times(view.path, days)
        with_ties |= ties
        ctes.append(f"{alias} AS ({_view_source(view, bounds, ties, files)})")
        on = " AND ".join(f"lab.{quote(k)} = {alias}.{quote(k)}" for k in view.keys)
        usable = "__aq_aus" if view.delay_us else "__aq_eus"
        match = f"lab.__aq_key >= {alias}.__aq_key" if ties else f"lab.__aq_us >= {alias}.{usable}"
        joins.append(f"ASOF LEFT JOIN {alias} ON {on} AND {match}")
        fresh = "TRUE"
        if view.ttl_us is not None:
            # integer microseconds: TIMESTAMPTZ - INTERVAL goes through calendar arithmetic, measured 10x dearer
            fresh = f"{alias}.__aq_eus >= lab.__aq_us - {view.ttl_us}"
        for f in view.features:
            value = f"CASE WHEN {fresh} THEN CAST({alias}.{quote(f.name)} AS {_duck_type(f)}) END"
            selects.append(_output(value, f, plan))
    label_key = f", epoch_us({quote(LABEL_TS)}) * {SHIFT} + {SHIFT - 1} AS __aq_key" if with_ties else ""
    lab = (f"lab AS (SELECT {ROW_ID}, epoch_us({quote(LABEL_TS)}) AS __aq_us{label_key}"
           + "".join(f", {quote(k)}" for k in _all_keys(plan) if k in label_columns) + " FROM __aq_labels)")
    order = f" ORDER BY lab.{ROW_ID}" if ordered else ""
    return f"WITH {', '.join([lab, *ctes])} SELECT {', '.join(selects)} FROM lab {' '.join(joins)}{order}"


def _view_source(view: PitView, bounds: tuple[datetime | None, datetime], ties: bool, files: list[Path]) -> str:
    low, high = bounds
    cond = [f"{EVENT_TS} <= {timestamp(high)}", *[f"{quote(k)} IS NOT NULL" for k in view.keys]]
    if low is not None:
        cond.append(f"{EVENT_TS} >= {timestamp(low)}")
    cols = ", ".join(quote(k) for k in view.keys)
    feats = ", ".join(quote(f.name) for f in view.features)
    # rows match by when they became usable, event_ts + delay; __aq_eus keeps the event time for the TTL
    usable = f"epoch_us({EVENT_TS}) + {view.delay_us}" if view.delay_us else f"epoch_us({EVENT_TS})"
    key = f"({usable}) * {SHIFT} + COALESCE(epoch_us({CREATED_TS}) + {SHIFT // 2}, 0) AS __aq_key, "
    return (
        f"SELECT {cols}, epoch_us({EVENT_TS}) AS __aq_eus, {f'{usable} AS __aq_aus, ' if view.delay_us else ''}"
        f"{key if ties else ''}{feats} "
        f"FROM {parquet_scan(files)} "
        f"WHERE {' AND '.join(cond)}"
    )


def _output(value: str, feature: PitFeature, plan: PitPlan) -> str:
    if plan.fill_defaults and feature.default is not None:
        value = f"COALESCE({value}, CAST({_literal(feature.default)} AS {_duck_type(feature)}))"
    return f"{value} AS {quote(feature.column)}"


def _all_keys(plan: PitPlan) -> list[str]:
    keys: list[str] = []
    for view in plan.views:
        keys.extend(k for k in view.keys if k not in keys)
    return keys


def _duck_type(feature: PitFeature) -> str:
    return duck_type(feature.arrow_type)


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return f"TIMESTAMPTZ '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"
