"""The demo's ML act: a scikit-learn model and a tiny PyTorch model on the quickstart's training frame, their
validation scores, then a few entities scored online through the same transformer.

Called by ``aquifer demo`` after its training-frame step (``directory/training.parquet`` from
``directory/data/labels.parquet``, the batch run and materialization done). scikit-learn and torch are the
``ml`` extra; they are imported here, lazily, as a user's training script would import them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aquifer.cli.common import console

SERVICE = "fraud_model_v1"
GAP = "6h"  # the features' own gap (user_spend's 30-day TTL) is longer than the example data's 7 days
KEYS = ["user_id", "merchant_id", "event_ts"]


def ml_act(directory: Path) -> None:
    """Train, validate on the newest quarter of labels (after a time gap), and score online."""
    import numpy as np
    import pandas as pd

    from aquifer.sdk.sklearn import FeatureTransformer, TimeSplit
    from aquifer.sdk.store import FeatureStore

    store = FeatureStore(directory)
    try:
        labels = pd.read_parquet(directory / "data" / "labels.parquet")
        frame = pd.read_parquet(directory / "training.parquet")
        X, y = labels[KEYS], labels["is_fraud"].to_numpy()
        *_, (train, valid) = TimeSplit(3, gap=GAP).split(X)  # train on the oldest rows, validate on the newest
        console.print(f"labels: {len(labels):,} ({int(y.sum())} fraud); training on {len(train):,}, validating on "
                      f"the newest {len(valid):,} (TimeSplit, gap {GAP}: no training row within {GAP} of them)")

        transformer = FeatureTransformer(store, SERVICE, engine="duckdb")
        same = np.allclose(transformer.fit(X).transform(X), _as_matrix(frame, transformer), equal_nan=True)
        console.print(f"the transformer's features equal training.parquet's (defaults for nulls): {same}")

        model = _sklearn_model(store)
        model.fit(X.iloc[train], y[train])
        sk_scores = model.predict_proba(X.iloc[valid])[:, 1]
        console.print(f"[bold]scikit-learn[/bold] (FeatureTransformer → StandardScaler → LogisticRegression): "
                      f"validation {_score(y[valid], sk_scores)}")

        torch_scores = _torch_model(store, labels, train, valid)
        console.print(f"[bold]PyTorch[/bold] (FeatureDataset, cached → a 2-layer MLP): validation "
                      f"{_score(y[valid], torch_scores)}")

        _score_online(model, labels)
    finally:
        store.close()


def _as_matrix(frame: Any, transformer: Any) -> Any:
    """``training.parquet``'s feature columns with the declared defaults for nulls (the transformer's rule)."""
    import numpy as np

    out = []
    for col in transformer.columns_:
        values = frame[col.column]
        default = 0 if col.default is None else col.default
        out.append(values.astype(object).where(values.notna(), default).astype(float).to_numpy())
    return np.column_stack(out)


def _sklearn_model(store: Any) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from aquifer.sdk.sklearn import FeatureTransformer

    return Pipeline([("features", FeatureTransformer(store, SERVICE, engine="duckdb")),
                     ("scale", StandardScaler()),
                     ("clf", LogisticRegression(class_weight="balanced", max_iter=1000))])


def _torch_model(store: Any, labels: Any, train: Any, valid: Any) -> Any:
    """A tiny MLP trained on the offline FeatureDataset (its frame cached under the repo); validation scores."""
    import numpy as np
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, Subset

    from aquifer.sdk.torch import FeatureDataset, collate

    torch.manual_seed(0)
    dataset = FeatureDataset(store, labels, SERVICE, label="is_fraud", engine="duckdb")
    all_rows = dataset.__getitems__(range(len(dataset))).batch["features"]
    mean, std = all_rows[train].mean(0), all_rows[train].std(0).clamp_min(1e-6)
    net = nn.Sequential(nn.Linear(len(dataset.feature_names), 16), nn.ReLU(), nn.Linear(16, 1))
    positives = float(dataset.__getitems__(train).batch["label"].sum())
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=torch.tensor((len(train) - positives) / max(positives, 1.0)))
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    loader = DataLoader(Subset(dataset, train.tolist()), batch_size=128, shuffle=True, collate_fn=collate)
    for _ in range(30):
        for batch in loader:
            optimizer.zero_grad()
            logits = net((batch["features"] - mean) / std).squeeze(1)
            loss_fn(logits, batch["label"].float()).backward()
            optimizer.step()
    with torch.no_grad():
        features = dataset.__getitems__(valid).batch["features"]
        return np.asarray(torch.sigmoid(net((features - mean) / std).squeeze(1)))


def _score(truth: Any, scores: Any) -> str:
    """ROC AUC when both classes are present, and the log loss."""
    import numpy as np
    from sklearn.metrics import log_loss, roc_auc_score

    auc = f"ROC AUC {roc_auc_score(truth, scores):.3f}" if len(np.unique(truth)) == 2 else "ROC AUC n/a (one class)"
    return f"{auc}, log loss {log_loss(truth, np.clip(scores, 1e-6, 1 - 1e-6), labels=[0, 1]):.3f}"


def _score_online(model: Any, labels: Any) -> None:
    """The fitted pipeline with its transformer switched to online values: a few entities scored now."""
    from rich.table import Table

    entities = labels[["user_id", "merchant_id"]].drop_duplicates().head(5).reset_index(drop=True)
    model.set_params(features__source="online")
    matrix, statuses = model.named_steps["features"].transform_with_status(entities)  # one pipelined lookup
    scores = model[1:].predict_proba(matrix)[:, 1]
    table = Table("user_id", "merchant_id", "fraud score (online)", "statuses", title="scored online, now")
    for i, row in entities.iterrows():
        counts = statuses.loc[i].value_counts()
        table.add_row(str(row["user_id"]), str(row["merchant_id"]), f"{scores[i]:.3f}",
                      ", ".join(f"{k} {v}" for k, v in counts.items()))
    console.print(table)
