"""The demo's ML act on a quickstart repo in the state the demo leaves it (run, materialized, training frame)."""

from __future__ import annotations

import re

import pytest

from aquifer.cli.demo_ml import ml_act

pytestmark = pytest.mark.spark


def test_ml_act_trains_validates_and_scores_online(materialized, capsys):
    ml_act(materialized)
    out = re.sub(r"\s+", " ", capsys.readouterr().out)
    assert "the transformer's features equal training.parquet's (defaults for nulls): True" in out
    scores = dict(re.findall(r"(scikit-learn|PyTorch) .*? validation ROC AUC (\d\.\d+)", out))
    assert set(scores) == {"scikit-learn", "PyTorch"}, out
    # the label is mostly "amount > 500", which both models see: far better than chance on the newest quarter
    assert all(float(v) > 0.8 for v in scores.values()), scores
    rows = re.findall(r"│ (\d+) │ (\d+) │ (\d\.\d{3}) │ ([a-z0-9, ]+?) │", out)
    assert len(rows) == 5, out
    for _, _, score, statuses in rows:
        assert 0.0 <= float(score) <= 1.0
        assert "unavailable" not in statuses and ("present" in statuses or "stale" in statuses)
    assert (materialized / ".aquifer" / "datasets").is_dir()  # the PyTorch dataset's cached frame
