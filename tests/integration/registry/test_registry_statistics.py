"""Statistics rows per run and range: stored (SQLite and PostgreSQL JSONB), selected by range and run kind."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from aquifer.quality.statistics import DailyStatistics, FeatureStatistics, merge_stored


def day(d: int) -> datetime:
    return datetime(2026, 3, d, tzinfo=UTC)


def stored(values: list[float], d: int) -> dict:
    stats = DailyStatistics([("x", "Float64")])
    stats.update(pa.table({"event_ts": pa.array([day(d)] * len(values), pa.timestamp("us", tz="UTC")),
                           "x": pa.array(values, pa.float64())}))
    return stats.stored()["x"]


def test_statistics_between_selects_by_overlap_and_kind_newest_first(registry):
    add = registry.add_statistics
    first = add("p", "v", "x", stored([1.0, float("inf")], 1), range_start=day(1), range_end=day(3),
                run_kind="batch", run_id=7)
    second = add("p", "v", "x", stored([2.0, float("nan")], 2), range_start=day(2), range_end=day(4),
                 run_kind="backfill", run_id=8)
    add("p", "v", "x", stored([5.0], 3), range_start=day(3), range_end=day(4), run_kind="materialize")
    later = datetime(2030, 1, 1, tzinfo=UTC)
    add("p", "v", "x", {"summary": {}}, computed_at=later)  # no range: never merged
    add("p", "other", "x", stored([9.0], 1), range_start=day(1), range_end=day(2), run_kind="batch")

    rows = registry.statistics_between("p", "v")
    assert [r.id for r in rows] == [second, first]
    assert (rows[1].range_start, rows[1].range_end, rows[1].run_kind, rows[1].run_id) == (day(1), day(3), "batch", 7)
    assert [r.id for r in registry.statistics_between("p", "v", day(3), day(5))] == [second]
    assert [r.id for r in registry.statistics_between("p", "v", None, day(2))] == [first]
    assert len(registry.statistics_between("p", "v", run_kinds=("materialize",))) == 1

    summary = FeatureStatistics.from_dict(rows[1].stats["summary"])  # non-finite values survive JSON(B)
    assert (summary.count, summary.max, summary.mean) == (2, float("inf"), float("inf"))
    merged = merge_stored(rows)["x"]  # day 1 from the older row, days 2-3 from the newer one
    assert (merged.count, merged.nulls, merged.min, merged.max) == (4, 1, 1.0, float("inf"))
    latest = registry.statistics("p", "v")["x"]
    assert latest.range_start is None and latest.computed_at == later
