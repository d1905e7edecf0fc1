"""The day-partition swap: every crash point leaves each day old or new; readers never see a day half."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from aquifer.stores.offline.partitions import (
    STAGING,
    SWAP,
    days_between,
    live_partitions,
    partition_name,
    recover,
    swap_in,
)

D1, D2 = date(2026, 1, 1), date(2026, 1, 2)


def _day(root: Path, day: date, content: str) -> Path:
    folder = root / partition_name(day)
    folder.mkdir(parents=True)
    (folder / "part-0.parquet").write_text(content)
    return folder


def _content(view: Path) -> dict[date, str]:
    return {day: (folder / "part-0.parquet").read_text() for day, folder in live_partitions(view)}


def test_days_between_covers_touched_days():
    assert days_between(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 3, tzinfo=UTC)) == [D1, D2]
    assert days_between(datetime(2026, 1, 1, 5, tzinfo=UTC), datetime(2026, 1, 2, 0, 1, tzinfo=UTC)) == [D1, D2]
    assert days_between(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)) == []


def test_swap_replaces_days_and_empties_days_without_rows(tmp_path):
    view = tmp_path / "v"
    _day(view, D1, "old1")
    _day(view, D2, "old2")
    staged = view / STAGING / "w"
    _day(staged, D1, "new1")  # D2 has no new rows: it must end up empty
    swap_in(view, staged, [D1, D2], "w")
    assert _content(view) == {D1: "new1"}
    assert not any((view / SWAP).iterdir()) if (view / SWAP).exists() else True


def test_crash_between_renames_reads_the_parked_day_and_recover_restores_it(tmp_path):
    view = tmp_path / "v"
    _day(view, D1, "old1")
    parked = view / SWAP / "w"
    parked.mkdir(parents=True)
    (view / partition_name(D1)).rename(parked / partition_name(D1))  # crash right after step 1
    _day(view / STAGING / "w", D1, "new1")
    assert _content(view) == {D1: "old1"}  # readers still see the old day
    recover(view)
    assert _content(view) == {D1: "old1"}
    assert (view / partition_name(D1)).is_dir() and not (view / STAGING).exists()


def test_crash_after_the_new_day_is_in_keeps_the_new_day(tmp_path):
    view = tmp_path / "v"
    _day(view / SWAP / "w", D1, "old1")  # step 2 done, step 3 (delete the parked copy) not
    _day(view, D1, "new1")
    assert _content(view) == {D1: "new1"}
    recover(view)
    assert _content(view) == {D1: "new1"}
    assert not (view / SWAP / "w").exists()


def test_live_partitions_filters_days(tmp_path):
    view = tmp_path / "v"
    _day(view, D1, "a")
    _day(view, D2, "b")
    (view / "_SUCCESS").write_text("")
    assert [d for d, _ in live_partitions(view, [D2])] == [D2]
    assert live_partitions(tmp_path / "missing") == []


def test_snapshot_files_reads_each_day_once_and_never_a_staged_write(tmp_path):
    from aquifer.stores.offline.partitions import snapshot_files

    view = tmp_path / "v"
    live1 = _day(view, D1, "live1")
    parked = _day(view / SWAP / "w1", D2, "parked2")  # mid-swap: D2's live folder is gone for the moment
    _day(view / STAGING / "w2", D1, "staged1")
    assert snapshot_files(view) == [live1 / "part-0.parquet", parked / "part-0.parquet"]
    assert snapshot_files(view, [D2]) == [parked / "part-0.parquet"]
    flat = tmp_path / "flat"  # not partitioned: every Parquet file outside hidden folders
    (flat / "sub").mkdir(parents=True)
    (flat / "_tmp").mkdir()
    for path in (flat / "a.parquet", flat / "sub" / "b.parquet", flat / "_tmp" / "c.parquet"):
        path.write_text("")
    assert snapshot_files(flat) == [flat / "a.parquet", flat / "sub" / "b.parquet"]
    assert snapshot_files(tmp_path / "missing") == []
