"""PyTorch datasets that fetch their own features (the only module of aquifer importing torch).

``FeatureDataset`` is map-style. Offline, the point-in-time frame of the labels is built once, cached as Parquet
under the repo (``sdk.frame_cache``: keyed by the labels and the features' data versions) and encoded into
contiguous arrays, so an item is a slice, never a pandas row. Online, items are the labels' entities looked up
at call time: ``DataLoader`` hands ``__getitems__`` a batch of indices and the whole batch is ONE pipelined
lookup. ``FeatureIterableDataset`` streams a training frame larger than memory from Parquet, a row group at a
time, sharded across DataLoader workers and ``torch.distributed`` ranks.

Types follow ``sdk.encoding``: numbers, booleans (0/1) and timestamps (epoch seconds) → ``features`` [B, F] in
``dtype``; strings → ``categorical`` [B, C] int64 vocabulary indices (0: unknown); a missing value → its declared
default, with ``mask`` (``mask=True``) False there. Use ``collate_fn=collate`` (or ``dataset.collate``): it
passes the batch ``__getitems__`` built straight through and adds ``feature_names``::

    loader = DataLoader(FeatureDataset(store, labels, "fraud_model_v1", label="is_fraud"), batch_size=1024,
                        shuffle=True, collate_fn=collate)
    for batch in loader:
        batch["features"], batch["label"], batch["feature_names"]
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, IterableDataset, get_worker_info
from torch.utils.data._utils.collate import default_collate

from aquifer.sdk.encoding import Encoded, FeatureEncoder, feature_columns
from aquifer.sdk.frame_cache import LabelsError, cached_training_frame, check_labels, join_keys
from aquifer.sdk.online_rows import STATUS_CODES, encode_online, lookup

__all__ = ["STATUS_CODES", "FeatureDataset", "FeatureIterableDataset", "LabelsError", "collate"]

SOURCES = ("offline", "online")


def _store(store: Any) -> Any:
    if isinstance(store, str | Path):
        from aquifer.sdk.store import FeatureStore

        return FeatureStore(store)
    return store


def _label_array(values: Any) -> np.ndarray:
    """Labels as int64 (integers, booleans) or float32 (anything numeric else)."""
    array = np.asarray(values)
    if array.dtype == bool or np.issubdtype(array.dtype, np.integer):
        return np.ascontiguousarray(array, dtype=np.int64)
    return np.ascontiguousarray(array, dtype=np.float32)


class BatchRows(Sequence):
    """What ``__getitems__`` returns: the batch's rows (a sequence, as torch's contract says) that also carry
    the already-built batch, which ``collate`` passes through without touching a row."""

    def __init__(self, batch: dict[str, torch.Tensor], feature_names: tuple[str, ...]):
        self.batch = batch
        self.feature_names = feature_names

    def __len__(self) -> int:
        return len(next(iter(self.batch.values())))

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return {k: v[i] for k, v in self.batch.items()}


def collate(rows: Any) -> dict[str, Any]:
    """A batch dict: ``features`` [B, F], ``categorical`` [B, C] (with string features), ``mask`` [B, F+C]
    (``mask=True``), ``status`` [B, F+C] (online), ``label`` [B] (with a label), and ``feature_names`` (the
    ``features`` columns, then the ``categorical`` ones, in order)."""
    if isinstance(rows, BatchRows):
        return {**rows.batch, "feature_names": rows.feature_names}
    names = getattr(rows, "feature_names", None)
    out = default_collate(list(rows))
    if names is not None:
        out["feature_names"] = names
    return out


class _Encoded:
    """What both datasets say about their columns (from their ``encoder``)."""

    encoder: FeatureEncoder

    @property
    def feature_names(self) -> tuple[str, ...]:
        """The ``features`` columns then the ``categorical`` ones, in order (``collate`` adds them to batches)."""
        return tuple(self.encoder.feature_names + self.encoder.categorical_names)

    @property
    def vocabularies(self) -> dict[str, dict[str, int]]:
        """Each string feature's vocabulary ``{value: index}`` (index 0 is unknown)."""
        return self.encoder.vocabularies

    collate = staticmethod(collate)


