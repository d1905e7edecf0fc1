"""Bounded uniform samples of feature values, kept as Parquet for drift: what a training frame held.

A training frame records one uniform sample of at most ``SAMPLE_ROWS`` of its rows (the same rows for every
feature, drawn without replacement), one column per feature named by its ``view:feature`` ref, at
``<offline root>/_training_frames/<project>/<training id>.parquet``. Raw values rather than quantiles and
category counts: the KS statistic is then exact on the sample (its error from sampling is about
``1/sqrt(20000)``, under 0.01), PSI bins can be cut at drift time with any bin count, and categories need no
cap decided in advance. 20k values per feature keep a frame's record small (a few hundred KB per feature).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

SAMPLE_ROWS = 20_000
"""At most this many rows are kept per training frame."""
FOLDER = "_training_frames"


def sample_path(offline_root: str | Path, project: str, training_id: str) -> Path:
    """``<offline root>/_training_frames/<project>/<training id>.parquet``."""
    return Path(offline_root) / FOLDER / project / f"{training_id}.parquet"


def sample_indices(rows: int, limit: int = SAMPLE_ROWS, seed: int | None = None) -> np.ndarray:
    """Sorted row positions of a uniform sample of ``min(rows, limit)`` rows without replacement."""
    if rows <= limit:
        return np.arange(rows)
    return np.sort(np.random.default_rng(seed).choice(rows, size=limit, replace=False))


def write_sample(path: Path, columns: dict[str, Any], types: dict[str, str] | None = None) -> None:
    """Write ``{column: values}`` as one Parquet file (declared Arrow types when given), atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = {}
    for name, values in columns.items():
        declared = (types or {}).get(name)
        try:
            if declared and declared.startswith("timestamp"):
                arrays[name] = pa.array(values, type=pa.timestamp("us", tz="UTC"), from_pandas=True)
            elif declared:
                arrays[name] = pa.array(values, type=pa.type_for_alias(declared), from_pandas=True)
            else:
                arrays[name] = pa.array(values, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
            arrays[name] = pa.array(values, from_pandas=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    pq.write_table(pa.table(arrays) if arrays else pa.table({}), temporary)
    temporary.rename(path)


def read_sample(path: Path, columns: list[str] | None = None) -> dict[str, list[Any]]:
    """``{column: values}`` of a sample written by ``write_sample``; ``FileNotFoundError`` when missing."""
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=columns)
    return {name: table[name].to_pylist() for name in table.column_names}
