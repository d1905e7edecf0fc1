"""How far after an event an aggregation view's rows can lie (``analysis.extent.reach``): by window kind."""

from __future__ import annotations

from datetime import timedelta

from aquifer.analysis.extent import reach
from aquifer.definitions import Aggregation, AggregationView, BatchSource, Entity, Lifetime, Session, Sliding, Tumbling


def view(*windows) -> AggregationView:
    source = BatchSource("events", path="data/events.parquet", timestamp_field="ts")
    return AggregationView("v", entities=[Entity("user", join_keys=["user_id"])], source=source,
                           aggregations=[Aggregation("amount", "sum", w, name=f"f{i}") for i, w in enumerate(windows)])


def test_reach_is_the_longest_window_or_closing_row_and_one_microsecond_for_lifetime():
    hour = timedelta(hours=1)
    assert reach(view(Lifetime()), timedelta(days=1)) == timedelta(microseconds=1)
    assert reach(view(Lifetime(), Tumbling(hour)), timedelta(days=1)) == 2 * hour  # its closing row
    assert reach(view(Sliding(2 * hour, every=hour)), timedelta(days=1)) == 3 * hour
    assert reach(view(Session(timedelta(minutes=30))), timedelta(days=1)) == timedelta(days=1)
