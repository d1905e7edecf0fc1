"""The Spark batch engine's graph slice takes order and data fingerprints from the analysis, never its own."""

from __future__ import annotations

import pytest

from aquifer.engines.spark.graph import data_fingerprint, view_order
from aquifer.repo import load_repo

VIEWS = """
user = Entity("user", join_keys=["user_id"])
transactions = BatchSource("transactions", path="data/transactions.parquet")
late = FeatureView("late", entities=[user], transform=sql(
    "SELECT user_id, event_ts, amount FROM {early} -- not {ghost}"), schema=[Field("amount", Float64)])
early = FeatureView("early", entities=[user], source=transactions, schema=[Field("amount", Float64)])
"""


def test_order_and_fingerprints_are_the_analysis_ones(repo):
    repo.data().write({"features/views.py": VIEWS})
    analysis = repo.analyze()
    assert analysis.ok, [str(p) for p in analysis.problems]
    views = {v.name: v for v in load_repo(repo.root).definitions if v.kind == "feature_view"}
    assert list(views) == ["late", "early"]  # declaration order is not run order
    assert view_order(views, analysis) == ["early", "late"] == analysis.order
    for name, view in views.items():
        assert data_fingerprint(view, analysis) == analysis.fingerprints[("feature_view", name)].data


def test_a_view_the_analysis_does_not_know_is_an_error_not_a_second_hash(repo):
    repo.data().write({"features/views.py": VIEWS})
    analysis = repo.analyze()
    early = next(v for v in load_repo(repo.root).definitions if v.name == "early")
    del analysis.fingerprints[("feature_view", "early")]
    with pytest.raises(KeyError, match="no data fingerprint for feature_view 'early'"):
        data_fingerprint(early, analysis)
    assert view_order({"early": early, "extra": early}, analysis) == ["early", "extra"]  # unordered ones last
