"""Read a labels file the way sources are read: by its extension, times under the same rules.

Parquet (a file or a folder, any writer) is read as stored; CSV and JSON lines have their timestamp column
parsed as ISO 8601 text (no offset = UTC; offsets converted to UTC), or as epoch numbers when a
``timestamp_unit`` ("s", "ms", "us", "ns") is given.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from aquifer.definitions.sources import TIMESTAMP_UNITS
from aquifer.training.inputs import TrainingInputError

if TYPE_CHECKING:
    import pandas as pd

PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
CSV_SUFFIXES = (".csv",)
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")
OFFSET = r"\d:\d\d(?::\d\d(?:\.\d+)?)?\s*(?:Z|[+-]\d\d(?::?\d\d)?)$"


def label_format(path: Path) -> str:
    """``parquet``, ``csv`` or ``json`` from the file's extension (a folder is Parquet)."""
    suffix = path.suffix.lower()
    if path.is_dir() or suffix in PARQUET_SUFFIXES:
        return "parquet"
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in JSON_SUFFIXES:
        return "json"
    known = ", ".join((*PARQUET_SUFFIXES, *CSV_SUFFIXES, *JSON_SUFFIXES))
    raise TrainingInputError(f"labels file {path}: unknown extension {path.suffix!r} (known: {known})")


def read_label_file(path: str | Path, timestamp_col: str = "event_ts", timestamp_unit: str | None = None
                    ) -> pd.DataFrame:
    """The labels in ``path`` as a pandas frame whose ``timestamp_col`` is UTC (text and numbers parsed)."""
    import pandas as pd

    path = Path(path)
    if timestamp_unit is not None and timestamp_unit not in TIMESTAMP_UNITS:
        raise TrainingInputError(f"timestamp unit {timestamp_unit!r} is not one of {', '.join(TIMESTAMP_UNITS)}")
    kind = label_format(path)
    try:
        if kind == "parquet":
            frame = pd.read_parquet(path)
        elif kind == "csv":
            frame = pd.read_csv(path, dtype={timestamp_col: str} if timestamp_unit is None else None)
        else:
            frame = pd.read_json(path, lines=True, convert_dates=False, dtype=False)
    except (OSError, ValueError) as exc:
        raise TrainingInputError(f"labels file {path}: cannot read it as {kind}: {exc}") from None
    if timestamp_col not in frame.columns:
        raise TrainingInputError(
            f"labels file {path} has no timestamp column {timestamp_col!r} (columns: {', '.join(map(str, frame))})"
        )
    frame[timestamp_col] = label_times(frame[timestamp_col], timestamp_unit, f"labels file {path}")
    return frame


def label_times(column: pd.Series, unit: str | None, where: str) -> pd.Series:
    """``column`` as UTC times: timestamps kept (naive = UTC), text parsed as ISO 8601, numbers by ``unit``."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(column):
        return column.dt.tz_localize("UTC") if column.dt.tz is None else column.dt.tz_convert("UTC")
    if unit is not None:
        numbers = pd.to_numeric(column, errors="coerce")
        bad = numbers.isna() & column.notna()
        if bad.any():
            raise TrainingInputError(f"{where}, column {column.name!r}: cannot read {column[bad].iloc[0]!r} "
                                     f"as an epoch number in {unit}")
        return pd.to_datetime(numbers, unit=unit, utc=True)
    if pd.api.types.is_numeric_dtype(column):
        raise TrainingInputError(f"{where}, column {column.name!r} holds numbers ({column.dtype}), wanted times: "
                                 "give a timestamp unit ('s', 'ms', 'us' or 'ns') to read epoch numbers")
    text = column.astype("string").str.strip()
    # parsed apart: pandas applies one text's offset to the naive texts beside it
    aware = text.str.contains(OFFSET, regex=True, na=False)
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
    for part in (aware, ~aware):
        if part.any():
            parsed[part] = pd.to_datetime(text[part], utc=True, format="ISO8601", errors="coerce")
    bad = parsed.isna() & text.notna() & (text != "")
    if bad.any():
        raise TrainingInputError(f"{where}, column {column.name!r}: cannot read {text[bad].iloc[0]!r} as a "
                                 "timestamp (ISO 8601 text, e.g. 2024-05-01T12:00:00+02:00; for epoch numbers give a "
                                 "timestamp unit: s, ms, us or ns)")
    return parsed
