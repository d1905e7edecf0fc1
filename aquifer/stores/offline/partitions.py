"""Day partitions of one view on disk, and the crash-safe swap that replaces them.

A write first lands whole in ``<view>/_staging/<write id>/event_date=D/``. Each day is then swapped in:

1. ``<view>/event_date=D`` (old, if any) is renamed to ``<view>/_swap/<write id>/event_date=D``;
2. the staged ``event_date=D`` is renamed to ``<view>/event_date=D``;
3. the old copy under ``_swap`` is deleted.

Renames within one file system are atomic, so a crash leaves every day either old, new, or (between 1 and 2)
parked under ``_swap``: :func:`recover` moves a parked day back when its live folder is missing, and readers
(:func:`live_partitions`) read the parked copy in that moment. Folders starting with ``_`` are invisible to
Spark's, pyarrow's and DuckDB's partition discovery. One writer per view at a time is assumed (batch runs of
one view are sequential).

A day written from rows already reduced to one per (keys, ``event_ts``) carries an empty ``_unique_times``
file, which travels with the folder through the swap; readers may then skip tie-breaking on ``created_ts``
for that day (:func:`unique_times`). A day without the mark (written by anything else) is read with ties.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path

from aquifer.stores.offline.layout import DATE_PARTITION
from aquifer.times import as_utc

STAGING = "_staging"
SWAP = "_swap"
UNIQUE_TIMES = "_unique_times"
PAUSE_ENV = "AQUIFER_TEST_PAUSE_IN_SWAP"  # test hook: seconds to sleep with the first old day parked


def partition_name(day: date) -> str:
    """``event_date=2026-01-01``."""
    return f"{DATE_PARTITION}={day.isoformat()}"


def parse_partition(name: str) -> date | None:
    """The day of an ``event_date=YYYY-MM-DD`` folder name, else None."""
    prefix = f"{DATE_PARTITION}="
    if not name.startswith(prefix):
        return None
    try:
        return date.fromisoformat(name[len(prefix):])
    except ValueError:
        return None


def days_between(start: datetime, end: datetime) -> list[date]:
    """Every UTC day that ``[start, end)`` touches."""
    first = as_utc(start).date()
    last = (as_utc(end) - timedelta(microseconds=1)).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)] if end > start else []


def recover(view_dir: Path) -> None:
    """Finish what a crashed swap left: restore parked days whose live folder is missing; drop leftovers."""
    swap_root = view_dir / SWAP
    if swap_root.is_dir():
        for write_dir in sorted(swap_root.iterdir()):
            for parked in sorted(write_dir.iterdir()) if write_dir.is_dir() else ():
                live = view_dir / parked.name
                if live.exists():
                    shutil.rmtree(parked, ignore_errors=True)
                else:
                    os.rename(parked, live)
            shutil.rmtree(write_dir, ignore_errors=True)
    shutil.rmtree(view_dir / STAGING, ignore_errors=True)


def swap_in(view_dir: Path, staged: Path, days: Iterable[date], write_id: str) -> None:
    """Replace each of ``days`` in ``view_dir`` with its staged folder (or with nothing when none was staged)."""
    parked_root = view_dir / SWAP / write_id
    parked_root.mkdir(parents=True, exist_ok=True)
    pause = float(os.environ.get(PAUSE_ENV) or 0)
    for day in days:
        name = partition_name(day)
        live, new, parked = view_dir / name, staged / name, parked_root / name
        had_old = live.exists()
        if had_old:
            os.rename(live, parked)
        if pause:
            time.sleep(pause)
            pause = 0.0
        if new.exists():
            os.rename(new, live)
        if had_old:
            shutil.rmtree(parked)
    shutil.rmtree(parked_root, ignore_errors=True)


def live_partitions(view_dir: Path, days: Iterable[date] | None = None) -> list[tuple[date, Path]]:
    """The folder to read for each day (live, or parked mid-swap), sorted; only ``days`` when given."""
    wanted = None if days is None else set(days)
    found: dict[date, Path] = {}
    swap_root = view_dir / SWAP
    if swap_root.is_dir():
        for write_dir in swap_root.iterdir():
            for parked in write_dir.iterdir() if write_dir.is_dir() else ():
                day = parse_partition(parked.name)
                if day is not None and (wanted is None or day in wanted):
                    found.setdefault(day, parked)
    if view_dir.is_dir():
        for child in view_dir.iterdir():
            day = parse_partition(child.name)
            if day is not None and (wanted is None or day in wanted) and child.is_dir():
                found[day] = child  # the live folder wins over a parked copy
    return sorted(found.items())


def read_days(low: datetime | None, high: datetime) -> list[date] | None:
    """The day partitions rows with ``low <= event_ts <= high`` can sit in (None: every day).

    A day of slack below: a partition is cut by the writing session's calendar day, which need not be UTC's.
    """
    return None if low is None else days_between(low - timedelta(days=1), high + timedelta(microseconds=1))


def snapshot_files(view_dir: Path, days: Iterable[date] | None = None) -> list[Path]:
    """The Parquet files that hold ``view_dir``'s rows now (only ``days``, when given), each day read from its
    live folder or, mid-swap, its parked copy; listing once and reading the list means no day is skipped.

    A folder not partitioned by day (Parquet put there by hand): every Parquet file below it outside hidden
    ``_``/``.`` folders (``days`` is then ignored).
    """
    if not view_dir.is_dir():
        return []
    children = list(view_dir.iterdir())
    if any(c.name == SWAP or parse_partition(c.name) is not None for c in children):
        return [f for _, folder in live_partitions(view_dir, days) for f in data_files(folder)]
    return sorted(f for f in view_dir.rglob("*.parquet")
                  if not any(part.startswith(("_", ".")) for part in f.relative_to(view_dir).parts))


def data_files(folder: Path) -> list[Path]:
    """The Parquet files of one partition folder (skipping Spark's hidden ``.crc`` and ``_SUCCESS`` files)."""
    return sorted(p for p in folder.iterdir() if p.suffix == ".parquet" and not p.name.startswith((".", "_")))


def mark_unique_times(day_folder: Path) -> None:
    """Record that ``day_folder`` holds at most one row per (keys, ``event_ts``)."""
    (day_folder / UNIQUE_TIMES).touch()


def unique_times(view_dir: Path, days: Iterable[date] | None = None) -> bool:
    """Whether every day partition of ``view_dir`` (only ``days``, when given) is marked unique.

    Equal ``event_ts`` always fall in the same day partition, so marked days together hold no ties. False
    when the folder holds anything besides day partitions (and hidden ``_``/``.`` entries).
    """
    if not view_dir.is_dir():
        return False
    if any(parse_partition(p.name) is None for p in view_dir.iterdir() if not p.name.startswith(("_", "."))):
        return False
    parts = live_partitions(view_dir, days)
    return all((folder / UNIQUE_TIMES).is_file() for _, folder in parts)
