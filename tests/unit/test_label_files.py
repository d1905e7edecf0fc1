"""Label times read by the sources' rules: ISO 8601 text (no offset = UTC), epoch numbers with a unit."""

from __future__ import annotations

import pandas as pd
import pytest

from aquifer.training import TrainingInputError
from aquifer.training.label_files import label_times


def test_mixed_offsets_and_naive_text_are_utc():
    text = pd.Series(["2026-01-01T09:00:00+09:00", "2026-01-01 00:00:00", "2026-01-01", "2026-01-01T00:00:00Z",
                      "2026-01-01T00:00:00.5-01:30", None], name="ts")
    got = label_times(text, None, "labels")
    want = pd.to_datetime(["2026-01-01", "2026-01-01", "2026-01-01", "2026-01-01", "2026-01-01 01:30:00.5", None],
                          format="ISO8601", utc=True)
    assert got.tolist()[:5] == want.tolist()[:5] and pd.isna(got.iloc[5])


def test_epoch_numbers_need_a_unit():
    numbers = pd.Series([1_767_225_600_000, 1_767_225_600_500], name="ts")
    assert label_times(numbers, "ms", "labels").tolist() == pd.to_datetime(
        ["2026-01-01", "2026-01-01 00:00:00.5"], utc=True, format="ISO8601").tolist()
    with pytest.raises(TrainingInputError, match="timestamp unit"):
        label_times(numbers, None, "labels")


def test_unreadable_text_is_named():
    with pytest.raises(TrainingInputError, match="'31/01/2026'"):
        label_times(pd.Series(["2026-01-01", "31/01/2026"], name="ts"), None, "labels.csv")
