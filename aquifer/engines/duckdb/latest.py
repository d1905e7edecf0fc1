"""Each entity's latest offline row in a time range, in DuckDB: materialization without a Spark job.

The same rule as the Spark path (``engines/spark/materialize.push_latest``): among rows with
``start <= event_ts < end``, the greatest ``event_ts``, ties broken by the greatest ``created_ts``
(a missing ``created_ts`` counts as the lowest). Rows with a null join key are skipped: they have no
online key. Runs on this process's shared in-memory database; the result streams out in Arrow
batches, so memory stays at DuckDB's aggregation state plus one batch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from aquifer.engines.duckdb.sql import cursor, duck_type, parquet_scan, quote, timestamp
from aquifer.stores.offline.layout import CREATED_TS, EVENT_TS
from aquifer.stores.offline.partitions import read_days, snapshot_files

if TYPE_CHECKING:
    import pyarrow as pa

BATCH_ROWS = 100_000


def latest_batches(path: Path, keys: Sequence[str], features: Sequence[tuple[str, str]], start: datetime,
                   end: datetime, batch_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """Batches of ``keys, event_ts, created_ts, features``: one row per entity, in no particular order.

    ``features`` are ``(name, Arrow type name)``; one missing from the files comes back as typed nulls.
    A folder with no Parquet file yields nothing.
    """
    files = snapshot_files(path, read_days(start, end))
    if not files:
        return
    con = cursor()
    try:
        con.execute("SET TimeZone = 'UTC'")
        present = set(con.sql(f"SELECT * FROM {parquet_scan(files)} LIMIT 0").columns)
        yield from con.sql(latest_query(files, keys, features, start, end, present)).to_arrow_reader(batch_rows)
    finally:
        con.close()


def latest_query(files: Sequence[Path], keys: Sequence[str], features: Sequence[tuple[str, str]], start: datetime,
                 end: datetime, present: set[str]) -> str:
    """The SQL behind ``latest_batches``; ``present`` names the columns the Parquet files hold."""
    cond = [f"{EVENT_TS} >= {timestamp(start)}", f"{EVENT_TS} < {timestamp(end)}",
            *[f"{quote(k)} IS NOT NULL" for k in keys]]
    created = f"CAST({CREATED_TS} AS TIMESTAMPTZ)" if CREATED_TS in present else "CAST(NULL AS TIMESTAMPTZ)"
    values = [quote(name) if name in present else f"CAST(NULL AS {duck_type(dtype)}) AS {quote(name)}"
              for name, dtype in features]
    key_list = ", ".join(quote(k) for k in keys)
    rows = (f"SELECT {key_list}, CAST({EVENT_TS} AS TIMESTAMPTZ) AS {EVENT_TS}, {created} AS {CREATED_TS}"
            + "".join(f", {v}" for v in values) + f" FROM {parquet_scan(files)} WHERE {' AND '.join(cond)}")
    return (f"SELECT * FROM ({rows}) QUALIFY row_number() OVER "
            f"(PARTITION BY {key_list} ORDER BY {EVENT_TS} DESC, {CREATED_TS} DESC NULLS LAST) = 1")
