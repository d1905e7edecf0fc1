"""An independent pandas answer to the PIT question (``merge_asof`` per view), and a brute-force check.

Written from ARCHITECTURE.md's rule, not from the engines' code: per label row and view, the row of the
same entity with the greatest ``event_ts <= ts`` (ties: greatest ``created_ts``), null when none or
older than ``ts - ttl``; ``fill_defaults`` replaces nulls with the declared defaults.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from aquifer.definitions import FeatureView


def oracle(labels: pd.DataFrame, features: dict[str, pd.DataFrame], views: list[FeatureView],
           ts_col: str = "event_ts", fill_defaults: bool = False, full_names: bool = False,
           leak: timedelta = timedelta(0)) -> pd.DataFrame:
    """Labels plus each view's feature columns. ``leak`` > 0 deliberately lets future rows in (negative control)."""
    out = labels.copy()
    ts = pd.to_datetime(labels[ts_col], utc=True).astype("datetime64[us, UTC]")
    for view in views:
        keys = list(view.join_keys)
        names = [f.name for f in view.features]
        rows = features.get(view.name)
        if rows is None:
            values = pd.DataFrame({n: [None] * len(labels) for n in names})
        else:
            values = _asof(labels, ts + leak, rows, keys, names)
            if view.ttl is not None:
                stale = (values["event_ts"] < (ts - view.ttl).reset_index(drop=True)).to_numpy()
                values.loc[stale, names] = None
        for field in view.features:
            column = f"{view.name}__{field.name}" if full_names else field.name
            col = values[field.name]
            if fill_defaults and field.default is not None:
                col = col.astype(object).where(col.notna(), field.default)
            out[column] = col.to_numpy()
    return out


def _asof(labels: pd.DataFrame, ts: pd.Series, rows: pd.DataFrame, keys: list[str], names: list[str]) -> pd.DataFrame:
    """``merge_asof`` after keeping, per (keys, event_ts), only the greatest created_ts."""
    latest = rows.sort_values("created_ts").drop_duplicates([*keys, "event_ts"], keep="last")
    left = pd.DataFrame({"__rid": np.arange(len(labels)), "__ts": ts.reset_index(drop=True)})
    for key in keys:
        left[key] = labels[key].to_numpy()
    right = latest[[*keys, "event_ts", *names]].sort_values("event_ts")
    right["event_ts"] = right["event_ts"].astype("datetime64[us, UTC]")
    merged = pd.merge_asof(left.sort_values("__ts"), right, left_on="__ts", right_on="event_ts", by=keys,
                           direction="backward", allow_exact_matches=True)
    return merged.sort_values("__rid").reset_index(drop=True)[["event_ts", *names]]


def brute_force_row(label: pd.Series, rows: pd.DataFrame, view: FeatureView, ts_col: str = "event_ts") -> dict:
    """One label row's features by looping over every candidate row: the slow, obvious reading of the rule."""
    ts = pd.Timestamp(label[ts_col])
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    best = None
    for row in rows.itertuples(index=False):
        if any(getattr(row, k) != label[k] for k in view.join_keys) or row.event_ts > ts:
            continue
        if best is None or (row.event_ts, row.created_ts) > (best.event_ts, best.created_ts):
            best = row
    if best is None or (view.ttl is not None and best.event_ts < ts - view.ttl):
        return {f.name: None for f in view.features}
    return {f.name: getattr(best, f.name) for f in view.features}


def canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns with None for every missing value, so comparisons do not depend on null dtypes."""
    out = frame.copy()
    for col in out.columns:
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out.reset_index(drop=True)


def assert_matches(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Same rows, same order, same columns, same values (floats exactly: values are carried, not computed)."""
    assert list(actual.columns) == list(expected.columns), (list(actual.columns), list(expected.columns))
    assert len(actual) == len(expected), (len(actual), len(expected))
    pd.testing.assert_frame_equal(canonical(actual), canonical(expected), check_dtype=False, check_exact=True)
