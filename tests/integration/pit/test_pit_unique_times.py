"""DuckDB's tie-free path: days marked as holding one row per (keys, event_ts) are joined on event_ts alone.

The batch pipeline marks every day it writes (it resolves ties before writing); a day without the mark is
read with the created_ts tie-break. The conformance suite covers unmarked data; this covers marked data,
a mix of both, and a negative control showing the mark really changes the join (so the tests can fail).
"""

from __future__ import annotations

import pandas as pd
import pytest
from pit_data import make_store, merchant_risk, pair_stats, user_stats, write_view
from pit_oracle import assert_matches, oracle

from aquifer.definitions.refs import resolve_features
from aquifer.engines.duckdb.pit import build_query
from aquifer.planning.pit import PitPlan
from aquifer.stores.offline.layout import view_path
from aquifer.stores.offline.partitions import UNIQUE_TIMES, live_partitions, mark_unique_times, unique_times
from aquifer.training import get_training_frame
from aquifer.training.inputs import plan_views

FEATURES = ["user_stats:amount", "user_stats:n", "user_stats:tag", "merchant_risk:risk", "merchant_risk:flagged",
            "pair_stats:cnt"]
VIEWS = [user_stats, merchant_risk, pair_stats]


def _resolved(rows: pd.DataFrame) -> pd.DataFrame:
    """Ties settled as the batch pipeline settles them: the greatest created_ts per (keys, event_ts)."""
    keys = [c for c in ("user_id", "merchant_id") if c in rows.columns]
    return rows.sort_values("created_ts").drop_duplicates([*keys, "event_ts"], keep="last")


def _store(tmp_path_factory, features: dict[str, pd.DataFrame], marked: bool):
    store = make_store(tmp_path_factory.mktemp("pit_unique"))
    for name, rows in features.items():
        write_view(store, name, rows)
        if marked:
            for _, folder in live_partitions(view_path(store.config.offline_path, "pit", name)):
                mark_unique_times(folder)
    return store


def _ties_in_query(store, labels: pd.DataFrame) -> bool:
    views = plan_views(resolve_features(FEATURES, store.views.values()), store.config.offline_path, "pit")
    ts = labels["event_ts"]
    plan = PitPlan(views, ts.min().to_pydatetime(), ts.max().to_pydatetime())
    return "__aq_key" in build_query(plan, ["__aq_row_id", "__aq_ts", "user_id", "merchant_id"])


def test_marked_days_skip_the_tie_break_and_match_the_oracle(tmp_path_factory, dataset):
    resolved = {name: _resolved(rows) for name, rows in dataset.features.items()}
    store = _store(tmp_path_factory, resolved, marked=True)
    assert not _ties_in_query(store, dataset.labels)
    got = get_training_frame(store, dataset.labels, FEATURES, engine="duckdb")
    # the oracle over the original rows, ties included: resolving them first must not change any answer
    assert_matches(got, oracle(dataset.labels, dataset.features, VIEWS))


def test_one_unmarked_day_brings_the_tie_break_back(tmp_path_factory, dataset):
    store = _store(tmp_path_factory, dataset.features, marked=True)
    folder = live_partitions(view_path(store.config.offline_path, "pit", "user_stats"))[3][1]
    (folder / UNIQUE_TIMES).unlink()
    assert _ties_in_query(store, dataset.labels)
    got = get_training_frame(store, dataset.labels, FEATURES, engine="duckdb")
    assert_matches(got[["user_id", "event_ts", "amount", "n", "tag"]],
                   oracle(dataset.labels, dataset.features, [user_stats])[["user_id", "event_ts", "amount", "n",
                                                                           "tag"]])


def test_negative_control_a_false_mark_over_ties_is_caught(tmp_path_factory, dataset):
    store = _store(tmp_path_factory, dataset.features, marked=True)  # ties left in, yet marked unique
    got = get_training_frame(store, dataset.labels, FEATURES, engine="duckdb")
    expected = oracle(dataset.labels, dataset.features, VIEWS)
    assert list(got.columns) == list(expected.columns)  # so what differs below is values
    with pytest.raises(AssertionError):
        assert_matches(got, expected)


def test_unique_times_needs_every_day_marked_and_nothing_else(tmp_path):
    view = tmp_path / "v"
    assert not unique_times(view)  # no folder
    days = []
    for day in ("2024-03-01", "2024-03-02"):
        folder = view / f"event_date={day}"
        folder.mkdir(parents=True)
        (folder / "part-0.parquet").write_bytes(b"")
        days.append(folder)
    mark_unique_times(days[0])
    assert not unique_times(view)
    assert unique_times(view, [pd.Timestamp("2024-03-01").date()])  # only the marked day is read
    mark_unique_times(days[1])
    assert unique_times(view)
    (view / "_staging").mkdir()  # hidden folders do not count
    assert unique_times(view)
    (view / "stray.parquet").write_bytes(b"")  # a file outside the day partitions: unknown, so not unique
    assert not unique_times(view)
