"""A PIT result brought to this process in order, one Arrow record batch at a time (``toLocalIterator``-style).

``DataFrame.toArrow`` collects the whole result in the driver, and ``toLocalIterator`` streams it as
Python ``Row`` objects (a Python object per value). Here each partition's Arrow batches are re-cut to
``batch_rows`` rows and serialised to Arrow IPC by ``mapInArrow`` in the executors; ``toLocalIterator``
then fetches the partitions one at a time, in partition order, so a sorted frame arrives in its order and
the driver holds one partition's serialised batches at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame

BLOB = "__aq_arrow"


def local_arrow_batches(frame: DataFrame, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """``frame``'s rows in its partition order (a sorted frame: its sort order), at most ``batch_rows`` a batch."""
    import pyarrow as pa

    blobs = frame.mapInArrow(partial(ipc_batches, batch_rows), f"{BLOB} binary")
    for row in blobs.toLocalIterator():
        with pa.ipc.open_stream(pa.py_buffer(row[0])) as reader:
            yield from reader


def ipc_batches(batch_rows: int, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """One partition's batches re-cut to ``batch_rows`` rows, each as one Arrow IPC stream in a binary cell.

    Runs in the executors (``mapInArrow``), where Spark hands over batches of its own size
    (``spark.sql.execution.arrow.maxRecordsPerBatch``).
    """
    import pyarrow as pa

    pending: list[pa.RecordBatch] = []
    held = 0
    for batch in batches:
        pending.append(batch)
        held += batch.num_rows
        while held >= batch_rows:
            table = pa.Table.from_batches(pending)
            yield _blob(table.slice(0, batch_rows))
            pending, held = table.slice(batch_rows).to_batches(), held - batch_rows
    if held:
        yield _blob(pa.Table.from_batches(pending))


def _blob(table: pa.Table) -> pa.RecordBatch:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_batch(table.combine_chunks().to_batches()[0])
    data = sink.getvalue()
    offsets = pa.array([0, data.size], type=pa.int32()).buffers()[1]
    cell = pa.Array.from_buffers(pa.binary(), 1, [None, offsets, data])  # no copy of the serialised batch
    return pa.RecordBatch.from_arrays([cell], names=[BLOB])