class FeatureDataset(_Encoded, Dataset):
    """One item per label row: its features as of the row's timestamp (offline) or now (online).

    - ``store``: a ``FeatureStore`` (or a repo path); ``labels``: a pandas frame with the join keys (and, offline,
      ``timestamp_col``); ``features``: a service name or ``"view:feature"`` refs; ``label``: the target column.
    - ``source="offline"``: the point-in-time frame, cached under ``<repo>/.aquifer/datasets`` (``cache_hit``
      says whether it was read); ``engine`` picks the join engine (default: ``offline_engine``).
    - ``source="online"``: each batch is one pipelined lookup; an unreachable online store gives every value
      status ``unavailable`` (``STATUS_CODES``) and its default, never an error or a hang.
    - ``dtype`` of ``features``; ``mask=True`` adds the ``mask`` tensor; ``vocabularies`` reuses another
      dataset's string vocabularies (online datasets otherwise build theirs from one lookup of every entity).
    """

    def __init__(self, store: Any, labels: Any, features: Any, *, label: str | None = None,
                 source: str = "offline", timestamp_col: str = "event_ts", dtype: torch.dtype = torch.float32,
                 mask: bool = False, engine: str | None = None, full_names: bool = False,
                 vocabularies: Mapping[str, Mapping[str, int]] | None = None):
        if source not in SOURCES:
            raise ValueError(f"source must be 'offline' or 'online', got {source!r}")
        self.store = _store(store)
        self.features = features
        self.source = source
        self.label = label
        self.full_names = full_names
        self.with_mask = mask
        self.columns = feature_columns(self.store, features, full_names)
        keys = join_keys(self.store, self.columns)
        check_labels(labels, keys, timestamp_col=timestamp_col if source == "offline" else None, label=label)
        self._n = len(labels)
        np_dtype = torch.empty(0, dtype=dtype).numpy().dtype
        self.encoder = FeatureEncoder(self.columns, np_dtype, {k: dict(v) for k, v in (vocabularies or {}).items()})
        self.cache_path: Path | None = None
        self.cache_hit = False
        if source == "offline":
            cached = cached_training_frame(self.store, labels, features, self.columns, timestamp_col=timestamp_col,
                                           label=label, engine=engine, full_names=full_names)
            self.cache_path, self.cache_hit = cached.path, cached.hit
            frame = cached.frame
            if vocabularies is None:
                self.encoder.fit(frame)
            self._encoded: Encoded | None = self.encoder.encode(frame, len(frame))
            self._labels = _label_array(frame[label]) if label else None
            self._keys: dict[str, np.ndarray] = {}
        else:
            self._encoded = None
            self._labels = _label_array(labels[label]) if label else None
            self._keys = {k: labels[k].to_numpy() for k in keys}
            if vocabularies is None and self.encoder.categorical_names:
                self._fit_online()

    # -- what a batch holds -------------------------------------------------------------------------------


    def __len__(self) -> int:
        return self._n

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rows = self.__getitems__([index])
        return rows[0]

    def __getitems__(self, indices: Sequence[int]) -> BatchRows:
        """The rows at ``indices`` as one batch: array slices offline, one pipelined lookup online."""
        idx = np.asarray(indices, dtype=np.int64)
        if len(idx) and (idx.min() < -self._n or idx.max() >= self._n):
            raise IndexError(f"index out of range for a dataset of {self._n} rows")
        if self._encoded is not None:
            batch = self._tensors(self._encoded, idx)
        else:
            online = encode_online(
                lookup(self.store, self.features, {k: v[idx].tolist() for k, v in self._keys.items()},
                       full_names=self.full_names),
                self.encoder, self.store.views)
            batch = self._tensors(online.encoded, None)
            batch["status"] = torch.from_numpy(online.status)
        if self._labels is not None:
            batch["label"] = torch.from_numpy(self._labels[idx])
        return BatchRows(batch, self.feature_names)

    def _tensors(self, encoded: Encoded, idx: np.ndarray | None) -> dict[str, torch.Tensor]:
        def take(array: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(array if idx is None else array[idx])

        batch = {"features": take(encoded.features)}
        if encoded.categorical.shape[1]:
            batch["categorical"] = take(encoded.categorical)
        if self.with_mask:
            batch["mask"] = take(encoded.mask)
        return batch

    def _fit_online(self, chunk: int = 10_000) -> None:
        import pandas as pd

        seen: dict[str, list[Any]] = {c: [] for c in self.encoder.categorical_names}
        for start in range(0, self._n, chunk):
            part = {k: v[start:start + chunk].tolist() for k, v in self._keys.items()}
            values = lookup(self.store, self.features, part, full_names=self.full_names).values
            for name in seen:
                seen[name].extend(pd.unique(pd.Series(values[name], dtype=object)).tolist())
        self.encoder.fit(seen)

    def __repr__(self) -> str:
        return (f"FeatureDataset({self._n} rows, {len(self.feature_names)} features, source={self.source!r}, "
                f"label={self.label!r})")


class FeatureIterableDataset(_Encoded, IterableDataset):
    """A training frame (Parquet) streamed a row group at a time, for frames larger than memory.

    Row groups are shared out across ``DataLoader`` workers and, when ``torch.distributed`` is initialised
    before the dataset is made (or ``rank``/``world_size`` are given), across ranks: shard
    ``rank * workers + worker`` of ``world_size * workers`` reads every that-many-th group, so each row is seen
    exactly once per epoch over all of them (shards differ by at most one row group). ``shuffle=True`` permutes
    the group order (the same permutation in every shard: ``seed`` + epoch, see ``set_epoch``) and the rows inside
    each group.

    Yields one item per row (``batch_size=None``: batch them with ``DataLoader(batch_size=B, collate_fn=collate)``)
    or ready batches of ``batch_size`` rows (``DataLoader(batch_size=None)``). ``from_labels`` writes the file
    from labels with ``iter_training_batches`` (never whole in memory), cached like ``FeatureDataset``'s frames.
    String vocabularies are built by one pass over the string columns (or passed in).
    """

    def __init__(self, store: Any, path: str | Path, features: Any, *, label: str | None = None,
                 batch_size: int | None = None, shuffle: bool = False, seed: int = 0,
                 dtype: torch.dtype = torch.float32, mask: bool = False, full_names: bool = False,
                 vocabularies: Mapping[str, Mapping[str, int]] | None = None, rank: int | None = None,
                 world_size: int | None = None):
        import pyarrow.parquet as pq

        self.store = _store(store)
        self.path = Path(path)
        self.label = label
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0
        self.with_mask = mask
        if rank is None and world_size is None:
            # read here, in the rank's own process: DataLoader workers started with "spawn" see no process group
            rank, world_size = _distributed()
        self.rank, self.world_size = rank, world_size
        self.columns = feature_columns(self.store, features, full_names)
        schema = pq.read_schema(self.path)
        wanted = [c.column for c in self.columns] + ([label] if label else [])
        missing = [c for c in wanted if c not in schema.names]
        if missing:
            raise LabelsError(f"{self.path} has no column {missing[0]!r} (it has: {', '.join(schema.names)})")
        np_dtype = torch.empty(0, dtype=dtype).numpy().dtype
        self.encoder = FeatureEncoder(self.columns, np_dtype, {k: dict(v) for k, v in (vocabularies or {}).items()})
        if vocabularies is None and self.encoder.categorical_names:
            self._fit_from_file()

    @classmethod
    def from_labels(cls, store: Any, labels: Any, features: Any, *, label: str | None = None,
                    timestamp_col: str = "event_ts", engine: str | None = None, full_names: bool = False,
                    row_group_rows: int = 65_536, **kwargs: Any) -> FeatureIterableDataset:
        """Join ``features`` to ``labels`` in streamed batches into a cached Parquet file, and stream it."""
        from aquifer.sdk.frame_cache import cache_path, frame_fingerprint

        store = _store(store)
        columns = feature_columns(store, features, full_names)
        keys = join_keys(store, columns)
        check_labels(labels, keys, timestamp_col=timestamp_col, label=label)
        used = list(dict.fromkeys([*keys, timestamp_col, *([label] if label else [])]))
        fingerprint = frame_fingerprint(store, labels, columns, used, timestamp_col=timestamp_col, label=label)
        path = cache_path(store, fingerprint).with_suffix(f".rg{row_group_rows}.parquet")
        if not path.exists():
            _write_stream(store, labels[used].reset_index(drop=True), features, path, timestamp_col=timestamp_col,
                          engine=engine, full_names=full_names, rows=row_group_rows)
        return cls(store, path, features, label=label, full_names=full_names, **kwargs)


    def set_epoch(self, epoch: int) -> None:
        """Use the shuffle order of ``epoch`` (call before each epoch, as with ``DistributedSampler``)."""
        self.epoch = epoch

    def shard(self) -> tuple[int, int]:
        """``(this shard, number of shards)`` for the calling worker process and rank."""
        rank, world = self.rank, self.world_size
        if rank is None or world is None:
            found = _distributed()
            rank, world = (0, 1) if found[0] is None else found
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        return rank * workers + worker, world * workers

    def row_groups(self) -> list[int]:
        """The row groups this shard reads this epoch, in order."""
        import pyarrow.parquet as pq

        count = pq.ParquetFile(self.path).metadata.num_row_groups
        order = np.arange(count)
        if self.shuffle:
            order = np.random.default_rng((self.seed, self.epoch)).permutation(count)
        shard, shards = self.shard()
        return order[shard::shards].tolist()

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        import pyarrow.parquet as pq

        file = pq.ParquetFile(self.path)
        names = [c.column for c in self.columns] + ([self.label] if self.label else [])
        shard = self.shard()[0]
        rng = np.random.default_rng((self.seed, self.epoch, shard))
        for group in self.row_groups():
            frame = file.read_row_group(group, columns=names).to_pandas()
            encoded = self.encoder.encode(frame, len(frame))
            n = len(frame)
            order = rng.permutation(n) if self.shuffle else np.arange(n)
            labels = _label_array(frame[self.label]) if self.label else None
            step = self.batch_size or n
            for start in range(0, n, step):
                idx = order[start:start + step]
                batch = {"features": torch.from_numpy(encoded.features[idx])}
                if encoded.categorical.shape[1]:
                    batch["categorical"] = torch.from_numpy(encoded.categorical[idx])
                if self.with_mask:
                    batch["mask"] = torch.from_numpy(encoded.mask[idx])
                if labels is not None:
                    batch["label"] = torch.from_numpy(labels[idx])
                if self.batch_size:
                    yield {**batch, "feature_names": self.feature_names}
                else:
                    yield from BatchRows(batch, self.feature_names)

    def _fit_from_file(self) -> None:
        import pandas as pd
        import pyarrow.parquet as pq

        file = pq.ParquetFile(self.path)
        seen: dict[str, set[Any]] = {c: set() for c in self.encoder.categorical_names}
        for group in range(file.metadata.num_row_groups):
            table = file.read_row_group(group, columns=list(seen))
            for name in seen:
                seen[name].update(pd.unique(table.column(name).to_pandas()).tolist())
        self.encoder.fit({name: list(values) for name, values in seen.items()})


def _distributed() -> tuple[int | None, int | None]:
    """``(rank, world size)`` when ``torch.distributed`` is initialised in this process, else ``(None, None)``."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return None, None


def _write_stream(store: Any, labels: Any, features: Any, path: Path, *, timestamp_col: str, engine: str | None,
                  full_names: bool, rows: int) -> None:
    """``iter_training_batches`` into ``path``, one row group per batch (a temporary file renamed into place)."""
    import os

    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    writer = None
    try:
        for batch in store.iter_training_batches(labels, features, batch_rows=rows, engine=engine,
                                                 timestamp_col=timestamp_col, full_names=full_names):
            if writer is None:
                writer = pq.ParquetWriter(tmp, batch.schema.remove_metadata())
            writer.write_batch(batch, row_group_size=rows)
    finally:
        if writer is not None:
            writer.close()
    os.replace(tmp, path)
