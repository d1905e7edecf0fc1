"""The offline store's interface: list and read a view's rows of a range, replace a range.

``ParquetOfflineStore`` (one folder per view, ``event_date=`` day partitions swapped in whole) is the
implementation; engines and the stream's landing sink go through this protocol, not through paths.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from aquifer.stores.offline.writer import Observer, Written


@runtime_checkable
class OfflineStore(Protocol):
    """A view's history by event-time range."""

    def view_dir(self, view: str) -> Path:
        """Where the view's history lives."""

    def files(self, view: str, start: datetime | None = None, end: datetime | None = None) -> list[Path]:
        """A consistent listing of the files holding ``[start, end)`` (a day mid-swap read from its parked copy)."""

    def read(self, spark: SparkSession, view: str, start: datetime | None = None, end: datetime | None = None,
             schema: Any = None) -> DataFrame:
        """The view's rows with ``start <= event_ts < end`` (an empty frame of ``schema`` when none)."""

    def replace_range(self, df: DataFrame, view: str, start: datetime, end: datetime, *,
                      unique_times: bool = False, order: Sequence[Any] = (),
                      observe: Callable[[], Observer] | None = None, extra: Mapping[str, Any] | None = None,
                      first_of: Sequence[str] = ()) -> Written:
        """Replace the whole days ``[start, end)`` touches with ``df``'s rows (each day's sorted by ``order``);
        returns the rows written and what ``observe``'s observers saw of them (and of the ``extra`` columns,
        shown to them, not written); of the rows equal in ``first_of`` only the first in ``order`` is written."""


class ParquetOfflineStore:
    """Parquet under ``root/<project>/<view>/event_date=YYYY-MM-DD/`` with atomic per-day swaps."""

    def __init__(self, root: str | Path, project: str):
        self.root, self.project = Path(root), project

    def view_dir(self, view: str) -> Path:
        """``root/<project>/<view>``."""
        from aquifer.stores.offline.layout import view_path

        return view_path(self.root, self.project, view)

    def files(self, view: str, start: datetime | None = None, end: datetime | None = None) -> list[Path]:
        """The swap-aware listing of the range's files."""
        from aquifer.stores.offline.reader import view_files

        return view_files(self.root, self.project, view, start, end)

    def read(self, spark: SparkSession, view: str, start: datetime | None = None, end: datetime | None = None,
             schema: Any = None) -> DataFrame:
        """The range's rows as a Spark DataFrame (listing again when a swap moves a file mid-read)."""
        from aquifer.stores.offline.reader import read_view

        return read_view(spark, self.root, self.project, view, start, end, schema=schema)

    def replace_range(self, df: DataFrame, view: str, start: datetime, end: datetime, *,
                      unique_times: bool = False, order: Sequence[Any] = (),
                      observe: Callable[[], Observer] | None = None, extra: Mapping[str, Any] | None = None,
                      first_of: Sequence[str] = ()) -> Written:
        """Stage ``df`` and swap its days in (``writer.write_range``)."""
        from aquifer.stores.offline.writer import write_range

        return write_range(df, self.root, self.project, view, start, end, unique_times=unique_times, order=order,
                           observe=observe, extra=extra, first_of=first_of)
