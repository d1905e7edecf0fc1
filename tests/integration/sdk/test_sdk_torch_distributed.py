"""``FeatureIterableDataset`` under a real ``torch.distributed`` group: two ranks (gloo, spawned processes), every
row exactly once per epoch. (Workers within ranks: ``test_sdk_torch_dataset``, with ranks given explicitly; each
spawned DataLoader worker would cost a process start here.)"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.utils.data import DataLoader

from aquifer.sdk.torch import FeatureIterableDataset

FEATURES = ["user_stats:amount", "merchant_risk:risk"]


def _rank_main(rank: int, repo: str, path: str, out: str) -> None:
    """One rank: join the group, read its share of the file for two epochs, write the rows it saw."""
    dist.init_process_group("gloo", init_method=f"file://{out}/group", rank=rank, world_size=2)
    try:
        dataset = FeatureIterableDataset(repo, path, FEATURES, label="row", batch_size=64, shuffle=True)
        seen = {}
        for epoch in (0, 1):
            dataset.set_epoch(epoch)
            loader = DataLoader(dataset, batch_size=None)
            seen[epoch] = np.concatenate([b["label"].numpy() for b in loader]).tolist()
        Path(out, f"rank{rank}.json").write_text(json.dumps({"shard": dataset.shard(), "seen": seen}))
    finally:
        dist.destroy_process_group()


def test_two_ranks_see_every_row_once_per_epoch(tmp_path, pit_repo, pit_dataset):
    from aquifer.sdk.store import FeatureStore

    labels = pit_dataset.labels.assign(row=np.arange(len(pit_dataset.labels)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        streamed = FeatureIterableDataset.from_labels(FeatureStore(pit_repo), labels, FEATURES, label="row",
                                                      engine="duckdb", row_group_rows=101)
    mp.spawn(_rank_main, args=(str(pit_repo), str(streamed.path), str(tmp_path)), nprocs=2)
    results = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["shard"] for r in results] == [[0, 2], [1, 2]]  # the group's rank and size, read by the dataset
    for epoch in ("0", "1"):
        rows = [r["seen"][epoch] for r in results]
        assert rows[0] and rows[1] and not set(rows[0]) & set(rows[1])
        assert sorted(rows[0] + rows[1]) == list(range(len(labels)))
