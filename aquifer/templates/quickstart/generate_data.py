"""Generate the quickstart's example data: transactions, merchant snapshots and fraud labels.

Seeded, and laid out over the ``days`` before ``end`` (default: the current hour), so the demo's
features are fresh. ``python generate_data.py [--users N] [--days D] [--out data]``.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd


def write(df: pd.DataFrame, path: Path) -> None:
    """Write Parquet the way a pandas user does (pandas' defaults: nanosecond timestamps, index metadata)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(path)


def generate(
    out: Path, users: int = 200, merchants: int = 50, days: int = 7, seed: int = 7, end: datetime | None = None
) -> dict[str, int]:
    """Write data/transactions.parquet, data/merchants.parquet and data/labels.parquet; return row counts."""
    end = end or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    rng = np.random.default_rng(seed)
    n = users * days * 4
    event_ts = start + pd.to_timedelta(rng.uniform(0, days * 86400, n), unit="s")
    amount = np.round(rng.lognormal(3.5, 1.2, n), 2)
    txns = pd.DataFrame({
        "user_id": rng.integers(1, users + 1, n).astype("int64"),
        "merchant_id": rng.integers(1, merchants + 1, n).astype("int64"),
        "amount": amount,
        "country": rng.choice(["US", "US", "US", "GB", "DE", "BR"], n),
        "event_ts": event_ts,
    })
    # landed a little later; a few rows arrive hours late (the batch lookback picks some up)
    delay = rng.exponential(60, n) + np.where(rng.random(n) < 0.02, 6 * 3600, 0)
    txns["ingested_at"] = txns["event_ts"] + pd.to_timedelta(delay, unit="s")
    txns = txns.sort_values("event_ts", kind="stable").reset_index(drop=True)

    snap_days = pd.date_range(start, periods=days, freq="D")
    merch = pd.DataFrame([
        {"merchant_id": m, "event_ts": d, "category": ["grocery", "travel", "electronics", "gaming"][m % 4],
         "risk_score": float(np.round(rng.beta(2, 5), 4))}
        for d in snap_days for m in range(1, merchants + 1)
    ])

    labelled = txns.sample(frac=0.25, random_state=seed).sort_values("event_ts")
    labels = pd.DataFrame({
        "user_id": labelled["user_id"].to_numpy(),
        "merchant_id": labelled["merchant_id"].to_numpy(),
        "event_ts": (labelled["event_ts"] + pd.Timedelta(seconds=1)).reset_index(drop=True),
        "is_fraud": ((labelled["amount"] > 500) & (rng.random(len(labelled)) < 0.6)).astype("int64").to_numpy(),
    })
    write(txns, out / "transactions.parquet")
    write(merch, out / "merchants.parquet")
    write(labels, out / "labels.parquet")
    return {"transactions": len(txns), "merchants": len(merch), "labels": len(labels)}


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "data")
    args = parser.parse_args()
    print(generate(args.out, users=args.users, days=args.days))


if __name__ == "__main__":
    main()
